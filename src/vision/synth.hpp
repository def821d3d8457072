// Synthetic scenes for measuring and testing face detection: FER-2013 faces (read from the
// shared data folder, never copied) upscaled with INTER_CUBIC, rotated in-plane and blended onto
// generated backgrounds (gradients, textures, text, cluttered "photos" of shapes), plus scenes
// with no face. Everything is a deterministic function of (seed, index) and the sorted FER file
// list, so the detection set is "kept in the repo as a generator".
//
// Contract: list_fer_faces() throws std::runtime_error when the folder has no images.
// place_face() requires a CV_8UC3 frame and an 8-bit gray face; the face's FER square (side
// `side`, centred on `centre`, rotated by angle_deg counter-clockwise) is recorded in frame
// coordinates before rotation. Pure functions of their arguments; thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "model/classifier.hpp"
#include "vision/face_detector.hpp"

namespace moodtunes::vision::synth {

struct FerPool {
  std::vector<std::filesystem::path> files;  // sorted
  std::vector<int> labels;                   // index into kEmotionNames
  cv::Mat load(std::size_t i) const;         // 8-bit gray
};

// <split_dir>/<class>/*.jpg. max_per_class = 0: all.
FerPool list_fer_faces(const std::filesystem::path& split_dir, std::size_t max_per_class = 0);

// The FER root: $MOODTUNES_DATA/fer2013 when set, else <fallback>/fer2013.
std::filesystem::path fer_root(const std::filesystem::path& fallback_data_dir);

enum class Background { Gradient, Texture, Text, Clutter };
inline constexpr int kBackgroundKinds = 4;
const char* background_name(Background b);

// Small deterministic RNG (splitmix64), identical on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  double uniform(double lo, double hi);
  int uniform_int(int lo, int hi);  // inclusive
 private:
  std::uint64_t state_;
};

cv::Mat make_background(cv::Size size, Background kind, Rng& rng);

struct PlacedFace {
  cv::Rect2d fer_rect;  // the pasted FER square before rotation (its centre is the face centre)
  double angle_deg = 0;
  int label = -1;
  std::string source;
};

PlacedFace place_face(cv::Mat& frame, const cv::Mat& face_gray, cv::Point2d centre, double side, double angle_deg);

struct Scene {
  cv::Mat bgr;
  std::vector<PlacedFace> faces;
  Background background = Background::Gradient;
};

// One scene of the detection set. face_side = 0 gives a no-face scene; otherwise one face of
// that side at a random position, rotated by a random angle in [-max_angle, max_angle].
Scene detection_scene(const FerPool& pool, std::uint64_t seed, int index, int face_side, double max_angle = 15,
                      cv::Size frame = {640, 480});

// Does a detection box correspond to the placed face? Its centre lies within 0.25 side of the
// face centre and its width is 0.35..1.6 side (detectors frame faces differently).
bool matches(const cv::Rect& box, const PlacedFace& face);

// The model's steady reading of one face shown in several frames: the label of the mean of its
// probabilities and that label's margin over the runner-up. nullopt unless every frame holds
// exactly one detected face. Used to pick decisive faces for the stability test and bench.
struct SteadyReading {
  Emotion label;
  double margin;
};
std::optional<SteadyReading> steady_reading(const std::vector<cv::Mat>& frames, FaceDetector& detector,
                                            const EmotionClassifier& classifier);

}  // namespace moodtunes::vision::synth
