// Safe image decoding for untrusted files (the `detect` command, tests).
//
// What it does: reads the width/height from the file header (JPEG, PNG, BMP, WebP, PNM, TIFF)
// WITHOUT decoding, refuses anything over the pixel cap (a decompression bomb never reaches the
// decoder; a header is read only where OpenCV's decoder for that format reads it, and a file
// OpenCV would hand to another decoder -- DICOM, GDAL -- is refused), then decodes with OpenCV
// into 8-bit BGR: EXIF orientation applied, grayscale expanded, alpha dropped, 16-bit reduced
// to 8-bit.
//
// Contract:
//   requires: nothing about the bytes (they may be empty, truncated, hostile).
//   ensures:  decode_image() returns a non-empty CV_8UC3 image with at most limits.max_pixels
//             pixels, or throws ImageError whose message says what is wrong (unknown format,
//             too large, corrupt). A JPEG without its end-of-image marker decodes (the missing
//             part is grey) and carries a "truncated" warning.
// Thread-safety: free functions without shared state; safe to call concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace moodtunes::vision {

class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ImageHeader {
  std::string format;  // "jpeg", "png", "bmp", "webp", "pnm", "tiff"
  std::int64_t width = 0;
  std::int64_t height = 0;
};

struct DecodeLimits {
  std::int64_t max_pixels = 50'000'000;         // ~50 MP: larger photos are refused
  std::int64_t max_file_bytes = 256ll << 20;     // 256 MiB
};

struct DecodedImage {
  cv::Mat bgr;  // CV_8UC3, orientation applied
  ImageHeader header;
  std::vector<std::string> warnings;
};

// Header sniffing only; nullopt when the format is unknown or the header is unreadable.
std::optional<ImageHeader> read_image_header(std::span<const unsigned char> bytes);

DecodedImage decode_image(std::span<const unsigned char> bytes, const DecodeLimits& limits = {});
DecodedImage read_image(const std::filesystem::path& path, const DecodeLimits& limits = {});

}  // namespace moodtunes::vision
