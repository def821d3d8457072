// `moodtunes quantize`: calibrates a model file for int8 inference in place or into --out, and
// refuses bad input with a clear message and exit code 1.
#include <gtest/gtest.h>

#include <filesystem>

#include "model/classifier.hpp"
#include "model/model_file.hpp"
#include "model/tiny_model.hpp"
#include "test_util.hpp"

using namespace moodtunes;

using moodtunes::test::run_cli;

TEST(Quantize, CalibratesAModelSoItRunsInInt8) {
  const auto faces = test::data_dir() / "fer2013/val";
  if (!std::filesystem::exists(faces)) GTEST_SKIP() << "shared data not present at " << faces;
  test::TempDir dir;
  save_model_file(test::random_tiny_model(), dir / "m.mtm");
  int status = -1;
  auto out = run_cli("quantize " + (dir / "m.mtm").string() + " --data " + faces.string() +
                     " --faces 60 -o " + (dir / "q.mtm").string(),
                 &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("on 60 faces"), std::string::npos) << out;
  EXPECT_EQ(EmotionClassifier::load(dir / "m.mtm").engine(), InferenceEngine::kXnnpack)
      << "--out leaves MODEL alone";
  const auto calibrated = load_model_file(dir / "q.mtm");
  EXPECT_EQ(calibrated.info.at("int8").at("faces"), 60);
  EXPECT_EQ(EmotionClassifier::load(dir / "q.mtm").engine(), InferenceEngine::kXnnpackInt8);

  out = run_cli("quantize " + (dir / "missing.mtm").string() + " --data " + faces.string(), &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("model file not found"), std::string::npos) << out;
  out = run_cli("quantize " + (dir / "m.mtm").string() + " --data " + (dir / "nowhere").string(),
            &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_EQ(EmotionClassifier::load(dir / "m.mtm").engine(), InferenceEngine::kXnnpack)
      << "a failed run changes nothing";
}

TEST(Quantize, CalibratesEveryNetworkOfAnEnsembleAndKeepsItAnEnsemble) {
  const auto faces = test::data_dir() / "fer2013/val";
  if (!std::filesystem::exists(faces)) GTEST_SKIP() << "shared data not present at " << faces;
  test::TempDir dir;
  ModelEnsemble pair;
  pair.members = {test::random_tiny_model(3), test::random_tiny_model(4)};
  save_ensemble_file(pair, dir / "pair.mtm");
  int status = -1;
  const auto out = run_cli("quantize " + (dir / "pair.mtm").string() + " --data " + faces.string() + " --faces 40", &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("(2 networks) on 40 faces"), std::string::npos) << out;
  const ModelEnsemble calibrated = load_ensemble_file(dir / "pair.mtm");
  ASSERT_EQ(calibrated.members.size(), 2u);
  EXPECT_EQ(calibrated.storage, TensorStorage::kFloat16);
  for (const auto& member : calibrated.members) EXPECT_EQ(member.info.at("int8").at("faces"), 40);
  EXPECT_EQ(EmotionClassifier::load(dir / "pair.mtm").engine(), InferenceEngine::kXnnpackInt8);
}
