// `moodtunes eval --json` and `classify` as a user runs them, on a tiny folder whose expected
// metrics are worked out from the per-image predictions.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "data/fer_dataset.hpp"
#include "model/classifier.hpp"
#include "model/metrics.hpp"
#include "model/tiny_model.hpp"
#include "test_util.hpp"

using namespace moodtunes;
using moodtunes::test::TempDir;

namespace {
std::string run(const std::string& args, int* status = nullptr) {
  return moodtunes::test::run_shell(std::string(MOODTUNES_BINARY) + " " + args + " 2>/dev/null", status);
}
}  // namespace

TEST(EvalCli, JsonMetricsEqualThoseWorkedOutFromEachPrediction) {
  TempDir dir;
  save_model_file(moodtunes::test::random_tiny_model(), dir / "m.mtm");
  const auto clf = EmotionClassifier::load(dir / "m.mtm");
  // Two images per class with varied content, so predictions differ between images.
  cv::RNG rng(5);
  ConfusionMatrix expected;
  for (std::size_t c = 0; c < kNumEmotions; ++c)
    for (int k = 0; k < 2; ++k) {
      cv::Mat img(48, 48, CV_8UC1);
      rng.fill(img, cv::RNG::UNIFORM, 0, 50 + 30 * static_cast<int>(c) + 10 * k);
      const auto path = dir / "faces" / std::string(kEmotionNames[c]) / (std::to_string(k) + ".png");
      std::filesystem::create_directories(path.parent_path());
      ASSERT_TRUE(cv::imwrite(path.string(), img));
      expected.add(static_cast<int>(c), static_cast<int>(argmax(clf.classify(cv::imread(path.string(), cv::IMREAD_GRAYSCALE)))));
    }
  int status = -1;
  const auto out = run("eval " + (dir / "faces").string() + " --json -m " + (dir / "m.mtm").string(), &status);
  ASSERT_EQ(status, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["count"], 14);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), expected.accuracy());
  EXPECT_DOUBLE_EQ(j["macro_f1"].get<double>(), expected.macro_f1());
  EXPECT_EQ(j["confusion"], expected.to_json()["confusion"]);
  for (auto name : kEmotionNames) EXPECT_TRUE(j["per_class"].contains(std::string(name)));
}

TEST(EvalCli, ReportsEachSourceAndLeavesOutClassesTheModelLacks) {
  TempDir dir;
  save_model_file(moodtunes::test::random_tiny_model(), dir / "m.mtm");
  const auto clf = EmotionClassifier::load(dir / "m.mtm");
  cv::RNG rng(9);
  ConfusionMatrix web, lfw, all;
  for (std::size_t c = 0; c < kNumEmotions; ++c)
    for (const std::string source : {"web", "lfw"}) {
      cv::Mat img(96, 96, CV_8UC1);
      rng.fill(img, cv::RNG::UNIFORM, 0, 60 + 25 * static_cast<int>(c) + (source == "web" ? 0 : 30));
      const auto path = dir / "faces" / std::string(kEmotionNames[c]) / (source + "_" + std::to_string(c) + ".png");
      std::filesystem::create_directories(path.parent_path());
      ASSERT_TRUE(cv::imwrite(path.string(), img));
      const int predicted = static_cast<int>(argmax(clf.classify(cv::imread(path.string(), cv::IMREAD_GRAYSCALE))));
      (source == "web" ? web : lfw).add(static_cast<int>(c), predicted);
      all.add(static_cast<int>(c), predicted);
    }
  std::filesystem::create_directories(dir / "faces/contempt");
  ASSERT_TRUE(cv::imwrite((dir / "faces/contempt/web_x.png").string(), cv::Mat(96, 96, CV_8UC1, cv::Scalar(80))));
  int status = -1;
  const auto out = run("eval " + (dir / "faces").string() + " --json -m " + (dir / "m.mtm").string(), &status);
  ASSERT_EQ(status, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["count"], 14);
  EXPECT_EQ(j["mode"], "crops");
  EXPECT_EQ(j["skipped"], nlohmann::json::array({"contempt (1 images)"}));
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), all.accuracy());
  ASSERT_TRUE(j.contains("sources"));
  EXPECT_EQ(j["sources"]["web"]["count"], 7);
  EXPECT_DOUBLE_EQ(j["sources"]["web"]["accuracy"].get<double>(), web.accuracy());
  EXPECT_EQ(j["sources"]["lfw"]["confusion"], lfw.to_json()["confusion"]);
}

