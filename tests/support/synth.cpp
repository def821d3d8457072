#include "support/synth.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <utility>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/emotion.hpp"
#include "vision/pipeline.hpp"

namespace moodtunes::test {

cv::Mat FerPool::load(std::size_t i) const {
  cv::Mat img = cv::imread(files.at(i).string(), cv::IMREAD_GRAYSCALE);
  if (img.empty()) throw std::runtime_error("cannot read " + files[i].string());
  return img;
}

FerPool list_fer_faces(const std::filesystem::path& split_dir, std::size_t max_per_class) {
  FerPool pool;
  for (std::size_t c = 0; c < kNumEmotions; ++c) {
    const auto dir = split_dir / std::string(kEmotionNames[c]);
    if (!std::filesystem::is_directory(dir)) continue;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() == ".jpg") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (max_per_class && files.size() > max_per_class) files.resize(max_per_class);
    for (auto& f : files) {
      pool.files.push_back(std::move(f));
      pool.labels.push_back(static_cast<int>(c));
    }
  }
  if (pool.files.empty())
    throw std::runtime_error("no FER images under " + split_dir.string() + " (set MOODTUNES_DATA to the shared data folder)");
  return pool;
}

std::filesystem::path fer_root(const std::filesystem::path& fallback_data_dir) {
  if (const char* env = std::getenv("MOODTUNES_DATA"); env && *env) return std::filesystem::path(env) / "fer2013";
  return fallback_data_dir / "fer2013";
}

const char* background_name(Background b) {
  switch (b) {
    case Background::kGradient: return "gradient";
    case Background::kTexture: return "texture";
    case Background::kText: return "text";
    case Background::kClutter: return "clutter";
  }
  return "?";
}

std::uint64_t Rng::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
double Rng::uniform(double lo, double hi) { return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1.0p-53; }
int Rng::uniform_int(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1)); }

namespace {

cv::Scalar colour(Rng& rng) { return {rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)}; }

cv::Mat gradient(cv::Size size, Rng& rng) {
  const cv::Scalar a = colour(rng), b = colour(rng);
  const double angle = rng.uniform(0, CV_PI), ca = std::cos(angle), sa = std::sin(angle);
  const double span = std::abs(ca) * size.width + std::abs(sa) * size.height;
  const double lo = ca < 0 ? ca * size.width : 0.0;
  cv::Mat img(size, CV_8UC3);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) {
      const double t = std::clamp((ca * x + sa * y - lo) / span, 0.0, 1.0);
      auto& p = img.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) p[c] = cv::saturate_cast<uchar>(a[c] + t * (b[c] - a[c]));
    }
  return img;
}

// Noise at a random scale, plus stripes: fabric, wood, foliage-like detail.
cv::Mat texture(cv::Size size, Rng& rng) {
  const int cell = rng.uniform_int(2, 24);
  cv::Mat small(std::max(1, size.height / cell), std::max(1, size.width / cell), CV_8UC3);
  for (int y = 0; y < small.rows; ++y)
    for (int x = 0; x < small.cols; ++x)
      small.at<cv::Vec3b>(y, x) = cv::Vec3b(rng.uniform_int(0, 255), rng.uniform_int(0, 255), rng.uniform_int(0, 255));
  cv::Mat img;
  cv::resize(small, img, size, 0, 0, rng.uniform(0, 1) < 0.5 ? cv::INTER_CUBIC : cv::INTER_NEAREST);
  const double period = rng.uniform(6, 60), angle = rng.uniform(0, CV_PI), amp = rng.uniform(0, 80);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) {
      const double s = amp * std::sin((x * std::cos(angle) + y * std::sin(angle)) * 2 * CV_PI / period);
      auto& p = img.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) p[c] = cv::saturate_cast<uchar>(p[c] * 0.6 + s + 50);
    }
  return img;
}

cv::Mat text(cv::Size size, Rng& rng) {
  cv::Mat img(size, CV_8UC3, cv::Scalar::all(rng.uniform(170, 255)));
  static const char* kWords[] = {"MOOD", "tunes", "Hello", "face?", "1984", "open 24h", "SALE -50%", "o_O", ":-)", "Bonjour",
                                 "(^_^)", "STOP", "the quick brown fox", "@#&%", "0O0O", "lorem ipsum"};
  const int lines = rng.uniform_int(6, 20);
  for (int i = 0; i < lines; ++i) {
    const double scale = rng.uniform(0.5, 3.0);
    const cv::Point at(rng.uniform_int(-40, size.width - 40), rng.uniform_int(10, size.height + 20));
    const int font = rng.uniform_int(0, 7);
    cv::putText(img, kWords[rng.uniform_int(0, 15)], at, font, scale, colour(rng) * 0.5, rng.uniform_int(1, 4), cv::LINE_AA);
  }
  return img;
}

