// Drawing readings on a frame (for `detect --annotate` and the `live` window).
// annotate() draws, in place on a CV_8UC3 image: each face's box and a label "#id emotion
// 87%", a bar chart of its 7 probabilities beside the box (when show_bars), the group reading
// and, when fps > 0, the frame rate. Pure drawing; thread-safe on distinct images.
#pragma once

#include <opencv2/core.hpp>

#include "vision/pipeline.hpp"

namespace moodtunes::vision {

void annotate(cv::Mat& bgr, const FrameReading& reading, bool show_bars = true, double fps = 0);

}  // namespace moodtunes::vision
