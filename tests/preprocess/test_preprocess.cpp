#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "preprocess/preprocess.hpp"

using namespace moodtunes;

TEST(Preprocess, OutputIsStandardised48x48Float) {
  cv::Mat face(120, 100, CV_8UC3);
  cv::randu(face, 0, 255);
  cv::Mat out = preprocess_face(face);
  ASSERT_EQ(out.type(), CV_32FC1);
  ASSERT_EQ(out.rows, kFaceSize);
  ASSERT_EQ(out.cols, kFaceSize);
  cv::Scalar mean, sd;
  cv::meanStdDev(out, mean, sd);
  EXPECT_NEAR(mean[0], 0.0, 1e-4);
  EXPECT_NEAR(sd[0], 1.0, 1e-3);
}

TEST(Preprocess, InvariantToBrightnessAndContrast) {
  cv::Mat face(kFaceSize, kFaceSize, CV_8UC1);
  cv::randu(face, 60, 160);
  cv::Mat brighter;
  face.convertTo(brighter, CV_8U, 1.5, 10);  // stays within 0..255
  cv::Mat diff = cv::abs(preprocess_face(face) - preprocess_face(brighter));
  double worst = 0;
  cv::minMaxLoc(diff, nullptr, &worst);
  EXPECT_LT(worst, 0.05);
}

TEST(Preprocess, GrayBgrBgraAnd16BitAgree) {
  cv::Mat gray(64, 64, CV_8UC1);
  cv::randu(gray, 0, 255);
  cv::Mat bgr, bgra, wide;
  cv::cvtColor(gray, bgr, cv::COLOR_GRAY2BGR);
  cv::cvtColor(gray, bgra, cv::COLOR_GRAY2BGRA);
  gray.convertTo(wide, CV_16U, 257);
  const cv::Mat ref = preprocess_face(gray);
  for (const cv::Mat& m : {bgr, bgra, wide}) {
    double worst = 0;
    cv::minMaxLoc(cv::abs(preprocess_face(m) - ref), nullptr, &worst);
    EXPECT_LT(worst, 0.05);
  }
}

TEST(Preprocess, FlatImageDoesNotExplode) {
  cv::Mat flat(kFaceSize, kFaceSize, CV_8UC1, cv::Scalar(128));
  cv::Mat out = preprocess_face(flat);
  double lo = 0, hi = 0;
  cv::minMaxLoc(out, &lo, &hi);
  EXPECT_EQ(lo, 0.0);
  EXPECT_EQ(hi, 0.0);
}

TEST(Preprocess, RejectsEmptyAndOddChannelCounts) {
  EXPECT_THROW(preprocess_face(cv::Mat()), std::invalid_argument);
  EXPECT_THROW(preprocess_face(cv::Mat(10, 10, CV_8UC2)), std::invalid_argument);
}

TEST(Preprocess, WarpFaceShiftsByWholePixelsExactly) {
  cv::Mat face(kFaceSize, kFaceSize, CV_8UC1);
  cv::randu(face, 0, 255);
  const cv::Mat shifted = warp_face(face, 0.f, 1.f, 2.f, 1.f);  // 2 px right, 1 px down
  for (int y = 1; y < kFaceSize; ++y)
    for (int x = 2; x < kFaceSize; ++x) ASSERT_EQ(shifted.at<uchar>(y, x), face.at<uchar>(y - 1, x - 2)) << x << "," << y;
  EXPECT_EQ(shifted.at<uchar>(0, 0), face.at<uchar>(0, 0));  // the border is replicated
}

