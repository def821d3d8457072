// `moodtunes suggest` end to end, as a user runs it: a real FER face, the real Deezer catalog
// (imported into a temporary SQLite file), the shipped model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "test_util.hpp"
#include "vision/vision_test_util.hpp"

using moodtunes::test::TempDir;

namespace {
using moodtunes::test::run_cli;

std::filesystem::path first_face(const std::string& cls) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(moodtunes::test::data_dir() / "fer2013/val" / cls))
    files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files.at(0);
}

class Suggest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(moodtunes::test::data_dir() / "deezer-mood/test.csv"))
      GTEST_SKIP() << "shared data not present";
    int status = -1;
    const auto out = run_cli("catalog import " + (moodtunes::test::data_dir() / "deezer-mood/test.csv").string() +
                             " --catalog " + catalog().string(), &status);
    ASSERT_EQ(status, 0) << out;
  }
  std::filesystem::path catalog() const { return dir_ / "catalog.sqlite"; }
  TempDir dir_;
};
}  // namespace

TEST_F(Suggest, AFaceGivesAnEmotionAMoodAndTracksByDistinctArtists) {
  int status = -1;
  const auto out = run_cli("suggest --json -n 8 --catalog " + catalog().string() + " " + first_face("happy").string(), &status);
  ASSERT_EQ(status, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["faces"].size(), 1u);
  EXPECT_EQ(j["schema"], 1);
  EXPECT_TRUE(j["group"]["probabilities"].contains("happy"));
  EXPECT_EQ(j["faces"][0]["emotion"], j["group"]["emotion"]);
  const double v = j["mood"]["valence"], a = j["mood"]["arousal"];
  EXPECT_GE(v, -1.0);
  EXPECT_LE(v, 1.0);
  EXPECT_GE(a, -1.0);
  EXPECT_LE(a, 1.0);
  ASSERT_EQ(j["tracks"].size(), 8u);
  std::set<std::string> artists;
  for (const auto& t : j["tracks"]) {
    artists.insert(t["artist"].get<std::string>());
    EXPECT_FALSE(t["reason"].get<std::string>().empty());
    EXPECT_EQ(t["links"]["deezer"].get<std::string>().rfind("https://www.deezer.com/track/", 0), 0u);
  }
  EXPECT_EQ(artists.size(), 8u);
}

TEST_F(Suggest, HappyAndSadFacesLandOnDifferentSidesOfValence) {
  int status = -1;
  const auto happy = nlohmann::json::parse(
      run_cli("suggest --json --catalog " + catalog().string() + " " + first_face("happy").string(), &status));
  const auto sad = nlohmann::json::parse(
      run_cli("suggest --json --catalog " + catalog().string() + " " + first_face("sad").string(), &status));
  EXPECT_GT(happy["mood"]["valence"].get<double>(), sad["mood"]["valence"].get<double>());
}

// Six photos of one 40 px face each: the default counts few of them (a lone small face counts
// only in a group), --small-faces at least three more, as `detect --small-faces` does.
TEST_F(Suggest, SmallFacesCountsALoneSmallFace) {
  if (!moodtunes::test::have_data()) GTEST_SKIP() << "FER data not found";
  const auto scenes = moodtunes::test::lone_small_face_scenes(6);
  ASSERT_EQ(scenes.size(), 6u);
  std::string files;
  for (std::size_t i = 0; i < scenes.size(); ++i) {
    const auto file = dir_ / ("small" + std::to_string(i) + ".png");
    ASSERT_TRUE(cv::imwrite(file.string(), scenes[i]));
    files.append(" ").append(file.string());
  }
  int status = -1;
  // The faces counted; stderr names the photos without a face, and no face at all exits 3.
  auto faces_counted = [&](const std::string& flags) -> std::size_t {
    const auto out = moodtunes::test::run_shell(
        std::string(MOODTUNES_BINARY) + " suggest --json" + flags + " --catalog " + catalog().string() + files + " 2>/dev/null",
        &status);
    if (status == 3) return 0;
    EXPECT_EQ(status, 0) << out;
    return nlohmann::json::parse(out)["faces"].size();
  };
  const std::size_t plain = faces_counted(""), small = faces_counted(" --small-faces");
  EXPECT_LE(plain, 3u);
  EXPECT_GE(small, plain + 3);
  // Without the option, stderr says where a lone small face was left out: as often as the option adds one.
  const auto err = moodtunes::test::run_shell(
      std::string(MOODTUNES_BINARY) + " suggest --json --catalog " + catalog().string() + files + " 2>&1 >/dev/null", &status);
  std::size_t hints = 0;
  for (std::size_t at = err.find("--small-faces reports it"); at != std::string::npos;
       at = err.find("--small-faces reports it", at + 1))
    ++hints;
  EXPECT_EQ(hints, small - plain) << err;
  const auto out = run_cli("suggest --small-faces --camera 0 --catalog " + catalog().string(), &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("--small-faces applies to photos"), std::string::npos) << out;
}

TEST_F(Suggest, NoFaceAndBadInputAreClear) {
  cv::Mat blank(480, 640, CV_8UC3, cv::Scalar(200, 180, 160));
  cv::imwrite((dir_ / "blank.png").string(), blank);
  int status = -1;
  auto out = run_cli("suggest --catalog " + catalog().string() + " " + (dir_ / "blank.png").string(), &status);
  EXPECT_EQ(status, 3) << out;
  EXPECT_NE(out.find("no face found"), std::string::npos);
  std::ofstream(dir_ / "junk.jpg") << "not an image";
  out = run_cli("suggest --catalog " + catalog().string() + " " + (dir_ / "junk.jpg").string(), &status);
  EXPECT_EQ(status, 1) << out;
  out = run_cli("suggest --catalog " + (dir_ / "missing.sqlite").string() + " " + first_face("happy").string(), &status);
  EXPECT_EQ(status, 1) << out;
  out = run_cli("suggest", &status);
  EXPECT_EQ(status, 2) << out;
}
