#include "train/augment.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "preprocess/preprocess.hpp"

namespace moodtunes {

namespace {

// A round trip through a random resolution, 0.5x to 5x (log-uniform): up with the cubic filter
// and back down with to_face_gray's area filter, as a face enlarged in a frame and cropped again
// is; or down and back up, as a small, low-resolution face is. Either loses the fine texture a
// net would otherwise learn to rely on.
cv::Mat resample_round_trip(const cv::Mat& gray48, float log_scale) {
  const int side = std::max(8, static_cast<int>(std::lround(kFaceSize * std::exp(log_scale))));
  const bool up = side >= kFaceSize;
  cv::Mat resized;
  cv::resize(gray48, resized, {side, side}, 0, 0, up ? cv::INTER_CUBIC : cv::INTER_AREA);
  return to_face_gray(resized);
}

// A camera's losses on an 8-bit face, in the order a camera adds them: low light or low
// contrast, blur (focus, motion at low light), sensor noise, then JPEG compression. Each is
// drawn independently; at least one is applied.
void camera_losses(cv::Mat& face, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> u(0.f, 1.f);
  auto uniform = [&](float lo, float hi) { return lo + (hi - lo) * u(rng); };
  bool any = false;
  const int forced = static_cast<int>(u(rng) * 4);  // the one that runs whatever the draws say
  if (forced == 0 || u(rng) < 0.4f) {  // contrast 0.35-0.9 around a darker mean
    const double gain = uniform(0.35f, 0.9f), mean = cv::mean(face)[0], target = mean * uniform(0.35f, 1.f);
    face.convertTo(face, CV_8U, gain, target - gain * mean);
    any = true;
  }
  if (forced == 1 || u(rng) < 0.4f) {
    const double sigma = uniform(0.4f, 1.3f);
    cv::GaussianBlur(face, face, {0, 0}, sigma);
    any = true;
  }
  if (forced == 2 || u(rng) < 0.4f) {
    cv::Mat noise(face.size(), CV_16S);
    cv::randn(noise, 0, uniform(2.f, 12.f));  // cv::randn draws from OpenCV's own RNG: reseeded below
    cv::Mat wide;
    face.convertTo(wide, CV_16S);
    wide += noise;
    wide.convertTo(face, CV_8U);
    any = true;
  }
  if (forced == 3 || u(rng) < 0.4f || !any) {
    std::vector<uchar> jpeg;
    cv::imencode(".jpg", face, jpeg, {cv::IMWRITE_JPEG_QUALITY, static_cast<int>(uniform(15.f, 75.f))});
    face = cv::imdecode(jpeg, cv::IMREAD_GRAYSCALE);
  }
}

}  // namespace

// Geometric and photometric augmentation of one 8-bit 48x48 face, then the shared
// standardisation, then random erasing (in the standardised domain: 0 = the image mean).
// With resample_prob = 0 and camera_prob = 0 it draws from `rng` as it did before those options.
cv::Mat augment(const cv::Mat& gray48, double scale_jitter, double resample_prob, double camera_prob,
                std::mt19937_64& rng) {
  std::uniform_real_distribution<float> u(0.f, 1.f);
  auto uniform = [&](float lo, float hi) { return lo + (hi - lo) * u(rng); };
  cv::Mat img = gray48;
  if (u(rng) < 0.5f) {
    img = cv::Mat();  // a new buffer: flipping into a header of gray48 would alter the dataset
    cv::flip(gray48, img, 1);
  }
  if (resample_prob > 0 && u(rng) < resample_prob)
    img = resample_round_trip(img, uniform(std::log(0.5f), std::log(5.f)));
  const float angle = uniform(-12.f, 12.f), scale = uniform(1.f - float(scale_jitter), 1.f + float(scale_jitter));
  const float tx = uniform(-4.5f, 4.5f), ty = uniform(-4.5f, 4.5f);
  cv::Mat warped = warp_face(img, angle, scale, tx, ty);
  if (u(rng) < 0.5f) {  // gamma: a non-linear change that standardisation does not undo
    const float gamma = std::exp(uniform(-0.4f, 0.4f));
    cv::Mat lut(1, 256, CV_8U);
    for (int i = 0; i < 256; ++i) lut.at<uchar>(i) = cv::saturate_cast<uchar>(255.0 * std::pow(i / 255.0, gamma));
    cv::LUT(warped, lut, warped);
  }
  if (camera_prob > 0 && u(rng) < camera_prob) {
    cv::theRNG().state = rng();  // this face's noise follows its own stream, whatever the thread
    camera_losses(warped, rng);
  }
  cv::Mat f = standardize_face(warped);
  if (u(rng) < 0.5f) {  // random erasing
    const float area = uniform(0.02f, 0.2f) * kFaceSize * kFaceSize, aspect = std::exp(uniform(-1.2f, 1.2f));
    const int eh = std::clamp(static_cast<int>(std::sqrt(area * aspect)), 1, kFaceSize);
    const int ew = std::clamp(static_cast<int>(std::sqrt(area / aspect)), 1, kFaceSize);
    const int y = static_cast<int>(u(rng) * (kFaceSize - eh + 1)), x = static_cast<int>(u(rng) * (kFaceSize - ew + 1));
    f(cv::Rect(std::min(x, kFaceSize - ew), std::min(y, kFaceSize - eh), ew, eh)).setTo(0);
  }
  return f;
}

}  // namespace moodtunes
