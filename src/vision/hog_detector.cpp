// dlib's HOG frontal face detector behind the FaceDetector interface. The only translation unit
// that includes dlib (its headers are heavy to compile).
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv/cv_image.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "vision/face_detector.hpp"

namespace moodtunes::vision {
namespace {

// dlib's get_frontal_face_detector() decodes its embedded, compressed model on every call
// (0.3-0.4 s here), and `detect`'s default holds several HOG detectors: decode once per process
// and give each detector its own copy (0.1 ms; one shared detector could not serve two threads).
const dlib::frontal_face_detector& decoded_frontal_face_detector() {
  static const dlib::frontal_face_detector decoded = dlib::get_frontal_face_detector();
  return decoded;
}

// The decoded detector scanning at most `levels` pyramid levels (0 = all).
dlib::frontal_face_detector limited_to_levels(const dlib::frontal_face_detector& full, int levels) {
  if (levels == 0) return full;
  dlib::frontal_face_detector::image_scanner_type scanner;  // not copyable: copy its configuration
  scanner.copy_configuration(full.get_scanner());
  scanner.set_max_pyramid_levels(static_cast<unsigned long>(levels));
  std::vector<dlib::frontal_face_detector::feature_vector_type> weights;
  for (unsigned long i = 0; i < full.num_detectors(); ++i) weights.push_back(full.get_w(i));
  return dlib::frontal_face_detector(scanner, full.get_overlap_tester(), weights);
}

class HogDetector final : public FaceDetector {
 public:
  explicit HogDetector(const HogOptions& o)
      : options_(validated(o)), detector_(limited_to_levels(decoded_frontal_face_detector(), o.max_pyramid_levels)) {}

  std::vector<FaceBox> detect(const cv::Mat& gray) override {
    CV_Assert(gray.type() == CV_8UC1 && !gray.empty());
    const double scale = options_.frame_scale * std::pow(2.0, options_.upsample);
    cv::Mat work = gray;
    if (scale != 1.0) {
      const cv::Size size(std::max(1, static_cast<int>(std::lround(gray.cols * scale))),
                          std::max(1, static_cast<int>(std::lround(gray.rows * scale))));
      cv::resize(gray, work, size, 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    }
    std::vector<FaceBox> out;
    if (work.cols < 80 || work.rows < 80) return out;  // smaller than HOG's window: nothing to find
    const dlib::cv_image<unsigned char> img(work);
    std::vector<dlib::rect_detection> dets;
    detector_(img, dets, options_.threshold);
    const cv::Rect frame(0, 0, gray.cols, gray.rows);
    for (const auto& d : dets) {
      const auto& r = d.rect;
      cv::Rect box(static_cast<int>(std::lround(r.left() / scale)), static_cast<int>(std::lround(r.top() / scale)),
                   static_cast<int>(std::lround(r.width() / scale)), static_cast<int>(std::lround(r.height() / scale)));
      box &= frame;
      if (box.area() > 0) out.push_back({box, d.detection_confidence});
    }
    std::sort(out.begin(), out.end(), [](const FaceBox& a, const FaceBox& b) { return a.box.area() > b.box.area(); });
    return out;
  }

  BoxStyle box_style() const override { return BoxStyle::kHog; }
  std::string name() const override {
    std::string n = "hog";
    if (options_.frame_scale != 1.0) n += " x" + std::to_string(options_.frame_scale).substr(0, 4);
    if (options_.upsample) n += " up" + std::to_string(options_.upsample);
    if (options_.threshold != 0) n += fmt::format(" ~{:g}", options_.threshold);
    if (options_.max_pyramid_levels) n += fmt::format(" levels {}", options_.max_pyramid_levels);
    return n;
  }

 private:
  static const HogOptions& validated(const HogOptions& o) {
    if (!(o.frame_scale > 0.05 && o.frame_scale <= 8) || o.upsample < 0 || o.upsample > 3 || o.max_pyramid_levels < 0)
      throw std::invalid_argument(
          "HOG detector: frame_scale must be in (0.05, 8], upsample in [0, 3] and max_pyramid_levels >= 0");
    return o;
  }
  HogOptions options_;
  dlib::frontal_face_detector detector_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_hog_detector(const HogOptions& options) {
  check_hog_cpu_support();
  return std::make_unique<HogDetector>(options);
}

}  // namespace moodtunes::vision
