#include "preprocess/preprocess.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>

#include <opencv2/imgproc.hpp>

namespace moodtunes {

cv::Mat to_gray(const cv::Mat& image) {
  if (image.empty()) throw std::invalid_argument("to_gray: empty image");
  const int channels = image.channels();
  if (channels != 1 && channels != 3 && channels != 4)
    throw std::invalid_argument("to_gray: unsupported channel count " + std::to_string(channels) + " (1, 3 or 4)");
  cv::Mat bytes;
  switch (image.depth()) {
    case CV_8U: bytes = image; break;
    case CV_16U: {
      // The high byte, exactly (convertTo would round): what libpng and libtiff keep for 8-bit reads.
      bytes.create(image.size(), CV_8UC(channels));
      for (int r = 0; r < image.rows; ++r) {
        const auto* src = image.ptr<std::uint16_t>(r);
        auto* dst = bytes.ptr<std::uint8_t>(r);
        for (int i = 0; i < image.cols * channels; ++i) dst[i] = static_cast<std::uint8_t>(src[i] >> 8);
      }
      break;
    }
    case CV_32F:
    case CV_64F: image.convertTo(bytes, CV_8U, 255.0); break;  // [0, 1], OpenCV's float convention
    default: throw std::invalid_argument("to_gray: unsupported pixel depth (8-bit, 16-bit unsigned or float)");
  }
  if (channels == 1) return bytes;
  cv::Mat gray;
  cv::cvtColor(bytes, gray, channels == 3 ? cv::COLOR_BGR2GRAY : cv::COLOR_BGRA2GRAY);
  return gray;
}

cv::Mat to_face_gray(const cv::Mat& face) {
  if (face.empty()) throw std::invalid_argument("preprocess: empty face image");
  const cv::Mat gray = to_gray(face);
  if (gray.rows == kFaceSize && gray.cols == kFaceSize) return gray.clone();
  cv::Mat out;
  const bool shrinking = gray.rows > kFaceSize || gray.cols > kFaceSize;
  cv::resize(gray, out, cv::Size(kFaceSize, kFaceSize), 0, 0,
             shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

cv::Mat standardize_face(const cv::Mat& gray48) {
  CV_Assert(gray48.type() == CV_8UC1 && gray48.rows == kFaceSize && gray48.cols == kFaceSize);
  cv::Mat f;
  gray48.convertTo(f, CV_32F, 1.0 / 255.0);
  cv::Scalar mean, stddev;
  cv::meanStdDev(f, mean, stddev);
  // Floor the deviation so a flat (blank) crop does not explode into noise.
  const double sd = std::max(stddev[0], 1.0 / 64.0);
  f = (f - mean[0]) / sd;
  return f;
}

cv::Mat warp_face(const cv::Mat& gray48, float angle_deg, float scale, float tx, float ty) {
  CV_Assert(gray48.type() == CV_8UC1 && gray48.rows == kFaceSize && gray48.cols == kFaceSize);
  cv::Mat m = cv::getRotationMatrix2D({kFaceSize / 2.f - 0.5f, kFaceSize / 2.f - 0.5f}, angle_deg, scale);
  m.at<double>(0, 2) += tx;
  m.at<double>(1, 2) += ty;
  cv::Mat warped;
  cv::warpAffine(gray48, warped, m, gray48.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return warped;
}

cv::Mat preprocess_face(const cv::Mat& face) { return standardize_face(to_face_gray(face)); }

cv::Mat plain_view(const cv::Mat& standardized) {
  CV_Assert(standardized.type() == CV_32FC1 && standardized.rows == kFaceSize && standardized.cols == kFaceSize);
  const cv::Matx23d shift(1, 0, kPlainViewShiftPx, 0, 1, kPlainViewShiftPx);
  cv::Mat view;
  cv::warpAffine(standardized, view, shift, standardized.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  cv::Scalar mean, stddev;
  cv::meanStdDev(view, mean, stddev);
  if (stddev[0] > 1e-6) view = (view - mean[0]) / stddev[0];  // a flat face stays flat (all zeros)
  return view;
}

}  // namespace moodtunes
