// Synthetic scenes for measuring and testing face detection: FER-2013 faces (read from the
// shared data folder, never copied) upscaled with INTER_CUBIC, rotated in-plane and blended onto
// generated backgrounds (gradients, textures, text, cluttered "photos" of shapes), plus scenes
// with no face; and group scenes of several small real faces (group_scene()). Everything is a
// deterministic function of (seed, index) and the sorted file list, so the detection sets are
// "kept in the repo as a generator".
//
// Contract: list_fer_faces() throws std::runtime_error when the folder has no images.
// group_scene() throws std::invalid_argument without located faces or with bad sizes.
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

namespace moodtunes::test {

struct FerPool {
  std::vector<std::filesystem::path> files;  // sorted
  std::vector<int> labels;                   // index into kEmotionNames
  cv::Mat load(std::size_t i) const;         // 8-bit gray
};

// <split_dir>/<class>/*.jpg. max_per_class = 0: all.
FerPool list_fer_faces(const std::filesystem::path& split_dir, std::size_t max_per_class = 0);

// The FER root: $MOODTUNES_DATA/fer2013 when set, else <fallback>/fer2013.
std::filesystem::path fer_root(const std::filesystem::path& fallback_data_dir);

enum class Background { kGradient, kTexture, kText, kClutter };
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
  Background background = Background::kGradient;
};

// One scene of the detection set. face_side = 0 gives a no-face scene; otherwise one face of
// that side at a random position, rotated by a random angle in [-max_angle, max_angle].
Scene detection_scene(const FerPool& pool, std::uint64_t seed, int index, int face_side, double max_angle = 15,
                      cv::Size frame = {640, 480});

// Group photos with small faces: real face photos (a folder of <class>/*.jpg, e.g. the shared
// realfaces/val: grayscale face crops 224-350 px) pasted several to a scene at face sizes of
// tens of pixels. A face's size is the width of the box a reference detector finds on its photo
// (shown upright, at its own size, on a grey margin), so sizes mean what a detector's boxes
// mean; photos where the reference finds no single face, or (when `also` is given) where that
// second detector finds none at the same place, are not used. With `also` = the Haar cascade
// this is the detection set's "frontal" screen (docs/vision.md): faces both families see.
struct SourceFace {
  std::size_t index = 0;  // into the pool
  cv::Rect2d box;         // the reference detector's face box in the photo
};
// The realfaces root: $MOODTUNES_DATA/realfaces when set, else <fallback>/realfaces.
std::filesystem::path realfaces_root(const std::filesystem::path& fallback_data_dir);
// Locates the face of each photo in `pool` (in order) until `max_count` are found (0: all).
std::vector<SourceFace> locate_faces(const FerPool& pool, vision::FaceDetector& reference, vision::FaceDetector* also = nullptr,
                                     std::size_t max_count = 0);

// A scene of `count` faces drawn from `faces`, each scaled so its face is min_side..max_side px
// (uniform), rolled uniformly in +-max_angle, at non-overlapping places (each face's photo kept
// clear of the others), blended with a soft edge onto a background of the detection set.
// PlacedFace::fer_rect is the face's square (side = face size, centred on the face). Fewer
// faces when they do not fit. Deterministic in (seed, index) and the arguments.
Scene group_scene(const FerPool& pool, const std::vector<SourceFace>& faces, std::uint64_t seed, int index, int count,
                  double min_side, double max_side, double max_angle = 10, cv::Size frame = {640, 480});

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
std::optional<SteadyReading> steady_reading(const std::vector<cv::Mat>& frames, vision::FaceDetector& detector,
                                            const EmotionClassifier& classifier);

}  // namespace moodtunes::test
