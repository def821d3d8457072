// The real-time pipeline: frame -> faces -> FER crops -> probabilities -> tracked, smoothed
// emotion per face + a group reading for the frame. Also the one-shot analyse_image() used by
// `moodtunes detect`.
//
// Schedule (what makes it fast; measured in bench/vision, documented in docs/vision.md):
//   * full detection (PipelineParams::detector on the whole frame, rotated by the next angle of
//     `roll_cycle`) every `full_detect_every` frames while faces are tracked, every
//     `idle_detect_every` frames while none are;
//   * in between, each track is searched for only near its last box (local HOG search on a
//     crop of `local_region` x the box, rescaled so the face is ~`local_face_px` and rotated
//     by the track's roll);
//   * a tracked face is classified when new (through all `reading_views` at once), every
//     `classify_every` frames, or sooner when its box moved or changed size by more than
//     `reclassify_move` of its width; each later reading takes the next view of `reading_views`,
//     one pass, and the smoother averages them.
// The smoothed label therefore lags a real change by up to classify_every frames plus the
// smoother's response (EMA, margin and minimum lead, tracker.hpp); `vision_bench stability`
// measures it (docs/vision.md).
//
// Contract: process() takes a non-empty 8-bit image (gray/BGR/BGRA) and its capture time in
// seconds (non-decreasing). Faces in the result are largest first.
// Ownership/thread-safety: a Pipeline borrows the classifier (which must outlive it) and owns
// its detectors and tracks; use one Pipeline per video stream and per thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "core/emotion.hpp"
#include "model/classifier.hpp"
#include "vision/face_detector.hpp"
#include "vision/tracker.hpp"

