// libFuzzer target: vision::decode_image() (header sniffing, pixel cap, OpenCV decoders) on any
// bytes, under small limits so an input that slips past the cap shows up as an allocation
// over -malloc_limit_mb instead of taking the machine's memory.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <opencv2/core.hpp>

#include "vision/image_io.hpp"

using namespace moodtunes::vision;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool init = [] {
    cv::setNumThreads(0);  // decode on this thread: no pool for the leak checker to chase
    return true;
  }();
  (void)init;
  const std::span<const unsigned char> bytes(data, size);
  (void)read_image_header(bytes);
  DecodeLimits limits;
  limits.max_pixels = 1 << 20;       // 1 MP: 3 MiB of BGR
  limits.max_file_bytes = 1 << 20;
  try {
    const DecodedImage img = decode_image(bytes, limits);
    // The contract: a non-empty 8-bit BGR image within the pixel cap.
    if (img.bgr.empty() || img.bgr.type() != CV_8UC3 || static_cast<std::int64_t>(img.bgr.total()) > limits.max_pixels)
      std::abort();
  } catch (const ImageError&) {
  }
  return 0;
}
