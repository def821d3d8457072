// Helpers of the model tests: random models of any architecture with every tensor the inference
// graph needs (another seed gives other weights), noise faces, and how far two readings differ.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <opencv2/core.hpp>

#include "core/emotion.hpp"
#include "model/model_file.hpp"

namespace moodtunes::test {

inline ModelFile random_model(const ArchSpec& arch, unsigned seed = 3) {
  ModelFile m;
  m.arch = arch;
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.f, 0.1f);
  auto add = [&](const std::string& name, std::vector<int> shape) {
    NamedTensor t{name, shape, {}};
    std::size_t count = 1;
    for (int d : shape) count *= static_cast<std::size_t>(d);
    for (std::size_t i = 0; i < count; ++i) t.data.push_back(n(rng));
    m.tensors.push_back(std::move(t));
  };
  for (const auto& c : m.arch.convs()) {
    add(c.name + ".weight", {c.out, c.in, c.kernel, c.kernel});
    add(c.name + ".bias", {c.out});
  }
  const int flat = m.arch.final_channels() * m.arch.final_spatial() * m.arch.final_spatial();
  add("fc1.weight", {m.arch.fc_hidden, flat});
  add("fc1.bias", {m.arch.fc_hidden});
  add("fc2.weight", {7, m.arch.fc_hidden});
  add("fc2.bias", {7});
  m.info = {{"note", "test"}};
  return m;
}

inline ModelFile random_tiny_model(unsigned seed = 3) { return random_model(ArchSpec::tiny(), seed); }

// random_model() with larger weights, so activations do not fade and the logits spread out.
inline ModelFile spread_model(const ArchSpec& arch, unsigned seed = 3) {
  ModelFile m = random_model(arch, seed);
  for (auto& t : m.tensors)
    for (auto& v : t.data) v *= 4;
  return m;
}

// 48x48 faces of uniform noise.
inline std::vector<cv::Mat> noise_faces(int n, std::uint64_t seed = 9) {
  std::vector<cv::Mat> faces;
  cv::RNG rng(seed);
  for (int i = 0; i < n; ++i) {
    cv::Mat f(48, 48, CV_8UC1);
    rng.fill(f, cv::RNG::UNIFORM, 0, 256);
    faces.push_back(f);
  }
  return faces;
}

// The largest difference of any class probability between two readings of the same faces.
inline float max_difference(const std::vector<EmotionProbs>& a, const std::vector<EmotionProbs>& b) {
  float worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t c = 0; c < kNumEmotions; ++c) worst = std::max(worst, std::abs(a[i][c] - b[i][c]));
  return worst;
}


}  // namespace moodtunes::test
