// Stochastic weight averaging (TrainOptions::swa_epochs): the running mean of the network's
// parameters at the end of each SWA epoch, kept on the training device, saved in and restored
// from checkpoints (train/checkpoint.hpp) so a resumed run averages exactly what an
// uninterrupted one would.
//
// add() takes a net of the architecture every call; net() builds the average as a network of its
// own, its BatchNorm statistics recomputed (train/batch_norm.hpp), in eval mode. Internal to
// src/train (LibTorch). Not thread-safe.
#pragma once

#include <filesystem>
#include <vector>

#include <torch/torch.h>

#include "train/batch_norm.hpp"
#include "train/net.hpp"

namespace moodtunes {

class WeightAverage {
 public:
  // Adds `net`'s current weights to the average.
  void add(const EmotionNet& net);
  // How many weight sets are averaged (0: none yet).
  int count() const { return count_; }
  EmotionNet net(const ArchSpec& arch, torch::Device device, const ForwardSample& forward_sample) const;

  // One tensor per parameter, named by index; nothing to write while count() is 0.
  void save(torch::serialize::OutputArchive& archive) const;
  // Restores an average of `count` weight sets from `archive` (ignored when count is 0), each
  // tensor shaped as the parameter of `shape` it averages, onto `device`. Throws
  // std::invalid_argument naming `source` when a shape differs.
  void load(torch::serialize::InputArchive& archive, int count, const EmotionNet& shape, torch::Device device,
            const std::filesystem::path& source);

 private:
  std::vector<torch::Tensor> average_;
  int count_ = 0;
};

}  // namespace moodtunes
