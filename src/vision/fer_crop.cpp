#include "vision/fer_crop.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace moodtunes::vision {

// Fitted by `vision_bench fit-crop --n 300` (bench/vision, seed 2024): 300 FER val faces
// upscaled (INTER_CUBIC) and pasted upright on the synthetic backgrounds at 100-240 px; each
// detector run on the frame; for every face it found, the known FER square expressed relative to
// the detected box. The constants are the medians (n = 194..236 found faces; p10/p90 spread in
// docs/vision.md). dx is 0 by symmetry (measured |dx| <= 0.016). Re-fit after changing a detector.
FerFraming fer_framing(BoxStyle style) {
  switch (style) {
    case BoxStyle::kHog: return {0.0, -0.069, 1.172};          // HOG boxes sit low (brows to chin)
    case BoxStyle::kHaarDefault: return {0.0, 0.011, 1.049};
    case BoxStyle::kHaarAlt2: return {0.0, 0.013, 1.045};
    case BoxStyle::kLbp: return {0.0, -0.087, 1.483};          // LBP boxes are much tighter
  }
  return {};
}

cv::Rect2d fer_crop_rect(const cv::Rect& box, const FerFraming& f) {
  const double w = box.width;
  const double cx = box.x + w / 2.0 + f.dx * w;
  const double cy = box.y + box.height / 2.0 + f.dy * w;
  const double side = f.scale * w;
  return {cx - side / 2, cy - side / 2, side, side};
}

cv::Rect2d fer_crop_rect(const cv::Rect& box, BoxStyle style) { return fer_crop_rect(box, fer_framing(style)); }

cv::Mat crop_square(const cv::Mat& image, const cv::Rect2d& square) {
  CV_Assert(!image.empty());
  const int side = std::max(1, static_cast<int>(std::lround(square.width)));
  const cv::Rect r(static_cast<int>(std::lround(square.x)), static_cast<int>(std::lround(square.y)), side, side);
  const cv::Rect inside = r & cv::Rect(0, 0, image.cols, image.rows);
  if (inside == r) return image(r);
  cv::Mat out;
  if (inside.area() == 0) {  // entirely outside: nothing to see; mid-grey
    out.create(side, side, image.type());
    out.setTo(cv::Scalar::all(128));
    return out;
  }
  cv::copyMakeBorder(image(inside), out, inside.y - r.y, r.br().y - inside.br().y, inside.x - r.x,
                     r.br().x - inside.br().x, cv::BORDER_REPLICATE);
  return out;
}

cv::Mat crop_fer_face(const cv::Mat& image, const cv::Rect& box, BoxStyle style, double angle) {
  CV_Assert(box.area() > 0 && !image.empty());
  const cv::Rect2d square = fer_crop_rect(box, style);
  if (std::abs(angle) < 0.5) return crop_square(image, square);
  // Upright frame: the image rotated by -angle about the box centre; sample the square there.
  const cv::Point2f c(box.x + box.width / 2.f, box.y + box.height / 2.f);
  cv::Mat m = cv::getRotationMatrix2D(c, -angle, 1.0);
  m.at<double>(0, 2) -= square.x;
  m.at<double>(1, 2) -= square.y;
  const int side = std::max(1, static_cast<int>(std::lround(square.width)));
  cv::Mat out;
  cv::warpAffine(image, out, m, cv::Size(side, side), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

}  // namespace moodtunes::vision
