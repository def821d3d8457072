// Face tracks across frames and emotion smoothing per track.
//
// Tracker: gives each face a stable id. update() associates this frame's boxes with the live
// tracks greedily by IoU (highest pair first, pairs below TrackerParams::match_iou never match);
// a matched track takes the new box; an unmatched box starts a new track (when allowed); a
// track unmatched for more than max_missed consecutive updates is dropped. Ids start at 1 and
// are never reused within one Tracker.
//
// EmotionSmoother: an exponential moving average of a face's probabilities, with a time
// constant (so it behaves the same whatever the frame or classification rate), and hysteresis
// on the label: the label switches when another class's smoothed probability has beaten the
// current label's by `hysteresis` for `min_lead_s`, or has led it by any amount for `patience_s`.
// Parameters and their effect: docs/vision.md.
//   After a change from a confident class A to a confident class B, B takes over after about
//   1.4 * tau + min_lead_s (+ the classification interval): ~0.7 s with the defaults. A new
//   reading that beats the old label by less than the hysteresis takes over once it has led for
//   patience_s (without it, the label would never follow such a change).
//
// Thread-safety: plain values; not synchronised.
#pragma once

#include <optional>
#include <vector>

#include <opencv2/core.hpp>

#include "core/emotion.hpp"
#include "vision/face_detector.hpp"

namespace moodtunes::vision {

struct SmoothingParams {
  double tau_s = 0.3;        // EMA time constant, seconds
  // Margin a new label needs over the current one (probability): wide enough to hold the label
  // of a face the model reads ambiguously, narrow enough that a clear change shows within 1 s
  // (`vision_bench stability`; docs/vision.md, "Tracking, schedule and smoothing").
  double hysteresis = 0.25;
  // How long a new label must keep that margin before it is shown, seconds: a reading that
  // wavers between two classes for less than this does not move the label.
  double min_lead_s = 0.3;
  // How long another class must lead the label, by any margin, to take it anyway, seconds
  // (infinity = never): the hysteresis alone would hold a label for good against a new
  // expression the model reads less one-sidedly than the margin.
  double patience_s = 1.5;
};

class EmotionSmoother {
 public:
  explicit EmotionSmoother(SmoothingParams p = {}) : params_(p) {}
  // Adds a reading taken at time t (seconds, non-decreasing).
  void add(const EmotionProbs& probs, double t);
  bool empty() const { return !last_time_; }
  const EmotionProbs& smoothed() const { return smoothed_; }
  Emotion label() const { return label_; }

 private:
  SmoothingParams params_;
  EmotionProbs smoothed_{};
  Emotion label_ = Emotion::kNeutral;
  std::optional<double> last_time_;
  std::optional<Emotion> challenger_;  // the class leading the label by the margin, and since when
  double challenger_since_ = 0;
  std::optional<Emotion> leader_;  // the class leading the label by any amount, and since when
  double leader_since_ = 0;
};

struct TrackerParams {
  double match_iou = 0.3;  // minimum IoU for a box to continue a track
  int max_missed = 10;     // updates a track survives unseen (1/3 s at 30 fps)
};

struct Track {
  int id = 0;
  cv::Rect box;
  double angle = 0;  // face roll from the detection that last matched (FaceBox::angle)
  int missed = 0;  // consecutive updates without a match
  int age = 0;     // updates since creation
  // Classification bookkeeping (used by the pipeline).
  EmotionSmoother smoother;
  EmotionProbs last_probs{};
  cv::Rect classified_box;
  int frames_since_classified = 1 << 20;
  int readings = 0;  // classifications so far (picks the next view, PipelineParams::reading_views)
};

double iou(const cv::Rect& a, const cv::Rect& b);

class Tracker {
 public:
  explicit Tracker(TrackerParams p = {}, SmoothingParams s = {}) : params_(p), smoothing_(s) {}
  // Associates `boxes`; returns, for each box, the id of the track it now belongs to (0 when it
  // was not matched and new tracks were not allowed).
  std::vector<int> update(const std::vector<FaceBox>& faces, bool allow_new_tracks = true);
  std::vector<int> update(const std::vector<cv::Rect>& boxes, bool allow_new_tracks = true);
  std::vector<Track>& tracks() { return tracks_; }
  const std::vector<Track>& tracks() const { return tracks_; }

 private:
  TrackerParams params_;
  SmoothingParams smoothing_;
  std::vector<Track> tracks_;
  int next_id_ = 1;
};

}  // namespace moodtunes::vision
