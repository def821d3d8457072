// `moodtunes feedback`, `recommend --listener` and `moodtunes listener export|forget` end to end,
// as a user runs them: the real Deezer catalog imported into a temporary SQLite file, the
// listener store beside it.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "test_util.hpp"

using moodtunes::test::run_cli;
using moodtunes::test::TempDir;

namespace {
class ListenerCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(moodtunes::test::data_dir() / "deezer-mood/test.csv"))
      GTEST_SKIP() << "shared data not present";
    int status = -1;
    const auto out = run_cli("catalog import " + (moodtunes::test::data_dir() / "deezer-mood/test.csv").string() +
                                 " --catalog " + catalog(),
                             &status);
    ASSERT_EQ(status, 0) << out;
  }
  std::string catalog() const { return (dir_ / "catalog.sqlite").string(); }
  // Runs the CLI, expects success and returns its stdout.
  std::string ok(const std::string& args) {
    int status = -1;
    auto out = run_cli(args, &status);
    EXPECT_EQ(status, 0) << args << "\n" << out;
    return out;
  }
  TempDir dir_;
};
}  // namespace

TEST_F(ListenerCli, FeedbackIsStoredOnceTeachesTheListExportsAndIsForgotten) {
  const auto list = nlohmann::json::parse(ok("recommend --emotion sad --json --catalog " + catalog()));
  const auto& tracks = list.is_object() ? list.at("tracks") : list;
  ASSERT_FALSE(tracks.empty());
  const int track = tracks.at(0).at("id").get<int>();
  const std::string like = "feedback --listener alice --track " + std::to_string(track) +
                           " --signal like --emotion sad --event-id e1 --catalog " + catalog();
  EXPECT_NE(ok(like).find("stored like"), std::string::npos);
  EXPECT_NE(ok(like).find("already stored"), std::string::npos);  // a retried event counts once

  const auto exported = nlohmann::json::parse(ok("listener export alice --catalog " + catalog()));
  ASSERT_EQ(exported.at("events").size(), 1U);
  EXPECT_EQ(exported["events"][0].at("track_id").get<int>(), track);
  EXPECT_EQ(exported["profile"].at("artists").size(), 1U);

  const auto taught = ok("recommend --emotion sad --listener alice --catalog " + catalog());
  EXPECT_NE(taught.find("you liked 1"), std::string::npos) << taught;

  EXPECT_NE(ok("listener forget alice --catalog " + catalog()).find("erased 1 event"), std::string::npos);
  EXPECT_TRUE(nlohmann::json::parse(ok("listener export alice --catalog " + catalog())).at("events").empty());
}

TEST_F(ListenerCli, AnUnknownTrackIsAClearErrorAndStoresNothing) {
  int status = 0;
  const auto out = run_cli("feedback --listener bob --track 999999999 --signal like --emotion sad --catalog " + catalog(),
                           &status);
  EXPECT_NE(status, 0) << out;
  EXPECT_NE(out.find("no track with id 999999999"), std::string::npos) << out;
  EXPECT_TRUE(nlohmann::json::parse(ok("listener export bob --catalog " + catalog())).at("events").empty());
}