namespace moodtunes::vision {

struct FaceReading {
  int track_id = 0;       // 0 in one-shot analysis
  cv::Rect box;           // detector box in frame pixels
  EmotionProbs probs{};   // latest classification of this face
  EmotionProbs smoothed{};
  Emotion emotion = Emotion::kNeutral;  // smoothed label (hysteresis) in live mode, argmax otherwise
  bool classified_now = false;
};

struct GroupReading {
  EmotionProbs probs{};  // mean of the faces' (smoothed) probabilities weighted by box area
  Emotion emotion = Emotion::kNeutral;
};

struct FrameReading {
  std::vector<FaceReading> faces;
  std::optional<GroupReading> group;  // nullopt when no face
  bool full_detection = false;
  bool held_back = false;  // analyse_image: the faces are ones the detector held back (report_held_back)
  // analyse_image without report_held_back, no face found: how many the detector held back (a
  // lone small face that the caller's option for them would report).
  std::size_t faces_held_back = 0;
};

struct PipelineParams {
  std::string detector = "hog";  // one rotation per full detection: see roll_cycle
  int full_detect_every = 15;
  int idle_detect_every = 3;
  int classify_every = 5;
  // Full detections cycle through these frame rotations (degrees), so faces rolled beyond
  // HOG's ~10 degrees are found within len(roll_cycle) full detections at one pass's cost.
  std::vector<double> roll_cycle = {0, -12, 12};
  double reclassify_move = 0.15;
  double local_region = 1.8;
  double local_face_px = 90;
  // Pyramid levels of the local search (0 = all): a face rescaled to ~local_face_px needs the
  // levels for 80 to ~120 px only (docs/vision.md, "Speed").
  int local_pyramid_levels = 3;
  bool level_crops = false;  // see analyse_image(); the roll still steers the local search
  // Each reading of a tracked face classifies the next view of this augmentation (one pass per
  // reading), so the smoother's average over readings is an augmented reading at no extra cost
  // per frame. None: the plain crop every time.
  TestTimeAugmentation reading_views = TestTimeAugmentation::kTenCrop;
  // A new face's first reading averages all those views in one batch (10 passes for ten-crop,
  // once per face): the label the smoother starts from, and holds by its hysteresis, is then
  // the augmented reading rather than one view's.
  bool first_reading_all_views = true;
  TrackerParams tracker;
  SmoothingParams smoothing;
};

std::optional<GroupReading> group_reading(const std::vector<FaceReading>& faces, bool use_smoothed);

// One image, no tracking: detect, crop like FER, classify all faces in one batch. Detection runs
// on a copy scaled so the longest side is at most max_detect_side (0 = never scale): faces
// smaller than ~80 px in that copy are not found, crops come from the full image.
inline constexpr int kMaxDetectSide = 2000;
// HOG below its usual threshold, also at +-15 degrees of roll.
inline constexpr std::string_view kLenientCropDetector = "hog~-0.2+rot=15";
struct ImageAnalysisOptions {
  int max_detect_side = kMaxDetectSide;
  // Crop a rolled face in its upright frame (FaceBox::angle). Off: on faces rolled up to 15
  // degrees it did not change accuracy (docs/vision.md, "The crop").
  bool level_crops = false;
  // A photo is read once, so it gets ten-crop TTA: its shifted views absorb the detector's
  // framing error (`vision_bench crop-gap`, docs/vision.md) for ~10x the classifier time.
  // The live pipeline spreads the views over a face's readings instead (PipelineParams::reading_views).
  TestTimeAugmentation tta = TestTimeAugmentation::kTenCrop;
  // With no face found, read the image as a tight face crop (a cropped selfie): detect again in it
  // framed by a plain border, keeping only a face of at least kCropRetryMinShare of its short side.
  bool retry_as_crop = true;
  // When the photo detector finds no face in the framed crop either (a face HOG scores just under
  // its threshold, or rolled, that fills the image), a lenient detector looks once more, and only
  // a face placed as a crop's face is kept (kLenientCropGate): `vision_bench crop-retry`,
  // docs/vision.md. Empty: no third look. Costs a detector's construction and one search, only
  // on images with no face found; a description make_detector() refuses throws its
  // std::invalid_argument from analyse_image() then.
  std::string lenient_crop_detector = std::string(kLenientCropDetector);
  // With no face found, take the faces the detector held back (FaceDetector::held_back(): the
  // photo default's lone small face, a person far away) before the crop retries, and say so
  // (FrameReading::held_back). With kDefaultDetector this finds what kLoneSmallFacesDetector
  // would, at no second search; off by default, since such a lone box is more often text or
  // texture than a face.
  bool report_held_back = false;
};

// Which faces a tight-crop search keeps, in units of the image's short side: width in
// [min_share, max_share] and centre within max_offset of the image's centre on each axis.
struct TightCropGate {
  double min_share = 0.4;
  double max_share = 1e9;
  double max_offset = 1e9;
};
inline constexpr double kCropRetryMinShare = TightCropGate{}.min_share;
// The lenient look keeps only a face as a crop holds it: about as wide as the image (a HOG box
// spans brows to chin, so 0.8-1.2 of a tight crop's side) and centred. On no-face images this gate
// is what keeps it from adding false faces (`vision_bench crop-retry`).
inline constexpr TightCropGate kLenientCropGate{.min_share = 0.75, .max_share = 1.2, .max_offset = 0.2};
// The framed crop is searched at this longest side: its faces are large, so this bounds the retry's
// cost on a big photo with no face.
inline constexpr int kCropRetryDetectSide = 800;

// The retry's search on its own (analyse_image runs it when the photo detector finds no face):
// `gray` (CV_8UC1, non-empty) scaled so that, framed, it is at most kCropRetryDetectSide, framed
// by a border of its mean grey, and searched by `detector`; only faces `gate` lets through are
// kept. `boxes` are in `framed`'s coordinates; a point p of `framed` is (p - (offset, offset)) /
// scale in `gray`.
struct TightCropSearch {
  cv::Mat framed;
  int offset = 0;
  double scale = 1;
  std::vector<FaceBox> boxes;
};
TightCropSearch search_as_tight_crop(const cv::Mat& gray, FaceDetector& detector, const TightCropGate& gate = {});
// Where a box of `search` sits, in units of the searched image's short side: its width
// (`share`, of its shorter edge) and its centre's offset from the image's centre. What the gate
// tests.
struct CropPlacement {
  double share = 0;
  cv::Point2d offset;
};
CropPlacement crop_placement(const TightCropSearch& search, const cv::Rect& box);

FrameReading analyse_image(const cv::Mat& image, FaceDetector& detector, const EmotionClassifier& classifier,
                           const ImageAnalysisOptions& options = {});

class Pipeline {
 public:
  Pipeline(const EmotionClassifier& classifier, PipelineParams params = {});
  FrameReading process(const cv::Mat& frame, double time_s);
  const PipelineParams& params() const { return params_; }

 private:
  void full_detection(const cv::Mat& gray);
  void local_search(const cv::Mat& gray);
  void classify_due(const cv::Mat& gray, double time_s);
  FrameReading reading(bool full) const;

  const EmotionClassifier* classifier_;
  PipelineParams params_;
  std::unique_ptr<FaceDetector> detector_;
  std::unique_ptr<FaceDetector> local_;
  Tracker tracker_;
  long frame_index_ = 0;
  long last_full_ = -(1l << 30);
  long full_count_ = 0;
};

}  // namespace moodtunes::vision
