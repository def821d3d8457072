// Safe decoding: header sniffing per format, the pixel cap before decoding, corrupt/truncated
// data, grayscale/RGBA/16-bit inputs and EXIF orientation.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vision/image_io.hpp"

using namespace moodtunes::vision;

namespace {

std::vector<unsigned char> encode(const cv::Mat& img, const std::string& ext) {
  std::vector<unsigned char> buf;
  EXPECT_TRUE(cv::imencode(ext, img, buf)) << ext;
  return buf;
}

cv::Mat pattern(int w, int h, int type = CV_8UC3) {
  cv::Mat img(h, w, type);
  cv::randu(img, cv::Scalar::all(0), cv::Scalar::all(type == CV_16UC1 ? 65535 : 255));
  return img;
}

void put_be32(std::vector<unsigned char>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<unsigned char>(v >> (24 - 8 * i));
}

// Inserts an APP1 Exif segment with one Orientation tag right after SOI.
std::vector<unsigned char> with_exif_orientation(const std::vector<unsigned char>& jpeg, std::uint16_t orientation) {
  const unsigned char tiff[] = {'M', 'M', 0, 42, 0, 0, 0, 8,                // header, IFD at 8
                                0, 1,                                      // one entry
                                0x01, 0x12, 0, 3, 0, 0, 0, 1,              // Orientation, SHORT, 1
                                static_cast<unsigned char>(orientation >> 8), static_cast<unsigned char>(orientation), 0, 0,
                                0, 0, 0, 0};                               // no next IFD
  std::vector<unsigned char> app1 = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
  app1.insert(app1.end(), std::begin(tiff), std::end(tiff));
  const std::size_t len = app1.size() - 2;
  app1[2] = static_cast<unsigned char>(len >> 8);
  app1[3] = static_cast<unsigned char>(len);
  std::vector<unsigned char> out;
  out.reserve(jpeg.size() + app1.size());
  out.push_back(jpeg[0]);
  out.push_back(jpeg[1]);
  for (unsigned char c : app1) out.push_back(c);
  for (std::size_t i = 2; i < jpeg.size(); ++i) out.push_back(jpeg[i]);
  return out;
}

}  // namespace

TEST(ImageHeader, ReadsDimensionsOfEveryFormatWithoutDecoding) {
  const cv::Mat img = pattern(123, 45);
  for (const std::string ext : {".jpg", ".png", ".bmp", ".webp", ".ppm", ".tiff"}) {
    const auto h = read_image_header(encode(img, ext));
    ASSERT_TRUE(h) << ext;
    EXPECT_EQ(h->width, 123) << ext;
    EXPECT_EQ(h->height, 45) << ext;
  }
  const auto lossless = read_image_header(encode(img, ".webp"));  // default quality: lossy VP8
  ASSERT_TRUE(lossless);
  std::vector<unsigned char> buf;
  ASSERT_TRUE(cv::imencode(".webp", img, buf, {cv::IMWRITE_WEBP_QUALITY, 101}));  // lossless VP8L
  const auto vp8l = read_image_header(buf);
  ASSERT_TRUE(vp8l);
  EXPECT_EQ(vp8l->width, 123);
  EXPECT_EQ(vp8l->height, 45);
}

TEST(DecodeImage, DecompressionBombIsRefusedBeforeDecoding) {
  // A real, tiny PNG whose header is rewritten to claim 100000 x 100000 pixels (10 GP).
  auto png = encode(pattern(16, 16), ".png");
  put_be32(png, 16, 100000);
  put_be32(png, 20, 100000);
  try {
    decode_image(png);
    FAIL() << "bomb decoded";
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("too large"), std::string::npos) << e.what();
  }
  // A genuinely large image just over a small cap is refused too; under the cap it decodes.
  const auto jpg = encode(pattern(400, 300), ".jpg");
  EXPECT_THROW(decode_image(jpg, DecodeLimits{.max_pixels = 400 * 300 - 1}), ImageError);
  EXPECT_EQ(decode_image(jpg, DecodeLimits{.max_pixels = 400 * 300}).bgr.cols, 400);
}

