#include "app/reading.hpp"

#include <array>
#include <chrono>
#include <memory>

#include "app/errors.hpp"
#include "vision/face_detector.hpp"
#include "vision/image_io.hpp"
#include "vision/video_io.hpp"

namespace moodtunes::app {

PhotoReading read_photos(const std::vector<std::string>& images, const EmotionClassifier& classifier,
                         bool lone_small_faces) {
  PhotoReading out;
  auto detector = vision::make_detector(vision::photo_detector(lone_small_faces));
  std::vector<vision::FaceReading> all;
  for (const auto& path : images) {
    vision::DecodedImage img;
    try {
      img = vision::read_image(path);
    } catch (const std::exception& e) {
      throw Unavailable(path + ": " + e.what());
    }
    for (const auto& w : img.warnings) out.warnings.push_back(path + ": " + w);
    // The photo path reads gray (vision::analyse_image): drop the colour copy before it runs, so a
    // 50 MP photo holds one full-size image instead of two (bench/badinput).
    img.bgr = vision::to_gray(img.bgr);
    const auto frame = vision::analyse_image(img.bgr, *detector, classifier);
    if (!frame.faces.empty()) {
      for (const auto& f : frame.faces) out.faces.push_back({path, f, false});
    } else if (img.bgr.rows <= kCropMaxSide && img.bgr.cols <= kCropMaxSide && img.bgr.rows >= kCropMinSide &&
               img.bgr.cols >= kCropMinSide) {
      vision::FaceReading f;
      f.box = cv::Rect(0, 0, img.bgr.cols, img.bgr.rows);
      f.probs = f.smoothed = classifier.classify(img.bgr);
      f.emotion = argmax(f.probs);
      out.faces.push_back({path, f, true});
    } else {
      out.without_face.push_back({path, frame.faces_held_back > 0});
    }
  }
  for (const auto& f : out.faces) all.push_back(f.face);
  out.group = vision::group_reading(all, false);
  return out;
}

vision::DecodedImage decode_upload(std::span<const unsigned char> bytes, const vision::DecodeLimits& limits) {
  if (bytes.empty()) throw InvalidInput("the image is empty (0 bytes)");
  try {
    return vision::decode_image(bytes, limits);
  } catch (const vision::ImageError& e) {
    throw InvalidInput(std::string("image: ") + e.what());
  } catch (const cv::Exception&) {
    throw InvalidInput("image: the decoder refused it");
  }
}

ImageReading read_image_bytes(std::span<const unsigned char> bytes, const EmotionClassifier& classifier,
                              vision::FaceDetector* detector, const vision::DecodeLimits& limits,
                              bool second_look) {
  vision::DecodedImage img = decode_upload(bytes, limits);
  std::unique_ptr<vision::FaceDetector> own;
  if (detector == nullptr) {
    own = vision::make_detector(vision::kDefaultDetector);
    detector = own.get();
  }
  img.bgr = vision::to_gray(img.bgr);  // as read_photos(): one full-size image, not two
  vision::ImageAnalysisOptions options;
  options.report_held_back = second_look;
  const vision::FrameReading frame = vision::analyse_image(img.bgr, *detector, classifier, options);
  ImageReading out;
  out.second_look = frame.held_back;
  out.small_face_held_back = frame.faces_held_back > 0;
  out.width = img.bgr.cols;
  out.height = img.bgr.rows;
  out.faces = frame.faces;
  out.group = frame.group;
  out.warnings = std::move(img.warnings);
  return out;
}

std::optional<vision::GroupReading> read_stream(const StreamSource& source, const EmotionClassifier& classifier) {
  if (source.seconds <= 0) throw InvalidInput("seconds must be positive");
  const bool camera = source.video.empty();
  vision::VideoSource video;
  try {
    video = camera ? vision::open_camera(source.camera) : vision::open_video(source.video);
  } catch (const vision::ImageError& e) {
    throw Unavailable(e.what());
  }
  vision::Pipeline pipeline(classifier);
  std::array<double, kNumEmotions> sum{};
  long frames = 0;
  const auto start = std::chrono::steady_clock::now();
  const double fps = video.fps;
  cv::Mat frame;  // camera frames stay in memory only
  for (long index = 0;; ++index) {
    const double t = camera ? std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
                            : double(index) / (fps > 0 ? fps : 30.0);
    bool got = false;
    try {
      got = t <= source.seconds && vision::read_frame(video, frame);
    } catch (const vision::ImageError& e) {
      throw Unavailable(e.what());
    }
    if (!got) break;
    const auto reading = pipeline.process(frame, t);
    if (!reading.group) continue;
    for (std::size_t c = 0; c < kNumEmotions; ++c) sum[c] += reading.group->probs[c];
    ++frames;
  }
  if (frames == 0) return std::nullopt;
  vision::GroupReading g;
  for (std::size_t c = 0; c < kNumEmotions; ++c) g.probs[c] = static_cast<float>(sum[c] / double(frames));
  g.emotion = argmax(g.probs);
  return g;
}

}  // namespace moodtunes::app
