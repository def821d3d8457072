// Safe decoding: header sniffing per format, the pixel cap before decoding, corrupt/truncated
// data, grayscale/RGBA/16-bit inputs and EXIF orientation.
#include <gtest/gtest.h>

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
