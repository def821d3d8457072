// End-to-end: the real `moodtunes` binary on a temp catalog built from the shared Deezer data.
#include <array>
#include <chrono>
#include <cstdio>
#include <set>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "music/catalog.hpp"
#include "music_test_util.hpp"

namespace {

struct Run {
  int code = -1;
  std::string out;
};

// Runs the CLI with MOODTUNES_CATALOG pointing at `catalog`; stdout captured, stderr to `err`.
Run run(const std::filesystem::path& catalog, const std::string& args, const std::filesystem::path& err) {
  const std::string cmd = "MOODTUNES_CATALOG='" + catalog.string() + "' '" + std::string(MOODTUNES_BINARY) + "' " + args +
                          " 2>'" + err.string() + "'";
  Run r;
  r.out = moodtunes::test::run_shell(cmd, &r.code);
  return r;
}

class MusicCli : public ::testing::Test {
 protected:
  void SetUp() override {
    MT_REQUIRE_DEEZER_DATA();
    auto r = run(catalog(), "catalog import '" + moodtunes::test::deezer_dir().string() + "' --json", err());
    ASSERT_EQ(r.code, 0) << moodtunes::test::read_file(err());
    auto j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j["inserted"], 18644);
  }
  std::filesystem::path catalog() const { return dir_ / "catalog.sqlite"; }
  std::filesystem::path err() const { return dir_ / "stderr.txt"; }
  moodtunes::test::TempDir dir_;
};

}  // namespace

TEST_F(MusicCli, RecommendJsonForAnEmotion) {
  auto r = run(catalog(), "recommend --emotion happy -n 8 --json", err());
  ASSERT_EQ(r.code, 0) << moodtunes::test::read_file(err());
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["tracks"].size(), 8u);
  std::set<std::string> artists;
  for (const auto& t : j["tracks"]) {
    EXPECT_TRUE(artists.insert(t["artist"].get<std::string>()).second);
    EXPECT_GT(t["valence"].get<double>(), 0.3);  // happy -> the most positive tracks
    EXPECT_FALSE(t["reason"].get<std::string>().empty());
  }
  EXPECT_EQ(j["strategy"], "match");
}

TEST_F(MusicCli, SessionsDoNotRepeatAndSeedsAreDeterministic) {
  auto a = run(catalog(), "recommend --probs 0,0,0,0.5,0,0.5,0 --strategy uplift -n 10 --json --seed 7", err());
  auto b = run(catalog(), "recommend --probs 0,0,0,0.5,0,0.5,0 --strategy uplift -n 10 --json --seed 7", err());
  ASSERT_EQ(a.code, 0) << moodtunes::test::read_file(err());
  EXPECT_EQ(a.out, b.out);
  std::set<long long> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = run(catalog(), "recommend --valence -0.5 --arousal 0.2 --strategy calm -n 10 --json --session s1", err());
    ASSERT_EQ(r.code, 0) << moodtunes::test::read_file(err());
    const auto j = nlohmann::json::parse(r.out);  // named: a temporary would dangle in the loop
    ASSERT_EQ(j["tracks"].size(), 10u);
    for (const auto& t : j["tracks"]) EXPECT_TRUE(ids.insert(t["id"].get<long long>()).second);
  }
  EXPECT_EQ(ids.size(), 30u);
}

TEST_F(MusicCli, BadInputGetsClearErrorsAndLeavesCatalogIntact) {
  EXPECT_EQ(run(catalog(), "recommend", err()).code, 2);
  EXPECT_NE(moodtunes::test::read_file(err()).find("--emotion"), std::string::npos);
  EXPECT_EQ(run(catalog(), "recommend --emotion joyful", err()).code, 2);
  EXPECT_NE(run(catalog(), "recommend --probs 1 2", err()).code, 0);
  EXPECT_NE(run(catalog(), "recommend --valence 3 --arousal 0", err()).code, 0);
  EXPECT_EQ(run(catalog(), "recommend --probs 0,0,0,0,0,0,0", err()).code, 2);

  const auto broken = moodtunes::test::write_file(dir_ / "broken.csv", "title,artist,valence,energy\nok,a,0.5,0.5\nbad,b,x,0.5\n");
  auto r = run(catalog(), "catalog import '" + broken.string() + "' --strict", err());
  EXPECT_EQ(r.code, 1);
  const std::string e = moodtunes::test::read_file(err());
  EXPECT_NE(e.find("broken.csv:3"), std::string::npos) << e;
  auto st = run(catalog(), "catalog stats --json", err());
  ASSERT_EQ(st.code, 0);
  EXPECT_EQ(nlohmann::json::parse(st.out)["tracks"], 18644);

  auto missing = run(dir_ / "absent.sqlite", "catalog stats", err());
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(moodtunes::test::read_file(err()).find("no catalog"), std::string::npos);
}

