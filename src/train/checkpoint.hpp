// The training network's files:
//   checkpoint.pt (write_checkpoint / read_checkpoint_state): weights with their BatchNorm,
//     optimizer state, the run's state record (step, epoch history, arch, seed...) and the SWA
//     average, so a resumed run replays exactly; written to a temporary file and renamed, so a
//     crash mid-write never destroys the last good checkpoint.
//   the exported model (to_model_file): BatchNorm folded into each conv, the .mtm weights that
//     inference reads (model/model_file.hpp); load_folded_weights() is its inverse for a warm
//     start, each unit restored as conv + identity BatchNorm (then see train/batch_norm.hpp).
// Internal to src/train (LibTorch). Not thread-safe.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "model/model_file.hpp"
#include "train/net.hpp"
#include "train/weight_average.hpp"

namespace moodtunes {

void write_checkpoint(const std::filesystem::path& path, const EmotionNet& net, const torch::optim::Optimizer& optimizer,
                      const nlohmann::json& state, const WeightAverage& average);

// Opens a checkpoint written by write_checkpoint() and returns its state record; the archive
// stays open for reading "model", "optimizer" and "swa". Tensors land on `device` whatever
// device wrote them.
nlohmann::json read_checkpoint_state(torch::serialize::InputArchive& archive, const std::filesystem::path& path,
                                     torch::Device device);

// `net` as a model file with `info`, BatchNorm folded into the convs (eval-mode arithmetic).
ModelFile to_model_file(const EmotionNet& net, const nlohmann::json& info);

// A model file of `net`'s architecture into `net`: each conv's folded weight and bias, BatchNorm
// as identity. Throws ModelError when a tensor's size differs.
void load_folded_weights(EmotionNet& net, const ModelFile& model);

}  // namespace moodtunes
