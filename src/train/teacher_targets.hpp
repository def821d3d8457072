// Distillation's soft targets: a trained model's (the teacher's) test-time-augmented reading of
// every training face, read through the inference classifier (model/classifier.hpp) exactly as
// `eval --tta` reads it, and cached in a file keyed by the teacher file's contents, the views and
// the training faces, so a resumed or repeated run does not recompute them.
//
// Output: N x kNumEmotions float probabilities on the CPU, row i for train face i. Throws
// std::runtime_error when the teacher or the cache cannot be read or written, and
// std::invalid_argument in the trainer-only GPU build (MOODTUNES_TRAINER_ONLY: no OpenCV DNN to
// read the teacher). Internal to src/train (includes LibTorch). Not thread-safe for one cache.
#pragma once

#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "data/fer_dataset.hpp"

namespace moodtunes {

torch::Tensor teacher_targets(const FerDataset& train, const std::filesystem::path& teacher, const std::string& tta_name,
                              const std::filesystem::path& cache);

}  // namespace moodtunes
