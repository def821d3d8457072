// Timing helpers for bench/: the LibTorch eager forward of an architecture (the baseline the
// inference engine is compared with) and training throughput. Header free of LibTorch.
#pragma once

#include <vector>

#include "model/arch.hpp"
#include "train/trainer.hpp"

namespace moodtunes {

// Per-call wall times (ms) of `iters` eval-mode forwards at `batch`, after a warm-up.
std::vector<double> time_torch_forward(const ArchSpec& arch, int batch, int iters, int threads);

// Images per second of `steps` optimiser steps (after 3 warm-up steps) with these options.
double time_training_throughput(const TrainOptions& options, int steps);

}  // namespace moodtunes
