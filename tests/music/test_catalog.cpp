#include <chrono>
#include <cstdlib>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "music/catalog.hpp"
#include "music_test_util.hpp"

using namespace moodtunes::music;

namespace {
Track make(const std::string& id, const std::string& title, const std::string& artist, float v, float a) {
  Track t;
  t.source = "test";
  t.source_id = id;
  t.title = title;
  t.artist = artist;
  t.valence = v;
  t.arousal = a;
  return t;
}
}  // namespace

TEST(Catalog, UpsertGetSearchStatsPersist) {
  moodtunes::test::TempDir dir;
  const auto file = dir / "sub" / "catalog.sqlite";
  {
    Catalog c(file);
    Catalog::Import tx(c);
    EXPECT_EQ(tx.upsert(make("1", "Happy Song", "The Smiles", 0.8f, 0.5f)), Catalog::Import::Result::kInserted);
    EXPECT_EQ(tx.upsert(make("2", "100% Blue", "Sad Folk", -0.7f, -0.4f)), Catalog::Import::Result::kInserted);
    EXPECT_EQ(tx.upsert(make("3", "Blue Monday", "New Order", 0.1f, 0.7f)), Catalog::Import::Result::kInserted);
    EXPECT_EQ(tx.upsert(make("1", "Happy Song", "The Smiles", 0.8f, 0.5f)), Catalog::Import::Result::kUnchanged);
    EXPECT_EQ(tx.upsert(make("1", "Happy Song (Remix)", "The Smiles", 0.8f, 0.5f)), Catalog::Import::Result::kUpdated);
    tx.commit();
  }
  Catalog c(file, OpenMode::kMustExist);  // reopened: the data is in the file
  EXPECT_EQ(c.size(), 3);
  auto blue = c.search("blue", 10);
  ASSERT_EQ(blue.size(), 2u);
  EXPECT_EQ(c.search("BLUE new", 10).size(), 1u);  // every word, case-insensitive
  EXPECT_EQ(c.search("100%", 10).size(), 1u);      // % is literal, not a wildcard
  EXPECT_EQ(c.search("1_0", 10).size(), 0u);       // _ is literal too
  EXPECT_EQ(c.search("blue", 1).size(), 1u);
  auto t = c.get(blue[0].id);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->title, blue[0].title);
  auto st = c.stats();
  EXPECT_EQ(st.tracks, 3);
  EXPECT_EQ(st.artists, 3);
  EXPECT_EQ(st.quadrant[0] + st.quadrant[1] + st.quadrant[2] + st.quadrant[3], 3);
  EXPECT_FLOAT_EQ(st.max_valence, 0.8f);
  auto idx = c.load_index_entries();
  EXPECT_EQ(idx.size(), 3u);
  auto many = c.get_many(std::vector<std::int64_t>{idx[2].id, idx[0].id});
  ASSERT_EQ(many.size(), 2u);
  EXPECT_EQ(many[0].id, idx[2].id);
}

TEST(Catalog, RollbackWithoutCommit) {
  moodtunes::test::TempDir dir;
  Catalog c(dir / "c.sqlite");
  {
    Catalog::Import tx(c);
    tx.upsert(make("1", "t", "a", 0, 0));
    tx.commit();
  }
  {
    Catalog::Import tx(c);
    tx.upsert(make("2", "t2", "a", 0, 0));
    // no commit: destructor rolls back
  }
  EXPECT_EQ(c.size(), 1);
  {
    Catalog::Import tx(c);
    EXPECT_THROW(tx.upsert(make("3", "t3", "a", 2.0f, 0)), CatalogError);  // CHECK(valence BETWEEN -1 AND 1)
  }
  EXPECT_EQ(c.size(), 1);
}

TEST(Catalog, ArtistKeysFoldCaseAndSpace) {
  moodtunes::test::TempDir dir;
  Catalog c(dir / "c.sqlite");
  {
    Catalog::Import tx(c);
    tx.upsert(make("1", "a", "The  Beatles", 0, 0));
    tx.upsert(make("2", "b", "the beatles ", 0, 0));
    tx.upsert(make("3", "c", "Wings", 0, 0));
    tx.commit();
  }
  auto idx = c.load_index_entries();
  ASSERT_EQ(idx.size(), 3u);
  EXPECT_EQ(idx[0].artist, idx[1].artist);
  EXPECT_NE(idx[0].artist, idx[2].artist);
}

TEST(Catalog, SessionsPersist) {
  moodtunes::test::TempDir dir;
  {
    Catalog c(dir / "c.sqlite");
    c.record_served("evening", std::vector<std::int64_t>{1, 2, 3});
    c.record_served("evening", std::vector<std::int64_t>{3, 4});
    c.record_served("morning", std::vector<std::int64_t>{9});
  }
  Catalog c(dir / "c.sqlite");
  EXPECT_EQ(c.session_served("evening"), (std::unordered_set<std::int64_t>{1, 2, 3, 4}));
  c.clear_session("evening");
  EXPECT_TRUE(c.session_served("evening").empty());
  EXPECT_EQ(c.session_served("morning").size(), 1u);
}

