// Helpers shared by the vision tests: the FER folder, faces HOG can see, scene building.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "app/model_path.hpp"
#include "vision/face_detector.hpp"
#include "support/synth.hpp"

namespace moodtunes::test {

inline std::filesystem::path fer_val() { return test::fer_root(MOODTUNES_DATA_DIR) / "val"; }

inline bool have_data() { return std::filesystem::is_directory(fer_val() / "happy"); }

// The model the CLI would use: $MOODTUNES_MODEL, else the shipped one. Empty when absent.
inline std::string model_path() {
  const std::string path = app::model_path();
  return std::filesystem::exists(path) ? path : "";
}

inline cv::Mat gray_of(const cv::Mat& bgr) {
  cv::Mat g;
  cv::cvtColor(bgr, g, cv::COLOR_BGR2GRAY);
  return g;
}

// The first `count` val faces (in sorted order, cycling through classes) that dlib HOG finds
// when shown upright at 192 px on plain grey: clearly frontal faces. Deterministic.
inline std::vector<cv::Mat> frontal_faces(std::size_t count) {
  const auto pool = test::list_fer_faces(fer_val(), 40);
  auto hog = vision::make_detector("hog");
  std::vector<cv::Mat> out;
  for (std::size_t k = 0; k < 40 && out.size() < count; ++k)
    for (std::size_t c = 0; c < pool.files.size() && out.size() < count; c += 40) {
      if (c + k >= pool.files.size()) continue;
      const cv::Mat face = pool.load(c + k);
      cv::Mat frame(480, 640, CV_8UC3, cv::Scalar::all(128));
      const auto placed = test::place_face(frame, face, {320, 240}, 192, 0);
      for (const auto& b : hog->detect(gray_of(frame)))
        if (test::matches(b.box, placed)) { out.push_back(face); break; }
    }
  return out;
}

// `count` 640x480 scenes of one frontal FER face shown 40 px wide on a gradient: a lone face the
// default photo detector mostly drops (its small-face stage counts in a group only) and
// vision::kLoneSmallFacesDetector mostly finds. Deterministic.
inline std::vector<cv::Mat> lone_small_face_scenes(std::size_t count) {
  std::vector<cv::Mat> out;
  test::Rng rng(9);
  for (const auto& face : frontal_faces(count)) {
    cv::Mat frame = test::make_background({640, 480}, test::Background::kGradient, rng);
    test::place_face(frame, face, {320, 240}, 40, 0);
    out.push_back(frame);
  }
  return out;
}

}  // namespace moodtunes::test
