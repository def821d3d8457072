#include "core/preprocess.hpp"

#include <opencv2/imgproc.hpp>
#include <stdexcept>

namespace moodtunes {

cv::Mat to_face_gray(const cv::Mat& face) {
  if (face.empty()) throw std::invalid_argument("preprocess: empty face image");
  cv::Mat gray;
  switch (face.channels()) {
    case 1: gray = face; break;
    case 3: cv::cvtColor(face, gray, cv::COLOR_BGR2GRAY); break;
    case 4: cv::cvtColor(face, gray, cv::COLOR_BGRA2GRAY); break;
    default: throw std::invalid_argument("preprocess: unsupported channel count");
  }
  if (gray.depth() != CV_8U) {
    // 16-bit or float input: rescale to the 8-bit range FER faces have.
    double lo = 0, hi = 0;
    cv::minMaxLoc(gray, &lo, &hi);
    cv::Mat scaled;
    gray.convertTo(scaled, CV_8U, hi > lo ? 255.0 / (hi - lo) : 1.0, hi > lo ? -lo * 255.0 / (hi - lo) : 0);
    gray = scaled;
  }
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
