#include "vision/image_io.hpp"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string_view>
#include <utility>

#include <opencv2/imgcodecs.hpp>

namespace moodtunes::vision {
namespace {

using Bytes = std::span<const unsigned char>;

std::uint32_t be16(Bytes b, std::size_t i) { return (std::uint32_t{b[i]} << 8) | b[i + 1]; }
std::uint32_t be32(Bytes b, std::size_t i) { return (be16(b, i) << 16) | be16(b, i + 2); }
std::uint32_t le16(Bytes b, std::size_t i) { return (std::uint32_t{b[i + 1]} << 8) | b[i]; }
std::uint32_t le32(Bytes b, std::size_t i) { return (le16(b, i + 2) << 16) | le16(b, i); }

// `magic` with its whole length: the TIFF magics hold a NUL, so strlen() would cut them to "II*"
// and "MM", and any file starting so would pass as a TIFF to OpenCV, which picks its decoder by
// its own signatures (a DICOM one allocated GBs; fuzz/fuzz_image).
bool starts_with(Bytes b, std::size_t at, std::string_view magic) {
  return b.size() >= at + magic.size() && std::memcmp(b.data() + at, magic.data(), magic.size()) == 0;
}

std::optional<ImageHeader> jpeg_header(Bytes b) {
  std::size_t i = 2;  // after SOI
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) return std::nullopt;
    const unsigned marker = b[i + 1];
    if (marker == 0xFF) { ++i; continue; }  // fill byte
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { i += 2; continue; }
    const std::size_t len = be16(b, i + 2);
    if (len < 2) return std::nullopt;
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (i + 9 > b.size()) return std::nullopt;
      return ImageHeader{"jpeg", be16(b, i + 7), be16(b, i + 5)};
    }
    if (marker == 0xD9 || marker == 0xDA) return std::nullopt;  // EOI/SOS before any SOF
    i += 2 + len;
  }
  return std::nullopt;
}

std::optional<ImageHeader> webp_header(Bytes b) {
  if (starts_with(b, 12, "VP8 ") && b.size() >= 30 && b[23] == 0x9D && b[24] == 0x01 && b[25] == 0x2A)
    return ImageHeader{"webp", le16(b, 26) & 0x3FFF, le16(b, 28) & 0x3FFF};
  if (starts_with(b, 12, "VP8L") && b.size() >= 25 && b[20] == 0x2F) {
    const std::uint32_t v = le32(b, 21);
    return ImageHeader{"webp", (v & 0x3FFF) + 1, ((v >> 14) & 0x3FFF) + 1};
  }
  if (starts_with(b, 12, "VP8X") && b.size() >= 30) {
    const auto w = (std::uint32_t{b[24]} | (std::uint32_t{b[25]} << 8) | (std::uint32_t{b[26]} << 16)) + 1;
    const auto h = (std::uint32_t{b[27]} | (std::uint32_t{b[28]} << 8) | (std::uint32_t{b[29]} << 16)) + 1;
    return ImageHeader{"webp", w, h};
  }
  return std::nullopt;
}

// P1..P6: magic, then width and height as ASCII, with '#' comments allowed between tokens.
std::optional<ImageHeader> pnm_header(Bytes b) {
  std::size_t i = 2;
  std::int64_t dims[2] = {0, 0};
  for (auto& d : dims) {
    while (i < b.size() && (std::isspace(b[i]) || b[i] == '#')) {
      // A comment ends at LF or CR, as OpenCV's PNM reader ends it: otherwise "#\r<w> <h>\n"
      // hides the size OpenCV decodes behind a small one it never reads (fuzz/fuzz_image).
      if (b[i] == '#') while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
      else ++i;
    }
    std::size_t digits = 0;
    while (i < b.size() && std::isdigit(b[i]) && digits < 10) d = d * 10 + (b[i++] - '0'), ++digits;
    if (digits == 0 || digits == 10) return std::nullopt;
    // OpenCV's reader consumes the character that ends a number, whatever it is: in "22222#2226\n"
    // the '#' opens no comment, and 2226 is the height it decodes (fuzz/fuzz_image).
    if (i < b.size()) ++i;
  }
  return ImageHeader{"pnm", dims[0], dims[1]};
}

std::optional<ImageHeader> tiff_header(Bytes b) {
  const bool le = b[0] == 'I';
  auto u16 = [&](std::size_t i) { return le ? le16(b, i) : be16(b, i); };
  auto u32 = [&](std::size_t i) { return le ? le32(b, i) : be32(b, i); };
  const std::size_t ifd = u32(4);
  if (ifd + 2 > b.size()) return std::nullopt;
  const std::size_t n = u16(ifd);
  ImageHeader h{"tiff", 0, 0};
  bool seen[2] = {false, false};
  for (std::size_t k = 0; k < n && ifd + 2 + 12 * (k + 1) <= b.size(); ++k) {
    const std::size_t e = ifd + 2 + 12 * k;
    const std::uint32_t tag = u16(e), type = u16(e + 2);
    if (tag != 256 && tag != 257) continue;
    // The width or height twice, or in a type read here as 0, is refused: libtiff decodes the
    // first of two, so reading the last let a small size hide a huge one (fuzz/fuzz_image).
    std::int64_t& dim = tag == 256 ? h.width : h.height;
    if (std::exchange(seen[tag - 256], true) || (type != 3 && type != 4) || u32(e + 4) != 1) return std::nullopt;
    dim = type == 3 ? u16(e + 8) : u32(e + 8);
  }
  if (h.width <= 0 || h.height <= 0) return std::nullopt;
  return h;
}

