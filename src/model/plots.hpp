// PNG plots for training reports, drawn with OpenCV (no plotting dependency).
// Pure functions; write files atomically enough for reports (overwrite in place).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "model/metrics.hpp"

namespace moodtunes {

struct Series {
  std::string label;
  std::vector<double> values;  // one per epoch
};

// Line chart of several series against epoch (1-based); throws cv::Exception on write failure.
void plot_curves(const std::vector<Series>& series, const std::string& title,
                 const std::filesystem::path& png);

// Row-normalised confusion matrix heat map with counts and per-class recall.
void plot_confusion(const ConfusionMatrix& cm, const std::string& title, const std::filesystem::path& png);

}  // namespace moodtunes
