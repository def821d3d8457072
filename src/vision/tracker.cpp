#include "vision/tracker.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace moodtunes::vision {

double iou(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  return inter > 0 ? inter / (double(a.area()) + b.area() - inter) : 0.0;
}

void EmotionSmoother::add(const EmotionProbs& probs, double t) {
  if (!last_time_) {
    smoothed_ = probs;
    label_ = argmax(probs);
  } else {
    const double dt = std::max(0.0, t - *last_time_);
    const double alpha = 1.0 - std::exp(-dt / params_.tau_s);
    for (std::size_t c = 0; c < kNumEmotions; ++c)
      smoothed_[c] = static_cast<float>(smoothed_[c] + alpha * (probs[c] - smoothed_[c]));
    const Emotion best = argmax(smoothed_);
    const float lead = smoothed_[static_cast<int>(best)] - smoothed_[static_cast<int>(label_)];
    if (best == label_) {
      leader_.reset();
    } else if (leader_ != best) {
      leader_ = best, leader_since_ = t;
    }
    if (lead > params_.hysteresis) {
      if (challenger_ != best) challenger_ = best, challenger_since_ = t;
    } else {
      challenger_.reset();
    }
    const bool kept_margin = challenger_ && t - challenger_since_ >= params_.min_lead_s;
    const bool kept_lead = leader_ && t - leader_since_ >= params_.patience_s;
    if (kept_margin || kept_lead) label_ = best, challenger_.reset(), leader_.reset();
  }
  last_time_ = t;
}

std::vector<int> Tracker::update(const std::vector<cv::Rect>& boxes, bool allow_new_tracks) {
  std::vector<FaceBox> faces;
  faces.reserve(boxes.size());
  for (const auto& b : boxes) faces.push_back({b, 0, 0});
  return update(faces, allow_new_tracks);
}

std::vector<int> Tracker::update(const std::vector<FaceBox>& faces, bool allow_new_tracks) {
  std::vector<std::tuple<double, std::size_t, std::size_t>> pairs;  // (iou, track, box)
  for (std::size_t t = 0; t < tracks_.size(); ++t)
    for (std::size_t b = 0; b < faces.size(); ++b)
      if (const double o = iou(tracks_[t].box, faces[b].box); o >= params_.match_iou) pairs.emplace_back(o, t, b);
  std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });

  std::vector<int> ids(faces.size(), 0);
  std::vector<bool> track_used(tracks_.size(), false);
  for (const auto& [o, t, b] : pairs) {
    if (track_used[t] || ids[b]) continue;
    track_used[t] = true;
    ids[b] = tracks_[t].id;
    tracks_[t].box = faces[b].box;
    tracks_[t].angle = faces[b].angle;
    tracks_[t].missed = 0;
  }
  for (std::size_t t = 0; t < tracks_.size(); ++t) {
    ++tracks_[t].age;
    if (!track_used[t]) ++tracks_[t].missed;
  }
  std::erase_if(tracks_, [&](const Track& tr) { return tr.missed > params_.max_missed; });
  for (std::size_t b = 0; b < faces.size(); ++b) {
    if (ids[b] || !allow_new_tracks) continue;
    Track tr;
    tr.id = next_id_++;
    tr.box = faces[b].box;
    tr.angle = faces[b].angle;
    tr.smoother = EmotionSmoother(smoothing_);
    tracks_.push_back(tr);
    ids[b] = tracks_.back().id;
  }
  return ids;
}

}  // namespace moodtunes::vision