// A synthesised "photo": overlapping shapes (furniture, windows, lamps, people-sized blobs),
// blurred to a random depth of field, with sensor noise.
cv::Mat clutter(cv::Size size, Rng& rng) {
  cv::Mat img = gradient(size, rng);
  const int shapes = rng.uniform_int(10, 40);
  for (int i = 0; i < shapes; ++i) {
    const cv::Point c(rng.uniform_int(0, size.width), rng.uniform_int(0, size.height));
    const int r = rng.uniform_int(5, size.height / 3);
    switch (rng.uniform_int(0, 3)) {
      case 0: cv::circle(img, c, r, colour(rng), rng.uniform(0, 1) < 0.7 ? cv::FILLED : 3, cv::LINE_AA); break;
      case 1: cv::rectangle(img, cv::Rect(c, cv::Size(r, rng.uniform_int(5, size.height / 2))), colour(rng), cv::FILLED); break;
      case 2: cv::ellipse(img, c, cv::Size(r, r / 2 + 1), rng.uniform(0, 180), 0, 360, colour(rng), cv::FILLED, cv::LINE_AA); break;
      default: cv::line(img, c, {rng.uniform_int(0, size.width), rng.uniform_int(0, size.height)}, colour(rng), rng.uniform_int(1, 8), cv::LINE_AA);
    }
  }
  const int k = 2 * rng.uniform_int(0, 3) + 1;
  cv::GaussianBlur(img, img, cv::Size(k, k), 0);
  cv::Mat noise(size, CV_16SC3), img16;
  cv::RNG cvrng(rng.next());
  cvrng.fill(noise, cv::RNG::NORMAL, 0, rng.uniform(0, 12));
  img.convertTo(img16, CV_16SC3);
  img16 += noise;
  img16.convertTo(img, CV_8UC3);
  return img;
}

}  // namespace

cv::Mat make_background(cv::Size size, Background kind, Rng& rng) {
  switch (kind) {
    case Background::kGradient: return gradient(size, rng);
    case Background::kTexture: return texture(size, rng);
    case Background::kText: return text(size, rng);
    case Background::kClutter: return clutter(size, rng);
  }
  return {};
}

PlacedFace place_face(cv::Mat& frame, const cv::Mat& face_gray, cv::Point2d centre, double side, double angle_deg) {
  CV_Assert(frame.type() == CV_8UC3 && face_gray.type() == CV_8UC1 && !face_gray.empty());
  const double s = side / face_gray.cols;
  // face pixel (u, v) -> frame: rotate about the face centre, scale, translate.
  cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(face_gray.cols / 2.f, face_gray.rows / 2.f), angle_deg, s);
  m.at<double>(0, 2) += centre.x - face_gray.cols / 2.0;
  m.at<double>(1, 2) += centre.y - face_gray.rows / 2.0;
  cv::Mat face_bgr, warped, mask;
  cv::cvtColor(face_gray, face_bgr, cv::COLOR_GRAY2BGR);
  cv::warpAffine(face_bgr, warped, m, frame.size(), cv::INTER_CUBIC, cv::BORDER_CONSTANT);
  cv::warpAffine(cv::Mat(face_gray.size(), CV_32F, cv::Scalar(1)), mask, m, frame.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  const cv::Rect roi = cv::boundingRect(mask > 0) & cv::Rect(0, 0, frame.cols, frame.rows);
  for (int y = roi.y; y < roi.br().y; ++y)
    for (int x = roi.x; x < roi.br().x; ++x) {
      const float a = mask.at<float>(y, x);
      if (a <= 0) continue;
      auto& p = frame.at<cv::Vec3b>(y, x);
      const auto& q = warped.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) p[c] = cv::saturate_cast<uchar>(p[c] * (1 - a) + q[c] * a);
    }
  return {cv::Rect2d(centre.x - side / 2, centre.y - side / 2, side, side), angle_deg, -1, {}};
}