TEST_F(MusicCli, SearchAndSetupWhenPresent) {
  auto r = run(catalog(), "catalog search dark tranquillity --json", err());
  ASSERT_EQ(r.code, 0);
  EXPECT_GE(nlohmann::json::parse(r.out).size(), 1u);
  auto s = run(catalog(), "catalog setup", err());
  EXPECT_EQ(s.code, 0);
  EXPECT_NE(s.out.find("already has 18644"), std::string::npos);
}

TEST_F(MusicCli, AStrayQuoteCostsOneRowAndTheExitStatusSaysRowsWereLost) {
  std::string text = "title,artist,valence,energy\n";
  for (int i = 1; i <= 1002; ++i)
    text += (i == 3 ? "\"Broken" : "Song " + std::to_string(i)) + ",Stray Quote Band,0.5,0.5\n";
  const auto f = moodtunes::test::write_file(dir_ / "stray.csv", text);
  auto r = run(catalog(), "catalog import '" + f.string() + "' --source mine", err());
  EXPECT_EQ(r.code, 4);
  const std::string e = moodtunes::test::read_file(err());
  EXPECT_NE(e.find("stray.csv:4"), std::string::npos) << e;  // line 4: the header is line 1
  EXPECT_NE(e.find("unterminated"), std::string::npos) << e;
  EXPECT_NE(r.out.find("1002 rows, 1001 new"), std::string::npos) << r.out;
  auto st = run(catalog(), "catalog stats --json", err());
  ASSERT_EQ(st.code, 0);
  EXPECT_EQ(nlohmann::json::parse(st.out)["tracks"], 18644 + 1001);
}

TEST_F(MusicCli, ReadingCommandsWorkWhileAnImportHoldsTheCatalogAndNeverWriteIt) {
  using namespace moodtunes::music;
  {
    // The import commits and the last connection closes: the file settles (WAL folded back).
    Catalog settle(catalog(), OpenMode::kMustExist);
  }
  const std::string before = moodtunes::test::read_file(catalog());
  for (const char* args : {"recommend --emotion sad -n 3 --json", "catalog stats --json", "catalog search blue --json"})
    EXPECT_EQ(run(catalog(), args, err()).code, 0) << args << ": " << moodtunes::test::read_file(err());
  EXPECT_EQ(moodtunes::test::read_file(catalog()), before) << "a reading command changed the catalog file";

  Catalog writer(catalog());
  Catalog::Import tx(writer);  // a long import in another process would hold this lock
  Track t;
  t.source = "test";
  t.source_id = "pending";
  t.title = "Pending";
  t.artist = "Someone";
  tx.upsert(t);
  for (const char* args : {"recommend --emotion happy -n 3 --json", "catalog stats --json", "catalog search blue --json"}) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = run(catalog(), args, err());
    EXPECT_EQ(r.code, 0) << args << ": " << moodtunes::test::read_file(err());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4)) << args << " waited for the import";
  }
  EXPECT_EQ(nlohmann::json::parse(run(catalog(), "catalog stats --json", err()).out)["tracks"], 18644);
}

TEST_F(MusicCli, ANonCatalogFileIsRefusedAndLeftAsItWas) {
  const auto notes = moodtunes::test::write_file(dir_ / "notes.txt", "shopping list: milk, eggs\n");
  for (const char* args : {"recommend --emotion sad", "catalog stats", "catalog search milk", "catalog import /nonexistent.csv"}) {
    const auto r = run(notes, args, err());
    EXPECT_EQ(r.code, 1) << args;
    EXPECT_NE(moodtunes::test::read_file(err()).find("not a moodtunes catalog"), std::string::npos)
        << args << ": " << moodtunes::test::read_file(err());
  }
  EXPECT_EQ(moodtunes::test::read_file(notes), "shopping list: milk, eggs\n");
}
