// The two inference engines (classifier.hpp's InferenceEngine) must read every face alike, for any
// batch size (XNNPACK runs views in chunks of XnnpackNet::kViewsPerRun) and thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "model/classifier.hpp"
#include "model/model_file.hpp"
#include "model/tiny_model.hpp"
#include "test_util.hpp"

using namespace moodtunes;
using moodtunes::test::max_difference;

namespace {

// Faces that differ in structure (gradients at several angles plus noise), so a mix-up of layouts
// (e.g. fc1's column order) changes the reading.
std::vector<cv::Mat> varied_faces(int n) {
  std::vector<cv::Mat> faces;
  cv::RNG rng(5);
  for (int i = 0; i < n; ++i) {
    cv::Mat face(60, 60, CV_8UC1);
    const double angle = 0.4 * i;
    for (int y = 0; y < face.rows; ++y)
      for (int x = 0; x < face.cols; ++x)
        face.at<uchar>(y, x) = cv::saturate_cast<uchar>(
            128 + 90 * std::sin(0.2 * (x * std::cos(angle) + y * std::sin(angle))) +
            rng.gaussian(20));
    faces.push_back(face);
  }
  return faces;
}


}  // namespace

TEST(InferenceEngines, XnnpackReadsLikeOpenCvDnnForAnyBatchSizeAndThreadCount) {
  test::TempDir dir;
  save_model_file(test::spread_model(ArchSpec::tiny()), dir / "m.mtm");
  const auto xnnpack = EmotionClassifier::load(dir / "m.mtm");
  const auto reference = EmotionClassifier::load(dir / "m.mtm", InferenceEngine::kOpenCvDnn);
  ASSERT_EQ(xnnpack.engine(), InferenceEngine::kXnnpack) << "XNNPACK did not initialise on this CPU";
  ASSERT_EQ(reference.engine(), InferenceEngine::kOpenCvDnn);

  const auto faces = varied_faces(40);
  const int threads_before = cv::getNumThreads();
  for (int threads : {1, 2}) {
    cv::setNumThreads(threads);
    for (std::size_t n : {1u, 3u, 16u, 17u, 40u}) {
      const std::vector<cv::Mat> batch(faces.begin(), faces.begin() + static_cast<long>(n));
      const auto fast = xnnpack.classify_batch(batch);
      const auto slow = reference.classify_batch(batch);
      ASSERT_EQ(fast.size(), n);
      EXPECT_LT(max_difference(fast, slow), 1e-5f) << n << " faces, " << threads << " threads";
    }
  }
  cv::setNumThreads(threads_before);

  // The comparison means something only if the faces read differently.
  const auto all = reference.classify_batch(faces);
  float spread = 0;
  for (const auto& p : all)
    for (std::size_t c = 0; c < kNumEmotions; ++c)
      spread = std::max(spread, std::abs(p[c] - all.front()[c]));
  EXPECT_GT(spread, 0.05f);

  // Ten-crop goes through the same chunks: 4 faces x 10 views = 40 views in one call.
  const std::vector<cv::Mat> four(faces.begin(), faces.begin() + 4);
  EXPECT_LT(max_difference(xnnpack.classify_batch(four, TestTimeAugmentation::kTenCrop),
                           reference.classify_batch(four, TestTimeAugmentation::kTenCrop)),
            1e-5f);
}

// Int8: calibrated on some faces, read on others; close to the float reading, never identical.
TEST(InferenceEngines, Int8ReadsLikeFloatAfterCalibration) {
  test::TempDir dir;
  ModelFile model = test::spread_model(ArchSpec::tiny());
  save_model_file(model, dir / "float.mtm");
  EXPECT_THROW(EmotionClassifier::load(dir / "float.mtm", InferenceEngine::kXnnpackInt8),
               ModelError);
  EXPECT_EQ(EmotionClassifier::load(dir / "float.mtm").engine(), InferenceEngine::kXnnpack);

  const auto faces = varied_faces(80);
  calibrate_int8(model, std::vector<cv::Mat>(faces.begin(), faces.begin() + 40));
  save_model_file(model, dir / "int8.mtm");
  const auto int8 = EmotionClassifier::load(dir / "int8.mtm");
  ASSERT_EQ(int8.engine(), InferenceEngine::kXnnpackInt8)
      << "a calibrated model runs in int8 by default";
  const auto fp = EmotionClassifier::load(dir / "int8.mtm", InferenceEngine::kXnnpack);
  ASSERT_EQ(fp.engine(), InferenceEngine::kXnnpack);

  const std::vector<cv::Mat> unseen(faces.begin() + 40, faces.end());
  const auto q = int8.classify_batch(unseen);
  const auto f = fp.classify_batch(unseen);
  int same_top = 0;
  for (std::size_t i = 0; i < q.size(); ++i) same_top += argmax(q[i]) == argmax(f[i]);
  const float worst = max_difference(q, f);
  EXPECT_GE(same_top, 36) << "of 40";
  EXPECT_LT(worst, 0.1f);
  EXPECT_GT(worst, 0.f) << "int8 rounding should show somewhere";
}

TEST(InferenceEngines, ATensorOfTheWrongSizeIsAModelErrorOnBothEngines) {
  test::TempDir dir;
  ModelFile model = test::random_tiny_model();
  for (auto& t : model.tensors)
    if (t.name == "fc1.weight") {
      t.shape[1] -= 1;
      t.data.resize(t.data.size() - static_cast<std::size_t>(t.shape[0]));
    }
  save_model_file(model, dir / "m.mtm");
  for (auto engine : {InferenceEngine::kXnnpack, InferenceEngine::kOpenCvDnn})
    EXPECT_THROW(EmotionClassifier::load(dir / "m.mtm", engine), ModelError) << engine_name(engine);
}