Scene detection_scene(const FerPool& pool, std::uint64_t seed, int index, int face_side, double max_angle, cv::Size frame) {
  Rng rng(seed * 0x100000001B3ull + static_cast<std::uint64_t>(index) * 7919 + static_cast<std::uint64_t>(face_side));
  Scene scene;
  scene.background = static_cast<Background>(rng.uniform_int(0, kBackgroundKinds - 1));
  scene.bgr = make_background(frame, scene.background, rng);
  if (face_side <= 0) return scene;
  const std::size_t pick = rng.next() % pool.files.size();
  const double margin = face_side * 0.72;  // the rotated square stays in the frame
  const cv::Point2d c(rng.uniform(margin, std::max(margin, frame.width - margin)),
                      rng.uniform(margin, std::max(margin, frame.height - margin)));
  PlacedFace f = place_face(scene.bgr, pool.load(pick), c, face_side, rng.uniform(-max_angle, max_angle));
  f.label = pool.labels[pick];
  f.source = pool.files[pick].string();
  scene.faces.push_back(f);
  return scene;
}

std::filesystem::path realfaces_root(const std::filesystem::path& fallback_data_dir) {
  if (const char* env = std::getenv("MOODTUNES_DATA"); env && *env) return std::filesystem::path(env) / "realfaces";
  return fallback_data_dir / "realfaces";
}

std::vector<SourceFace> locate_faces(const FerPool& pool, vision::FaceDetector& reference, vision::FaceDetector* also, std::size_t max_count) {
  std::vector<SourceFace> out;
  for (std::size_t i = 0; i < pool.files.size() && (max_count == 0 || out.size() < max_count); ++i) {
    cv::Mat photo = pool.load(i);
    // At most 240 px (faces stay well above every detector's window; a 350 px photo costs half as
    // much to scan), with a grey margin, so a face cut by its photo's edge is still seen whole.
    const double shrink = std::min(1.0, 240.0 / std::max(photo.cols, photo.rows));
    if (shrink < 1) cv::resize(photo, photo, cv::Size(), shrink, shrink, cv::INTER_AREA);
    const int pad = photo.cols / 4;
    cv::Mat padded;
    cv::copyMakeBorder(photo, padded, pad, pad, pad, pad, cv::BORDER_CONSTANT, cv::Scalar(128));
    const auto boxes = reference.detect(padded);
    if (boxes.size() != 1) continue;
    const cv::Rect& b = boxes[0].box;
    if (also) {
      const cv::Point2d c(b.x + b.width / 2.0, b.y + b.height / 2.0);
      const auto second = also->detect(padded);
      if (std::none_of(second.begin(), second.end(), [&](const vision::FaceBox& o) {
            return std::hypot(o.box.x + o.box.width / 2.0 - c.x, o.box.y + o.box.height / 2.0 - c.y) <= 0.25 * b.width;
          }))
        continue;
    }
    out.push_back({i, cv::Rect2d((b.x - pad) / shrink, (b.y - pad) / shrink, b.width / shrink, b.height / shrink)});
  }
  return out;
}

