// One gray conversion: a 16-bit frame must give the detector (vision::to_gray, what detect()
// takes) and the classifier (preprocess's to_face_gray, under classify()) the same 8-bit image,
// and the same image the guarded decoder makes of the file.
#include <gtest/gtest.h>

#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "app/model_path.hpp"
#include "model/classifier.hpp"
#include "preprocess/preprocess.hpp"
#include "test_util.hpp"
#include "vision/face_detector.hpp"
#include "vision/image_io.hpp"

using namespace moodtunes;

namespace {

// A real 16-bit PNG: a gradient under noise over the whole 16-bit range, so values that are not
// multiples of 257 (where rounding, truncation and stretching disagree) are everywhere.
cv::Mat write_png16(const std::filesystem::path& path) {
  cv::Mat wide(120, 160, CV_16UC1);
  cv::randu(wide, 0, 65536);
  cv::Mat ramp(wide.size(), CV_16UC1);
  for (int r = 0; r < ramp.rows; ++r)
    for (int c = 0; c < ramp.cols; ++c) ramp.at<std::uint16_t>(r, c) = static_cast<std::uint16_t>(c * 400 + r * 10);
  cv::addWeighted(wide, 0.25, ramp, 0.75, 0, wide);
  EXPECT_TRUE(cv::imwrite(path.string(), wide));
  return wide;
}

double max_diff(const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_INF); }

}  // namespace

TEST(Gray, SixteenBitPngGivesDetectorAndClassifierTheSameImage) {
  test::TempDir dir;
  const auto path = dir / "frame16.png";
  write_png16(path);
  const cv::Mat frame = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(frame.type(), CV_16UC1);

  const cv::Mat detector_view = vision::to_gray(frame);
  ASSERT_EQ(detector_view.type(), CV_8UC1);
  ASSERT_EQ(detector_view.size(), frame.size());
  // The high byte of every pixel: a fixed rule, not a stretch over this image's range.
  cv::Mat high;
  frame.convertTo(high, CV_8U, 1.0 / 256, -0.498);  // floor(v / 256) for 16-bit v
  EXPECT_EQ(max_diff(detector_view, high), 0);

  // A face box at the classifier's size: its input is that box of the detector's image.
  const cv::Rect box(30, 20, kFaceSize, kFaceSize);
  EXPECT_EQ(max_diff(to_face_gray(frame(box)), detector_view(box)), 0);
  // A larger box, resized: the same resize of the same 8-bit pixels.
  const cv::Rect big(10, 5, 100, 100);
  EXPECT_EQ(max_diff(to_face_gray(frame(big)), to_face_gray(detector_view(big))), 0);
  EXPECT_EQ(max_diff(preprocess_face(frame(big)), preprocess_face(detector_view(big))), 0);

  // The decoder's 8-bit reading of the file, made gray again, is the same image.
  const auto decoded = vision::read_image(path);
  EXPECT_EQ(max_diff(vision::to_gray(decoded.bgr), detector_view), 0);
}

TEST(Gray, ColourAndFloatFramesFollowTheSameRule) {
  cv::Mat gray8(40, 50, CV_8UC1);
  cv::randu(gray8, 0, 256);
  cv::Mat bgr16;
  cv::cvtColor(gray8, bgr16, cv::COLOR_GRAY2BGR);
  bgr16.convertTo(bgr16, CV_16UC3, 256);  // the 8-bit image as the high bytes, low bytes zero
  bgr16 += cv::Scalar::all(255);           // ... and then full: the low byte must not matter
  EXPECT_EQ(max_diff(vision::to_gray(bgr16), gray8), 0);
  cv::Mat unit;
  gray8.convertTo(unit, CV_32F, 1.0 / 255);
  EXPECT_EQ(max_diff(vision::to_gray(unit), gray8), 0);
  EXPECT_THROW(vision::to_gray(cv::Mat()), std::invalid_argument);
  EXPECT_THROW(vision::to_gray(cv::Mat(4, 4, CV_16SC1, cv::Scalar(0))), std::invalid_argument);
  EXPECT_THROW(vision::to_gray(cv::Mat(4, 4, CV_8UC2, cv::Scalar(0))), std::invalid_argument);
}

TEST(Gray, ClassifierReadsASixteenBitCropAsItsEightBitImage) {
  const std::filesystem::path model = app::model_path();
  if (!std::filesystem::exists(model)) GTEST_SKIP() << "no shipped model";
  test::TempDir dir;
  const auto path = dir / "frame16.png";
  write_png16(path);
  const cv::Mat frame = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  const cv::Rect box(10, 5, 100, 100);
  const auto classifier = EmotionClassifier::load(model);
  const EmotionProbs wide = classifier.classify(frame(box));
  const EmotionProbs narrow = classifier.classify(vision::to_gray(frame)(box));
  for (std::size_t i = 0; i < kNumEmotions; ++i) EXPECT_EQ(wide[i], narrow[i]) << emotion_name(i);
}
