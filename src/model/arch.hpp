// The emotion network's architecture, described without any framework so that the LibTorch
// trainer (src/train) and the OpenCV-DNN inference engine (classifier.hpp) build the same
// graph from one description.
//
// Network: for each stage, 3x3 conv (pad 1) -> BatchNorm -> ReLU per entry in `stages[i]`
// (the entry is the output channel count), then 2x2 max-pool. Then flatten -> dropout ->
// fully-connected(fc_hidden) -> ReLU -> dropout -> fully-connected(kNumEmotions).
// Input: 1 x kFaceSize x kFaceSize, preprocessed by core/preprocess.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace moodtunes {

struct ArchSpec {
  std::vector<std::vector<int>> stages;
  int fc_hidden = 256;
  float dropout = 0.4f;

  // The default shipped architecture.
  static ArchSpec standard();
  // A small one for fast tests.
  static ArchSpec tiny();

  int final_channels() const;
  int final_spatial() const;  // side after all pooling stages
  std::int64_t parameter_count() const;
  double gflops() const;  // multiply-adds x 2 for one face, in GFLOP

  nlohmann::json to_json() const;
  static ArchSpec from_json(const nlohmann::json& j);  // throws std::invalid_argument
};

}  // namespace moodtunes
