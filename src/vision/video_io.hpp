// Opening videos and cameras for the live pipeline with the same guards as photos
// (vision/image_io.hpp): the one place where frames enter from cv::VideoCapture.
//
// open_video(path): `path` must be a regular file (never a capture pipeline description, a URL
// or a device: OpenCV would otherwise hand such a string to GStreamer). A file that is an image
// (its header sniffed as JPEG, PNG, ...) is refused, since OpenCV's image-sequence reader would
// decode it with no pixel cap. Only the FFmpeg backend is used. The stream's frame size is
// checked against limits.max_pixels before the first frame is decoded.
// open_camera(index): a camera by index (index >= 0).
// read_frame(): the next frame; false at the end of a video, or when a camera gives nothing for
// ~1 s. Every frame is checked against the pixel cap too (a stream may change size).
// Errors: ImageError with a message for the user (no such file, an image, unsupported, too
// large, no camera). Thread-safety: a VideoSource is used by one thread.
#pragma once

#include <filesystem>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include "vision/image_io.hpp"

namespace moodtunes::vision {

struct VideoSource {
  cv::VideoCapture capture;
  bool camera = false;
  double fps = 0;  // as the stream declares it (0 when unknown, e.g. cameras)
  DecodeLimits limits{};
};

VideoSource open_video(const std::filesystem::path& path, const DecodeLimits& limits = {});
VideoSource open_camera(int index, const DecodeLimits& limits = {});
bool read_frame(VideoSource& source, cv::Mat& frame);

}  // namespace moodtunes::vision
