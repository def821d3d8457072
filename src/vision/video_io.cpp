#include "vision/video_io.hpp"

#include <array>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

namespace moodtunes::vision {

namespace {

void check_frame_size(double width, double height, const DecodeLimits& limits, const std::string& what) {
  if (width * height > static_cast<double>(limits.max_pixels))
    throw ImageError(what + ": frames of " + std::to_string(static_cast<long long>(width)) + "x" +
                     std::to_string(static_cast<long long>(height)) + " exceed the limit of " +
                     std::to_string(limits.max_pixels) + " pixels");
}

}  // namespace

VideoSource open_video(const std::filesystem::path& path, const DecodeLimits& limits) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw ImageError("no such video file: " + path.string());
  {
    std::array<unsigned char, 64> head{};
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(head.data()), head.size());
    if (const auto image = read_image_header(std::span(head.data(), static_cast<std::size_t>(in.gcount()))))
      throw ImageError(path.string() + " is a " + image->format + " image, not a video: give it as a photo");
  }
  VideoSource source;
  source.limits = limits;
  try {
    if (!source.capture.open(path.string(), cv::CAP_FFMPEG))
      throw ImageError("cannot open video " + path.string() + " (corrupt or unsupported format)");
  } catch (const cv::Exception& e) {
    throw ImageError("cannot open video " + path.string() + " (" + e.err + ")");
  }
  check_frame_size(source.capture.get(cv::CAP_PROP_FRAME_WIDTH), source.capture.get(cv::CAP_PROP_FRAME_HEIGHT), limits,
                   path.string());
  source.fps = source.capture.get(cv::CAP_PROP_FPS);
  return source;
}

VideoSource open_camera(int index, const DecodeLimits& limits) {
  VideoSource source;
  source.camera = true;
  source.limits = limits;
  if (index < 0 || !source.capture.open(index))
    throw ImageError("cannot open camera " + std::to_string(index) + " (is one connected, and may this user read /dev/video" +
                     std::to_string(index) + "?)");
  return source;
}

bool read_frame(VideoSource& source, cv::Mat& frame) {
  // Camera reads can fail transiently; give it ~1 s before declaring it gone.
  for (int attempt = 0; attempt < (source.camera ? 20 : 1); ++attempt) {
    bool ok = false;
    try {
      ok = source.capture.read(frame) && !frame.empty();
    } catch (const cv::Exception& e) {
      throw ImageError(std::string("corrupt video frame (") + e.err + ")");
    }
    if (ok) {
      check_frame_size(frame.cols, frame.rows, source.limits, "video");
      return true;
    }
    if (source.camera) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace moodtunes::vision
