#include <cstdlib>

#include <gtest/gtest.h>

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
  mt_test::TempDir dir;
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
  mt_test::TempDir dir;
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
  mt_test::TempDir dir;
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
  mt_test::TempDir dir;
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
  mt_test::TempDir dir;
  EXPECT_THROW(Catalog(dir / "absent.sqlite", OpenMode::kMustExist), CatalogError);
  EXPECT_FALSE(std::filesystem::exists(dir / "absent.sqlite"));
  mt_test::write_file(dir / "junk.sqlite", std::string(4096, 'x'));
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