TEST(DecodeImage, GarbageEmptyAndUnknownFormatsGiveClearErrors) {
  EXPECT_THROW(decode_image({}), ImageError);
  std::vector<unsigned char> junk(1000);
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<unsigned char>(i * 7919 % 251);
  try {
    decode_image(junk);
    FAIL();
  } catch (const ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("not a readable image"), std::string::npos);
  }
  EXPECT_THROW(read_image("/nonexistent/face.jpg"), ImageError);
}

TEST(DecodeImage, TruncatedFiles) {
  const auto jpg = encode(pattern(200, 150), ".jpg");
  // A JPEG cut in half decodes (the rest is grey) and says so; cut inside the header it fails.
  const std::vector<unsigned char> half(jpg.begin(), jpg.begin() + static_cast<long>(jpg.size() / 2));
  const auto d = decode_image(half);
  EXPECT_EQ(d.bgr.size(), cv::Size(200, 150));
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_NE(d.warnings[0].find("truncated"), std::string::npos);
  EXPECT_THROW(decode_image(std::vector<unsigned char>(jpg.begin(), jpg.begin() + 40)), ImageError);
  EXPECT_TRUE(decode_image(jpg).warnings.empty());
  // A truncated PNG cannot be decoded: an error, not a crash.
  const auto png = encode(pattern(200, 150), ".png");
  EXPECT_THROW(decode_image(std::vector<unsigned char>(png.begin(), png.begin() + static_cast<long>(png.size() / 2))), ImageError);
}

TEST(DecodeImage, GrayRgbaAnd16BitBecome8BitBgr) {
  cv::Mat gray(30, 40, CV_8UC1, cv::Scalar(77));
  auto d = decode_image(encode(gray, ".png"));
  ASSERT_EQ(d.bgr.type(), CV_8UC3);
  EXPECT_EQ(d.bgr.at<cv::Vec3b>(5, 5), cv::Vec3b(77, 77, 77));

  cv::Mat rgba(30, 40, CV_8UC4, cv::Scalar(10, 20, 30, 0));  // fully transparent: colour kept
  d = decode_image(encode(rgba, ".png"));
  ASSERT_EQ(d.bgr.type(), CV_8UC3);
  EXPECT_EQ(d.bgr.at<cv::Vec3b>(5, 5), cv::Vec3b(10, 20, 30));

  cv::Mat deep(30, 40, CV_16UC1, cv::Scalar(40000));
  d = decode_image(encode(deep, ".png"));
  ASSERT_EQ(d.bgr.type(), CV_8UC3);
  EXPECT_NEAR(d.bgr.at<cv::Vec3b>(5, 5)[0], 40000 / 257, 1);
}

TEST(DecodeImage, ExifOrientationIsApplied) {
  // 60 wide x 20 high, left third white. Orientation 6 = "rotate 90 degrees clockwise to view".
  cv::Mat img(20, 60, CV_8UC3, cv::Scalar::all(0));
  img(cv::Rect(0, 0, 20, 20)).setTo(cv::Scalar::all(255));
  const auto jpg = with_exif_orientation(encode(img, ".jpg"), 6);
  const auto d = decode_image(jpg);
  ASSERT_EQ(d.bgr.size(), cv::Size(20, 60));
  // After a clockwise turn the white end (left) is at the top.
  EXPECT_GT(d.bgr.at<cv::Vec3b>(5, 10)[0], 200);
  EXPECT_LT(d.bgr.at<cv::Vec3b>(55, 10)[0], 50);
  // Orientation 1 leaves it alone.
  EXPECT_EQ(decode_image(with_exif_orientation(encode(img, ".jpg"), 1)).bgr.size(), cv::Size(60, 20));
}

