// The emotion network's architecture, described without any framework so that the LibTorch
// trainer (src/train) and the inference engines (classifier.hpp: XNNPACK, OpenCV DNN) build the same
// graph from one description.
//
// Network (a small ResNet): stem 3x3 conv(1 -> stem) -> BN -> ReLU at full resolution; then
// per stage, `blocks` residual blocks of `channels` (conv3x3-BN-ReLU-conv3x3-BN, plus the input
// through a 1x1 conv-BN projection when the channel count changes, then ReLU), followed by a
// 2x2 max-pool. Head: flatten -> dropout -> fully-connected(fc_hidden) -> ReLU -> dropout ->
// fully-connected(kNumEmotions). Input: 1 x kFaceSize x kFaceSize from preprocess/preprocess.hpp.
// Plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moodtunes {

struct StageSpec {
  int channels = 0;
  int blocks = 1;
};

struct ArchSpec {
  int stem = 32;
  std::vector<StageSpec> stages;
  int fc_hidden = 256;
  float dropout = 0.3f;

  // The default shipped architecture.
  static ArchSpec standard();
  // standard() with a second residual block in the 12x12 and 6x6 stages (0.46 GFLOP). It holds
  // standard() as a sub-network, so a standard checkpoint warm-starts it exactly (the added
  // blocks start as identity).
  static ArchSpec deep();
  // deep()'s layout, narrowed for the 2 ms batch-1 latency goal (0.23 GFLOP, about half of
  // deep()): 16 channels at full resolution, three quarters of deep()'s width after. A trained
  // deep() network warm-starts it by keeping its strongest channels (model/slim.hpp).
  static ArchSpec fast();
  // A small one for fast tests.
  static ArchSpec tiny();
  // The named architectures above, by name ("standard", "deep", "fast", "tiny"); throws
  // std::invalid_argument for any other name. kArchNames lists them for CLI choices.
  static ArchSpec by_name(const std::string& name);

  int final_channels() const;
  int final_spatial() const;  // side after all pooling stages
  std::int64_t parameter_count() const;
  double gflops() const;  // multiply-adds x 2 for one face, in GFLOP

  // Names of the convolutions in graph order; each has "<name>.weight" [out,in,k,k] and
  // "<name>.bias" [out] in the model file (BatchNorm folded in).
  struct ConvRef {
    std::string name;
    int in, out, kernel, side;  // side = spatial size it runs at
  };
  std::vector<ConvRef> convs() const;

  nlohmann::json to_json() const;
  static ArchSpec from_json(const nlohmann::json& j);  // throws std::invalid_argument
};

inline constexpr const char* kArchNames[] = {"standard", "deep", "fast", "tiny"};

// Tensor/layer names of block b in stage s.
std::string block_name(std::size_t stage, int block);

}  // namespace moodtunes
