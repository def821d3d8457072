#include "landmarks.hpp"

#include <cmath>
#include <filesystem>
#include <numbers>
#include <stdexcept>

#include <dlib/image_processing.h>
#include <dlib/opencv/cv_image.h>
#include <dlib/serialize.h>

namespace moodtunes::bench {

namespace {

dlib::shape_predictor& predictor() {
  static dlib::shape_predictor sp = [] {
    const std::filesystem::path file = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";
    if (!std::filesystem::exists(file)) throw std::runtime_error("no " + file.string() + " (install libdlib-data)");
    dlib::shape_predictor p;
    dlib::deserialize(file.string()) >> p;
    return p;
  }();
  return sp;
}

}  // namespace

double eye_roll_degrees(const cv::Mat& gray, const cv::Rect& box) {
  const dlib::cv_image<unsigned char> img(gray);
  const auto shape = predictor()(img, dlib::rectangle(box.x, box.y, box.x + box.width - 1, box.y + box.height - 1));
  const auto centre = [&](unsigned from) {
    double x = 0, y = 0;
    for (unsigned k = from; k < from + 6; ++k) {
      x += static_cast<double>(shape.part(k).x());
      y += static_cast<double>(shape.part(k).y());
    }
    return cv::Point2d(x / 6, y / 6);
  };
  const cv::Point2d left = centre(36), right = centre(42);
  // Image y grows downwards: a right eye lower than the left is a clockwise roll, negative in
  // OpenCV's convention.
  return -std::atan2(right.y - left.y, right.x - left.x) * 180 / std::numbers::pi;
}

}  // namespace moodtunes::bench