// Regressions found by fuzz/fuzz_image (and the headers it led to): a header whose size the
// guard read differently from the decoder, or whose pixel count overflowed, slipped past the cap.
namespace {

std::string decode_error(const std::vector<unsigned char>& bytes, const DecodeLimits& limits) {
  try {
    decode_image(bytes, limits);
  } catch (const ImageError& e) {
    return e.what();
  }
  return "decoded";
}

// A little-endian TIFF: one IFD of (tag, type, value) entries, then 64 bytes of strip data.
std::vector<unsigned char> tiff(const std::vector<std::array<std::uint32_t, 3>>& entries) {
  std::vector<unsigned char> b = {'I', 'I', 42, 0, 8, 0, 0, 0};
  auto le = [&](std::uint32_t v, int n) {
    for (int i = 0; i < n; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
  };
  le(static_cast<std::uint32_t>(entries.size()), 2);
  const auto data = static_cast<std::uint32_t>(8 + 2 + 12 * entries.size() + 4);
  for (const auto& [tag, type, value] : entries) {
    le(tag, 2);
    le(type, 2);
    le(1, 4);
    le(value == 0xFFFFFFFF ? data : value, type == 3 ? 2 : 4);
    if (type == 3) le(0, 2);
  }
  le(0, 4);
  b.resize(b.size() + 64, 0);
  return b;
}

}  // namespace

TEST(DecodeImageRegression, PixelCountOfTwoHuge32BitSidesDoesNotWrap) {
  // 4294967295 x 4294967295 multiplied in int64 wrapped to a negative count, under any cap.
  auto png = encode(pattern(16, 16), ".png");
  put_be32(png, 16, 0xFFFFFFFF);
  put_be32(png, 20, 0xFFFFFFFF);
  EXPECT_NE(decode_error(png, {}).find("image too large: 4294967295x4294967295"), std::string::npos);
  put_be32(png, 16, 0x80000000);
  put_be32(png, 20, 0x00000004);  // 2^33 pixels: no wrap, still refused
  EXPECT_NE(decode_error(png, {}).find("image too large"), std::string::npos);
}

TEST(DecodeImageRegression, TiffWithTwoWidthsOrHeightsIsRefused) {
  // libtiff decodes the first width/height, the guard read the last: 200x200 hid behind 1x1.
  const std::uint32_t kData = 0xFFFFFFFF;
  const std::vector<std::array<std::uint32_t, 3>> rest = {
      {258, 3, 8}, {259, 3, 1}, {262, 3, 1}, {273, 4, kData}, {277, 3, 1}, {278, 4, 1}, {279, 4, 64}};
  auto entries = rest;
  entries.insert(entries.begin(), {{256, 4, 200}, {256, 4, 1}, {257, 4, 200}, {257, 4, 1}});
  const auto dup = tiff(entries);
  EXPECT_FALSE(read_image_header(dup).has_value());
  EXPECT_NE(decode_error(dup, DecodeLimits{.max_pixels = 100}).find("not a readable image"), std::string::npos);
  // A width in a type the guard does not read (BYTE) is refused too, not taken as 0 or ignored.
  entries = rest;
  entries.insert(entries.begin(), {{256, 1, 200}, {257, 4, 1}});
  EXPECT_FALSE(read_image_header(tiff(entries)).has_value());
  // One width and one height: read as before.
  entries = rest;
  entries.insert(entries.begin(), {{256, 4, 200}, {257, 3, 150}});
  const auto h = read_image_header(tiff(entries));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->width, 200);
  EXPECT_EQ(h->height, 150);
  EXPECT_NE(decode_error(tiff(entries), DecodeLimits{.max_pixels = 100}).find("image too large: 200x150"),
            std::string::npos);
}

TEST(DecodeImageRegression, PnmCommentEndsAtCarriageReturnAsOpenCvReadsIt) {
  // "#c\r200 200\n1 1": OpenCV ends the comment at CR and decodes 200x200; the guard read 1x1.
  const std::string head = "P5\n#c\r200 200\n1 1\n255\n";
  std::vector<unsigned char> pgm(head.begin(), head.end());
  pgm.resize(pgm.size() + 64, 0);
  const auto h = read_image_header(pgm);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->width, 200);
  EXPECT_EQ(h->height, 200);
  EXPECT_NE(decode_error(pgm, DecodeLimits{.max_pixels = 100}).find("image too large: 200x200"), std::string::npos);
  // A CRLF comment is an ordinary comment.
  const std::string crlf = "P5\r\n# made by hand\r\n3 2\r\n255\n";
  std::vector<unsigned char> ok(crlf.begin(), crlf.end());
  ok.resize(ok.size() + 6, 9);
  EXPECT_EQ(decode_image(ok).bgr.size(), cv::Size(3, 2));
}

