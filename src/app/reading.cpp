#include "app/reading.hpp"

#include <array>
#include <chrono>

#include <opencv2/videoio.hpp>

#include "app/errors.hpp"
#include "vision/face_detector.hpp"
#include "vision/image_io.hpp"

namespace moodtunes::app {

PhotoReading read_photos(const std::vector<std::string>& images, const EmotionClassifier& classifier) {
  PhotoReading out;
  auto detector = vision::make_detector(vision::kDefaultDetector);
  std::vector<vision::FaceReading> all;
  for (const auto& path : images) {
    vision::DecodedImage img;
    try {
      img = vision::read_image(path);
    } catch (const std::exception& e) {
      throw Unavailable(path + ": " + e.what());
    }
    const auto frame = vision::analyse_image(img.bgr, *detector, classifier);
    if (!frame.faces.empty()) {
      for (const auto& f : frame.faces) out.faces.push_back({path, f, false});
    } else if (img.bgr.rows <= kCropMaxSide && img.bgr.cols <= kCropMaxSide) {
      vision::FaceReading f;
      f.box = cv::Rect(0, 0, img.bgr.cols, img.bgr.rows);
      f.probs = f.smoothed = classifier.classify(img.bgr);
      f.emotion = argmax(f.probs);
      out.faces.push_back({path, f, true});
    } else {
      out.without_face.push_back(path);
    }
  }
  for (const auto& f : out.faces) all.push_back(f.face);
  out.group = vision::group_reading(all, false);
  return out;
}

std::optional<vision::GroupReading> read_stream(const StreamSource& source, const EmotionClassifier& classifier) {
  cv::VideoCapture cap;
  const bool camera = source.video.empty();
  if (camera ? !cap.open(source.camera) : !cap.open(source.video))
    throw Unavailable(camera ? "cannot open camera " + std::to_string(source.camera) : "cannot open video " + source.video);
  vision::Pipeline pipeline(classifier);
  std::array<double, kNumEmotions> sum{};
  long frames = 0;
  const auto start = std::chrono::steady_clock::now();
  const double fps = camera ? 0 : cap.get(cv::CAP_PROP_FPS);
  cv::Mat frame;  // camera frames stay in memory only
  for (long index = 0;; ++index) {
    const double t = camera ? std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
                            : double(index) / (fps > 0 ? fps : 30.0);
    if (t > source.seconds || !cap.read(frame) || frame.empty()) break;
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