TEST(Catalog, ClearErrorsForMissingOrForeignFiles) {
  moodtunes::test::TempDir dir;
  EXPECT_THROW(Catalog(dir / "absent.sqlite", OpenMode::kMustExist), CatalogError);
  EXPECT_FALSE(std::filesystem::exists(dir / "absent.sqlite"));
  moodtunes::test::write_file(dir / "junk.sqlite", std::string(4096, 'x'));
  try {
    Catalog c(dir / "junk.sqlite");
    FAIL() << "opened a non-database";
  } catch (const CatalogError& e) {
    EXPECT_NE(std::string(e.what()).find("not a database"), std::string::npos) << e.what();
  }
}

TEST(Catalog, DefaultPathFollowsEnvironment) {
  ::setenv("MOODTUNES_CATALOG", "/x/y.sqlite", 1);
  EXPECT_EQ(default_catalog_path(), "/x/y.sqlite");
  ::unsetenv("MOODTUNES_CATALOG");
  ::setenv("XDG_DATA_HOME", "/data", 1);
  EXPECT_EQ(default_catalog_path(), "/data/moodtunes/catalog.sqlite");
  ::unsetenv("XDG_DATA_HOME");
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_catalog_path(), "/home/u/.local/share/moodtunes/catalog.sqlite");
}

namespace {
std::filesystem::path small_catalog(const moodtunes::test::TempDir& dir) {
  const auto file = dir / "catalog.sqlite";
  Catalog c(file);
  Catalog::Import tx(c);
  tx.upsert(make("1", "Happy Song", "The Smiles", 0.8f, 0.5f));
  tx.upsert(make("2", "Blue", "Sad Folk", -0.7f, -0.4f));
  tx.commit();
  return file;
}
}  // namespace

TEST(Catalog, ReadersDoNotWaitForAnImportInProgress) {
  moodtunes::test::TempDir dir;
  const auto file = small_catalog(dir);
  Catalog writer(file);
  Catalog::Import tx(writer);  // holds the write lock, as a long import does
  tx.upsert(make("3", "Pending", "Someone", 0.0f, 0.0f));
  const auto t0 = std::chrono::steady_clock::now();
  Catalog reader(file, OpenMode::kReadOnly);  // once waited 5 s, then "database is locked"
  EXPECT_EQ(reader.size(), 2);                // the import is not committed yet
  EXPECT_EQ(reader.search("happy", 5).size(), 1u);
  EXPECT_EQ(reader.load_index_entries().size(), 2u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  tx.commit();
  EXPECT_EQ(Catalog(file, OpenMode::kReadOnly).size(), 3);
}

TEST(Catalog, AReadOnlyOpenLeavesTheFileAsItWas) {
  moodtunes::test::TempDir dir;
  const auto file = small_catalog(dir);
  const std::string before = moodtunes::test::read_file(file);
  const auto mtime = std::filesystem::last_write_time(file);
  {
    Catalog c(file, OpenMode::kReadOnly);
    EXPECT_TRUE(c.read_only());
    c.stats();
    c.search("blue", 3);
    EXPECT_THROW(c.record_served("s", std::vector<std::int64_t>{1}), CatalogError);
  }
  EXPECT_EQ(moodtunes::test::read_file(file), before);
  EXPECT_EQ(std::filesystem::last_write_time(file), mtime);
}

TEST(Catalog, FilesThatAreNotCatalogsAreRefusedAndLeftUntouched) {
  moodtunes::test::TempDir dir;
  const auto text = moodtunes::test::write_file(dir / "notes.sqlite", "just some text, not a database\n");
  const auto other = dir / "other.sqlite";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE invoices(id INTEGER); INSERT INTO invoices VALUES(7);", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  const auto empty = moodtunes::test::write_file(dir / "empty.sqlite", "");
  for (const auto& f : {text, other}) {
    const std::string before = moodtunes::test::read_file(f);
    for (auto mode : {OpenMode::kReadOnly, OpenMode::kMustExist, OpenMode::kCreate}) {
      try {
        Catalog c(f, mode);
        ADD_FAILURE() << f << " opened as a catalog";
      } catch (const CatalogError& e) {
        EXPECT_NE(std::string(e.what()).find("not a moodtunes catalog"), std::string::npos) << e.what();
      }
    }
    EXPECT_EQ(moodtunes::test::read_file(f), before) << f;
  }
  try {
    Catalog c(empty, OpenMode::kReadOnly);
    ADD_FAILURE() << "an empty file read as a catalog";
  } catch (const CatalogError& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
  EXPECT_EQ(std::filesystem::file_size(empty), 0u);
  EXPECT_THROW(Catalog(dir.path(), OpenMode::kReadOnly), CatalogError);  // a folder
}

TEST(Catalog, ACatalogOnReadOnlyMediaCanBeRead) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores file modes; run as a user to check read-only media";
  moodtunes::test::TempDir dir;
  const auto file = small_catalog(dir);
  namespace fs = std::filesystem;
  fs::permissions(file, fs::perms::owner_read, fs::perm_options::replace);
  fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec, fs::perm_options::replace);
  std::int64_t n = -1;
  try {
    n = Catalog(file, OpenMode::kReadOnly).size();
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
  fs::permissions(dir.path(), fs::perms::owner_all, fs::perm_options::replace);
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  EXPECT_EQ(n, 2);
}
