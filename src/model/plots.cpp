#include "model/plots.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cstdio>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace moodtunes {

namespace {
const std::vector<cv::Scalar> kPalette = {{200, 80, 30}, {30, 120, 230}, {40, 170, 40},
                                          {160, 40, 160}, {20, 20, 200}, {120, 120, 0}};

}  // namespace

void plot_curves(const std::vector<Series>& series, const std::string& title, const std::filesystem::path& png) {
  const int w = 800, h = 480, left = 70, right = 20, top = 40, bottom = 50;
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(255, 255, 255));
  double lo = 1e300, hi = -1e300;
  std::size_t n = 0;
  for (const auto& s : series) {
    for (double v : s.values) lo = std::min(lo, v), hi = std::max(hi, v);
    n = std::max(n, s.values.size());
  }
  if (n == 0 || lo > hi) lo = 0, hi = 1;
  if (hi - lo < 1e-9) hi = lo + 1;
  const double pad = (hi - lo) * 0.05;
  lo -= pad, hi += pad;
  auto px = [&](std::size_t i) { return left + static_cast<int>((w - left - right) * (n > 1 ? double(i) / double(n - 1) : 0.5)); };
  auto py = [&](double v) { return top + static_cast<int>((h - top - bottom) * (hi - v) / (hi - lo)); };
  cv::rectangle(img, {left, top}, {w - right, h - bottom}, {0, 0, 0});
  for (int k = 0; k <= 4; ++k) {
    const double v = lo + (hi - lo) * k / 4;
    cv::line(img, {left, py(v)}, {w - right, py(v)}, {225, 225, 225});
    cv::putText(img, fmt::format("{:.2f}", v), {5, py(v) + 4}, cv::FONT_HERSHEY_SIMPLEX, 0.4, {0, 0, 0});
  }
  cv::putText(img, title, {left, 25}, cv::FONT_HERSHEY_SIMPLEX, 0.6, {0, 0, 0}, 1, cv::LINE_AA);
  cv::putText(img, "epoch 1.." + std::to_string(n), {w / 2 - 40, h - 15}, cv::FONT_HERSHEY_SIMPLEX, 0.45, {0, 0, 0});
  for (std::size_t s = 0; s < series.size(); ++s) {
    const auto& color = kPalette[s % kPalette.size()];
    const auto& v = series[s].values;
    for (std::size_t i = 1; i < v.size(); ++i)
      cv::line(img, {px(i - 1), py(v[i - 1])}, {px(i), py(v[i])}, color, 2, cv::LINE_AA);
    if (v.size() == 1) cv::circle(img, {px(0), py(v[0])}, 3, color, cv::FILLED);
    cv::putText(img, series[s].label, {w - right - 170, top + 20 + 18 * static_cast<int>(s)},
                cv::FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv::LINE_AA);
  }
  cv::imwrite(png.string(), img);
}

void plot_confusion(const ConfusionMatrix& cm, const std::string& title, const std::filesystem::path& png) {
  const int n = static_cast<int>(kNumEmotions), cell = 70, left = 90, top = 60;
  cv::Mat img(top + n * cell + 40, left + n * cell + 20, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(img, title, {10, 22}, cv::FONT_HERSHEY_SIMPLEX, 0.55, {0, 0, 0}, 1, cv::LINE_AA);
  cv::putText(img, "rows: true class, columns: predicted (row %)", {10, 44}, cv::FONT_HERSHEY_SIMPLEX, 0.4, {60, 60, 60});
  for (int t = 0; t < n; ++t) {
    std::int64_t row = 0;
    for (int p = 0; p < n; ++p) row += cm.at(t, p);
    for (int p = 0; p < n; ++p) {
      const double frac = row ? double(cm.at(t, p)) / double(row) : 0.0;
      const int shade = 255 - static_cast<int>(200 * frac);
      cv::Rect r(left + p * cell, top + t * cell, cell, cell);
      cv::rectangle(img, r, cv::Scalar(255, shade, shade), cv::FILLED);
      cv::rectangle(img, r, {180, 180, 180});
      const cv::Scalar ink = frac > 0.5 ? cv::Scalar(255, 255, 255) : cv::Scalar(0, 0, 0);
      cv::putText(img, fmt::format("{:.0f}%", 100 * frac), {r.x + 12, r.y + 30}, cv::FONT_HERSHEY_SIMPLEX, 0.5, ink, 1, cv::LINE_AA);
      cv::putText(img, std::to_string(cm.at(t, p)), {r.x + 12, r.y + 52}, cv::FONT_HERSHEY_SIMPLEX, 0.38, ink, 1, cv::LINE_AA);
    }
    cv::putText(img, std::string(kEmotionNames[t]), {5, top + t * cell + 40}, cv::FONT_HERSHEY_SIMPLEX, 0.45, {0, 0, 0});
    cv::putText(img, std::string(kEmotionNames[t]).substr(0, 7), {left + t * cell + 4, top + n * cell + 20},
                cv::FONT_HERSHEY_SIMPLEX, 0.4, {0, 0, 0});
  }
  cv::imwrite(png.string(), img);
}

}  // namespace moodtunes
