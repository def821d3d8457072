// AdamW whose step updates all parameters with a handful of multi-tensor (_foreach) operations
// instead of about eight operations per parameter tensor.
//
// Why: on a GPU this trainer's steps are short and LibTorch's per-parameter AdamW loop (about 500
// dispatched operations per step for the shipped architecture) costs host time that the GPU
// waits on. The arithmetic, its order and the optimizer state are torch::optim::AdamW's: the
// same state objects (step, exp_avg, exp_avg_sq), so save()/load() and checkpoints are
// interchangeable with torch::optim::AdamW, and on the CPU a step gives bitwise the same weights.
//
// Contract: options as torch::optim::AdamW's, without amsgrad (std::invalid_argument) and
// without a loss closure (ignored: pass none). Parameters without a gradient are skipped, as
// AdamW does; all parameters of a group that have one must be on one device.
// zero_gradients(optimizer) zeroes the defined gradients as Optimizer::zero_grad() does, in one
// operation, for any optimizer. Not thread-safe (as any torch optimizer).
#pragma once

#include <vector>

#include <torch/optim/adamw.h>

namespace moodtunes {

class MultiTensorAdamW : public torch::optim::AdamW {
 public:
  MultiTensorAdamW(std::vector<torch::Tensor> params, torch::optim::AdamWOptions options);
  torch::Tensor step(LossClosure closure = nullptr) override;
};

void zero_gradients(torch::optim::Optimizer& optimizer);

}  // namespace moodtunes