TEST(DecodeImageRegression, PnmNumberEndsAtTheCharacterAfterItAsOpenCvReadsIt) {
  // fuzz/fuzz_image: "22222#22226`": OpenCV takes the '#' as the end of the width, not a comment,
  // and decodes 22222x22226 (1.5 GB); the guard skipped "#22226`" as a comment and read 22222x2.
  const std::string head = "P2\n22222#22226`\n2Y\xd4j\x95" "4804480\x03";
  const std::vector<unsigned char> pgm(head.begin(), head.end());
  const auto h = read_image_header(pgm);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->width, 22222);
  EXPECT_EQ(h->height, 22226);
  EXPECT_NE(decode_error(pgm, {}).find("image too large: 22222x22226"), std::string::npos);
  // The same rule reads an ordinary header: "3 2\n" then "255\n".
  const std::string ok = "P2\n3 2\n255\n1 2 3 4 5 6\n";
  EXPECT_EQ(decode_image(std::vector<unsigned char>(ok.begin(), ok.end())).bgr.size(), cv::Size(3, 2));
}

TEST(DecodeImageRegression, TiffMagicIsMatchedWithItsNul) {
  // strlen() cut "II*\0" to "II*" (and "MM\0*" to "MM"): "II*\x01" passed as a TIFF, and OpenCV
  // then chose its decoder by its own signatures (fuzz/fuzz_image: "DICM" at 128 made the DICOM
  // reader allocate 1.9 GB).
  auto bytes = encode(pattern(20, 10), ".tiff");
  ASSERT_TRUE(read_image_header(bytes).has_value());
  for (const auto& magic : {std::string("II*\x01", 4), std::string("MMxx"), std::string("MM\0\x2B", 4)}) {
    std::copy(magic.begin(), magic.end(), bytes.begin());
    EXPECT_FALSE(read_image_header(bytes).has_value()) << magic;
    EXPECT_NE(decode_error(bytes, {}).find("not a readable image"), std::string::npos) << magic;
  }
}

TEST(DecodeImageRegression, FilesOpenCvWouldHandToAnotherDecoderAreRefused) {
  // fuzz/fuzz_image: "P2#..." passed as PNM, which OpenCV's PNM reader does not take (it wants a
  // space after the magic), so OpenCV tried its other decoders: "DICM" at 128 sent it to the
  // DICOM reader (1.9 GB allocated), "DTED" at 140 to GDAL (a temp file, every GDAL driver).
  const std::string pnm = "P2#c\n3 2\n255\n1 2 3 4 5 6\n";
  EXPECT_FALSE(read_image_header(std::vector<unsigned char>(pnm.begin(), pnm.end())).has_value());
  const std::string ok = "P2 3 2\n255\n1 2 3 4 5 6\n";
  EXPECT_EQ(decode_image(std::vector<unsigned char>(ok.begin(), ok.end())).bgr.size(), cv::Size(3, 2));
  auto png = encode(pattern(64, 64), ".png");
  ASSERT_GT(png.size(), 150u);
  ASSERT_TRUE(read_image_header(png).has_value());
  for (const auto& [at, magic] : {std::pair<std::size_t, std::string>{128, "DICM"}, {140, "DTED"}}) {
    auto marked = png;
    std::copy(magic.begin(), magic.end(), marked.begin() + static_cast<long>(at));
    EXPECT_FALSE(read_image_header(marked).has_value()) << magic;
    EXPECT_NE(decode_error(marked, {}).find("not a readable image"), std::string::npos) << magic;
  }
}