TEST(EvalCli, EndToEndCountsImagesWithoutAFaceAsWrong) {
  TempDir dir;
  save_model_file(moodtunes::test::random_tiny_model(), dir / "m.mtm");
  // Flat images hold no face: every one is missed, and accuracy is 0 rather than undefined.
  for (auto name : {"happy", "sad"}) {
    std::filesystem::create_directories(dir / "photos" / name);
    for (int k = 0; k < 2; ++k)
      ASSERT_TRUE(cv::imwrite((dir / "photos" / name / ("web_" + std::to_string(k) + ".png")).string(),
                              cv::Mat(120, 160, CV_8UC3, cv::Scalar(40 + 50 * k, 90, 140))));
  }
  std::ofstream(dir / "photos/sad/web_broken.jpg") << "not a jpeg";
  int status = -1;
  const auto out =
      run("eval " + (dir / "photos").string() + " --end-to-end --json -m " + (dir / "m.mtm").string(), &status);
  ASSERT_EQ(status, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["mode"], "end-to-end");
  EXPECT_EQ(j["tta"], "ten-crop");  // the photo path's default, as detect reads
  EXPECT_EQ(j["count"], 5);
  EXPECT_EQ(j["accuracy"], 0.0);
  EXPECT_EQ(j["missed"][static_cast<int>(Emotion::kHappy)], 2);
  EXPECT_EQ(j["missed"][static_cast<int>(Emotion::kSad)], 3);  // the unreadable file too
  EXPECT_EQ(j["per_class"]["sad"]["support"], 3);
  run("eval " + (dir / "photos").string() + " --end-to-end --engine opencv-dnn -m " + (dir / "m.mtm").string(), &status);
  EXPECT_EQ(status, 2);
}

TEST(EvalCli, RecordStoresTheReadingInTheModelForItsCard) {
  TempDir dir;
  save_model_file(moodtunes::test::random_tiny_model(), dir / "m.mtm");
  for (auto name : {"happy", "sad"}) {
    std::filesystem::create_directories(dir / "realfaces/val" / name);
    ASSERT_TRUE(cv::imwrite((dir / "realfaces/val" / name / "web_1.png").string(), cv::Mat(64, 64, CV_8UC1, cv::Scalar(70))));
  }
  const std::string model = (dir / "m.mtm").string(), data = (dir / "realfaces/val").string();
  int status = -1;
  const auto out = run("eval " + data + " --json --record realfaces_val -m " + model, &status);
  ASSERT_EQ(status, 0) << out;
  const auto printed = nlohmann::json::parse(out);
  const ModelFile stored = load_model_file(dir / "m.mtm");
  ASSERT_TRUE(stored.info.contains("realfaces_val"));
  EXPECT_EQ(stored.info["realfaces_val"]["accuracy"], printed["accuracy"]);
  EXPECT_EQ(stored.info["realfaces_val"]["data"], "realfaces/val");  // not this machine's path
  const auto card = run("model-card " + model, &status);
  EXPECT_NE(card.find("| realfaces val, face crops |"), std::string::npos) << card;
  run("eval " + data + " --record realfaces_val_end_to_end -m " + model, &status);
  EXPECT_EQ(status, 2);  // an end-to-end record needs --end-to-end
}

TEST(EvalCli, BadInputsFailWithAMessage) {
  TempDir dir;
  save_model_file(moodtunes::test::random_tiny_model(), dir / "m.mtm");
  int status = 0;
  run("eval " + (dir / "nowhere").string() + " -m " + (dir / "m.mtm").string(), &status);
  EXPECT_EQ(status, 1);
  run("eval " + dir.path().string() + " -m " + (dir / "missing.mtm").string(), &status);
  EXPECT_EQ(status, 1);
  run("eval", &status);
  EXPECT_EQ(status, 2);  // a required argument missing is a bad command line (README: exit codes)
}

TEST(ClassifyCli, OneJsonLinePerImageAndUnreadableFilesReported) {
  TempDir dir;
  save_model_file(moodtunes::test::random_tiny_model(), dir / "m.mtm");
  cv::Mat face(60, 50, CV_8UC3, cv::Scalar(30, 90, 200));
  cv::imwrite((dir / "face.png").string(), face);
  std::ofstream(dir / "junk.jpg") << "not an image";
  int status = 0;
  const auto out = run("classify -m " + (dir / "m.mtm").string() + " " + (dir / "face.png").string() + " " +
                           (dir / "junk.jpg").string(), &status);
  EXPECT_EQ(status, 1);
  std::istringstream lines(out);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  const auto a = nlohmann::json::parse(first), b = nlohmann::json::parse(second);
  EXPECT_TRUE(a.contains("emotion"));
  EXPECT_EQ(a["probabilities"].size(), 7u);
  EXPECT_TRUE(b.contains("error"));
}