bool jpeg_has_end_marker(Bytes b) {
  // Allow a little trailing padding after EOI, as some encoders write.
  const std::size_t from = b.size() > 4096 ? b.size() - 4096 : 0;
  for (std::size_t i = b.size(); i-- > from + 1;)
    if (b[i - 1] == 0xFF && b[i] == 0xD9) return true;
  return false;
}

}  // namespace

std::optional<ImageHeader> read_image_header(Bytes b) {
  if (b.size() < 12) return std::nullopt;
  // OpenCV picks its decoder by its own signatures, in its own order, and two sit past offset 0:
  // DICOM ("DICM" at 128, tried right after BMP) and GDAL ("DTED" at 140, tried last; it writes a
  // temp file and lets every GDAL driver parse it). A file carrying them would reach those
  // decoders whatever the header says (fuzz/fuzz_image: GBs allocated by the DICOM reader).
  if (starts_with(b, 128, "DICM") || starts_with(b, 140, "DTED")) return std::nullopt;
  if (b[0] == 0xFF && b[1] == 0xD8) return jpeg_header(b);
  if (starts_with(b, 0, "\x89PNG\r\n\x1a\n")) {
    if (b.size() < 24 || !starts_with(b, 12, "IHDR")) return std::nullopt;
    return ImageHeader{"png", be32(b, 16), be32(b, 20)};
  }
  if (starts_with(b, 0, "BM") && b.size() >= 26) {
    if (le32(b, 14) == 12) return ImageHeader{"bmp", le16(b, 18), le16(b, 20)};
    const auto w = static_cast<std::int32_t>(le32(b, 18)), h = static_cast<std::int32_t>(le32(b, 22));
    return ImageHeader{"bmp", std::abs(static_cast<std::int64_t>(w)), std::abs(static_cast<std::int64_t>(h))};
  }
  if (starts_with(b, 0, "RIFF") && starts_with(b, 8, "WEBP")) return webp_header(b);
  // As OpenCV's PNM signature: a space after the magic, else OpenCV would not read it as PNM.
  if (b[0] == 'P' && b[1] >= '1' && b[1] <= '6' && std::isspace(b[2])) return pnm_header(b);
  using namespace std::string_view_literals;
  if (starts_with(b, 0, "II*\0"sv) || starts_with(b, 0, "MM\0*"sv)) return tiff_header(b);
  return std::nullopt;
}

DecodedImage decode_image(Bytes bytes, const DecodeLimits& limits) {
  if (bytes.empty()) throw ImageError("empty file");
  if (static_cast<std::int64_t>(bytes.size()) > limits.max_file_bytes)
    throw ImageError("file too large (" + std::to_string(bytes.size()) + " bytes)");
  const auto header = read_image_header(bytes);
  if (!header)
    throw ImageError("not a readable image (unknown format or corrupt header; supported: JPEG, PNG, BMP, WebP, PNM, TIFF)");
  if (header->width <= 0 || header->height <= 0)
    throw ImageError("corrupt " + header->format + " header (zero size)");
  // Divided, not multiplied: two 32-bit sides multiply past int64 and wrap (fuzz/fuzz_image).
  if (header->width > limits.max_pixels / header->height)
    throw ImageError("image too large: " + std::to_string(header->width) + "x" + std::to_string(header->height) +
                     " exceeds the limit of " + std::to_string(limits.max_pixels) + " pixels");
  DecodedImage out;
  out.header = *header;
  if (header->format == "jpeg" && !jpeg_has_end_marker(bytes))
    out.warnings.emplace_back("truncated JPEG: the missing part of the image is grey");
  const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U, const_cast<unsigned char*>(bytes.data()));
  try {
    // IMREAD_COLOR: 8-bit BGR, EXIF orientation applied, gray expanded, alpha dropped, 16 -> 8 bit.
    out.bgr = cv::imdecode(buf, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw ImageError("corrupt " + header->format + " data (" + e.err + ")");
  }
  if (out.bgr.empty()) throw ImageError("corrupt or truncated " + header->format + " data");
  if (static_cast<std::int64_t>(out.bgr.total()) > limits.max_pixels)
    throw ImageError("decoded image exceeds the pixel limit");
  return out;
}

DecodedImage read_image(const std::filesystem::path& path, const DecodeLimits& limits) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw ImageError("no such file: " + path.string());
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw ImageError("cannot stat " + path.string() + ": " + ec.message());
  if (static_cast<std::int64_t>(size) > limits.max_file_bytes)
    throw ImageError("file too large (" + std::to_string(size) + " bytes): " + path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError("cannot open " + path.string());
  std::vector<unsigned char> bytes(size);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    throw ImageError("cannot read " + path.string());
  return decode_image(bytes, limits);
}

}  // namespace moodtunes::vision
