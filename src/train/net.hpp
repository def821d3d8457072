// The training network: the architecture of model/arch.hpp as LibTorch modules, each conv a
// ConvBn unit (conv without bias + BatchNorm) named as ArchSpec::convs() names it, so export
// (train/checkpoint.hpp) folds each unit into one biased conv by name.
//
// ConvBn can record the per-channel moments of its conv output while `calibrating` (what
// train/batch_norm.hpp's calibration reads). Internal to src/train (includes LibTorch). Not
// thread-safe (a LibTorch module).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <torch/torch.h>

#include "model/arch.hpp"

namespace moodtunes {

// conv (no bias) + BatchNorm, the unit that export folds into one biased conv.
struct ConvBnImpl : torch::nn::Module {
  ConvBnImpl(int in, int out, int kernel);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d bn;
  bool calibrating = false;
  torch::Tensor moment1, moment2;  // per-channel sums of the conv output and its square (float64)
  std::int64_t moment_count = 0;   // values per channel summed
};
TORCH_MODULE(ConvBn);

struct EmotionNetImpl : torch::nn::Module {
  explicit EmotionNetImpl(const ArchSpec& spec);
  torch::Tensor forward(torch::Tensor x);

  ArchSpec arch;
  std::map<std::string, ConvBn> units;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(EmotionNet);

}  // namespace moodtunes
