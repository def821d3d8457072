// Playing a video file in the `live` window at its own frame rate.
//
// playback_fps(): the rate a video file is played at: its reported frame rate (CAP_PROP_FPS)
// when that is plausible (over 1 and under 1000 frames/s), else 30 (containers that report 0
// or nonsense).
// FramePacer: how long to wait before showing each frame so frames are shown 1/fps apart.
// Frames ready late are shown at once (wait 1 ms, never 0: cv::waitKey(0) blocks forever); a
// frame late by more than one period restarts the schedule from it, so a slow stretch is not
// followed by a burst of frames shown too fast to catch up. No frame is ever dropped.
// Contract: fps > 0; now_s non-decreasing (a steady clock, seconds). Plain value, not synchronised.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>

namespace moodtunes::vision {

inline double playback_fps(double reported) { return reported > 1 && reported < 1000 ? reported : 30; }

class FramePacer {
 public:
  explicit FramePacer(double fps) : period_s_(1.0 / fps) {}
  // Milliseconds to wait, from now_s, before showing the next frame (>= 1).
  int wait_ms(double now_s) {
    if (!due_s_ || now_s > *due_s_ + period_s_) due_s_ = now_s;
    const double wait_s = *due_s_ - now_s;
    *due_s_ += period_s_;
    return std::max(1, static_cast<int>(std::lround(wait_s * 1000)));
  }

 private:
  double period_s_;
  std::optional<double> due_s_;  // when the next frame is due
};

}  // namespace moodtunes::vision
