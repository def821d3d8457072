#include "vision/draw.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include <opencv2/imgproc.hpp>

namespace moodtunes::vision {
namespace {

const cv::Scalar kBox(60, 220, 60), kText(255, 255, 255), kShadow(0, 0, 0), kBar(255, 160, 40);

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale) {
  cv::putText(img, s, at + cv::Point(1, 1), cv::FONT_HERSHEY_SIMPLEX, scale, kShadow, 2, cv::LINE_AA);
  cv::putText(img, s, at, cv::FONT_HERSHEY_SIMPLEX, scale, kText, 1, cv::LINE_AA);
}

void bars(cv::Mat& img, const FaceReading& f) {
  const double scale = std::clamp(f.box.height / 240.0, 0.35, 0.6);
  const int row = static_cast<int>(30 * scale) + 2, width = static_cast<int>(160 * scale);
  int baseline = 0;
  const int names = cv::getTextSize("surprise", cv::FONT_HERSHEY_SIMPLEX, scale, 2, &baseline).width + 6;
  int x = f.box.br().x + 6;
  if (x + names + width > img.cols) x = std::max(0, f.box.x - names - width - 6);
  for (std::size_t c = 0; c < kNumEmotions; ++c) {
    const int y = f.box.y + static_cast<int>(c) * row;
    const int len = static_cast<int>(width * std::clamp(f.smoothed[c], 0.f, 1.f));
    cv::rectangle(img, cv::Rect(x + names, y + 2, width, row - 4), cv::Scalar(80, 80, 80), 1);
    cv::rectangle(img, cv::Rect(x + names, y + 2, std::max(1, len), row - 4), kBar, cv::FILLED);
    text(img, std::string(kEmotionNames[c]), cv::Point(x, y + row - 4), scale);
  }
}

}  // namespace

std::string face_label(const FaceReading& f) {
  const auto shown = static_cast<std::size_t>(f.emotion);
  const int pct = static_cast<int>(std::lround(100 * f.smoothed[shown]));
  // Held: the smoother keeps the label while another class leads by less than its margin.
  const bool held = f.smoothed[static_cast<std::size_t>(argmax(f.smoothed))] > f.smoothed[shown];
  const std::string name(emotion_name(f.emotion));
  const char* mark = held ? " (held)" : "";
  if (f.track_id) return fmt::format("#{} {}{} {}%", f.track_id, name, mark, pct);
  return fmt::format("{}{} {}%", name, mark, pct);
}

void annotate(cv::Mat& bgr, const FrameReading& reading, bool show_bars, double fps) {
  CV_Assert(bgr.type() == CV_8UC3);
  const int thick = std::max(2, bgr.cols / 400);
  for (const auto& f : reading.faces) {
    cv::rectangle(bgr, f.box, kBox, thick);
    text(bgr, face_label(f), cv::Point(f.box.x, std::max(14, f.box.y - 6)), std::clamp(f.box.width / 200.0, 0.45, 1.2));
    if (show_bars) bars(bgr, f);
  }
  int y = 22;
  if (fps > 0) {
    text(bgr, fmt::format("{:.0f} FPS", fps), cv::Point(8, y), 0.6);
    y += 24;
  }
  if (reading.group && reading.faces.size() > 1)
    text(bgr, "group: " + std::string(emotion_name(reading.group->emotion)), cv::Point(8, y), 0.6);
  if (reading.faces.empty()) text(bgr, "no face", cv::Point(8, y), 0.6);
}

}  // namespace moodtunes::vision