Scene group_scene(const FerPool& pool, const std::vector<SourceFace>& faces, std::uint64_t seed, int index, int count,
                  double min_side, double max_side, double max_angle, cv::Size frame) {
  if (faces.empty() || count < 0 || !(min_side > 0 && max_side >= min_side))
    throw std::invalid_argument("group_scene: needs located faces, count >= 0 and 0 < min_side <= max_side");
  Rng rng(seed * 0x100000001B3ull + static_cast<std::uint64_t>(index) * 104729 + static_cast<std::uint64_t>(count) * 31 + 0x5EED);
  Scene scene;
  scene.background = static_cast<Background>(rng.uniform_int(0, kBackgroundKinds - 1));
  scene.bgr = make_background(frame, scene.background, rng);
  std::vector<std::pair<cv::Point2d, double>> taken;  // centre and radius of each pasted photo
  for (int k = 0; k < count; ++k) {
    const SourceFace& source = faces[rng.next() % faces.size()];
    const double side = rng.uniform(min_side, max_side), angle = rng.uniform(-max_angle, max_angle);
    const cv::Mat photo = pool.load(source.index);
    const double s = side / source.box.width;
    // The photo's farthest corner from the face centre bounds what this face covers.
    const cv::Point2d fc(source.box.x + source.box.width / 2, source.box.y + source.box.height / 2);
    const double radius = s * std::max(std::hypot(fc.x, fc.y), std::hypot(photo.cols - fc.x, photo.rows - fc.y));
    const double margin = side * 0.72;
    std::optional<cv::Point2d> at;
    for (int attempt = 0; attempt < 50 && !at; ++attempt) {
      const cv::Point2d c(rng.uniform(margin, frame.width - margin), rng.uniform(margin, frame.height - margin));
      if (std::all_of(taken.begin(), taken.end(), [&](const auto& t) { return std::hypot(c.x - t.first.x, c.y - t.first.y) > radius + t.second; }))
        at = c;
    }
    if (!at) continue;
    taken.emplace_back(*at, radius);
    // Reduce with area averaging first (a photo shrinks 3-10x), then place rotated at scale 1.
    cv::Mat small;
    cv::resize(photo, small, cv::Size(), s, s, cv::INTER_AREA);
    const double sx = double(small.cols) / photo.cols, sy = double(small.rows) / photo.rows;
    const cv::Point2f sc(static_cast<float>(fc.x * sx), static_cast<float>(fc.y * sy));
    cv::Mat m = cv::getRotationMatrix2D(sc, angle, 1.0);
    m.at<double>(0, 2) += at->x - sc.x;
    m.at<double>(1, 2) += at->y - sc.y;
    // Soft edge: opacity ramps over the outer ~8% of the photo, so no straight seam frames the face.
    cv::Mat alpha(small.size(), CV_32F);
    const double ramp = std::max(2.0, 0.08 * std::min(small.cols, small.rows));
    for (int y = 0; y < small.rows; ++y)
      for (int x = 0; x < small.cols; ++x) {
        const double d = std::min({x + 0.5, y + 0.5, small.cols - x - 0.5, small.rows - y - 0.5});
        alpha.at<float>(y, x) = static_cast<float>(std::min(1.0, d / ramp));
      }
    cv::Mat warped, mask;
    cv::warpAffine(small, warped, m, frame, cv::INTER_LINEAR, cv::BORDER_CONSTANT);
    cv::warpAffine(alpha, mask, m, frame, cv::INTER_LINEAR, cv::BORDER_CONSTANT);
    for (int y = 0; y < frame.height; ++y)
      for (int x = 0; x < frame.width; ++x) {
        const float a = mask.at<float>(y, x);
        if (a <= 0) continue;
        auto& p = scene.bgr.at<cv::Vec3b>(y, x);
        for (int c = 0; c < 3; ++c) p[c] = cv::saturate_cast<uchar>(p[c] * (1 - a) + warped.at<uchar>(y, x) * a);
      }
    scene.faces.push_back({cv::Rect2d(at->x - side / 2, at->y - side / 2, side, side), angle, pool.labels[source.index],
                           pool.files[source.index].string()});
  }
  return scene;
}

bool matches(const cv::Rect& box, const PlacedFace& face) {
  const double side = face.fer_rect.width;
  const cv::Point2d fc(face.fer_rect.x + side / 2, face.fer_rect.y + side / 2);
  const cv::Point2d bc(box.x + box.width / 2.0, box.y + box.height / 2.0);
  return std::hypot(fc.x - bc.x, fc.y - bc.y) <= 0.25 * side && box.width >= 0.35 * side && box.width <= 1.6 * side;
}

std::optional<SteadyReading> steady_reading(const std::vector<cv::Mat>& frames, vision::FaceDetector& detector,
                                            const EmotionClassifier& classifier) {
  if (frames.empty()) return std::nullopt;
  EmotionProbs mean{};
  for (const cv::Mat& frame : frames) {
    const auto r = vision::analyse_image(frame, detector, classifier);
    if (r.faces.size() != 1) return std::nullopt;
    for (std::size_t c = 0; c < kNumEmotions; ++c) mean[c] += r.faces[0].probs[c] / static_cast<float>(frames.size());
  }
  const Emotion label = argmax(mean);
  const float top = mean[static_cast<std::size_t>(label)];
  mean[static_cast<std::size_t>(label)] = 0;
  return SteadyReading{label, top - *std::max_element(mean.begin(), mean.end())};
}

}  // namespace moodtunes::test
