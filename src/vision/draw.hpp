// Drawing readings on a frame (for `detect --annotate` and the `live` window).
// annotate() draws, in place on a CV_8UC3 image: each face's box and its label (face_label()),
// a bar chart of its 7 smoothed probabilities beside the box (when show_bars), the group
// reading and, when fps > 0, the frame rate. Pure drawing; thread-safe on distinct images.
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "vision/pipeline.hpp"

namespace moodtunes::vision {

// The text shown above a face: "#id emotion NN%" ("emotion NN%" when track_id is 0), where NN
// is the shown label's own share of the smoothed probabilities, the same numbers the bars draw.
// In live mode the label is held by hysteresis (tracker.hpp), so another class's bar can be
// longer; the label then reads "#id sad (held) 33%", so the text never contradicts the bars.
std::string face_label(const FaceReading& face);

void annotate(cv::Mat& bgr, const FrameReading& reading, bool show_bars = true, double fps = 0);

}  // namespace moodtunes::vision
