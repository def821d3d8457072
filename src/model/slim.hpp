// Narrowing a trained network to a smaller architecture of the same layout, to warm-start the
// smaller one (`moodtunes train --arch fast --init deep.mtm`): it keeps the source's strongest
// channels and its first blocks, so training starts from what the source learnt rather than from
// random weights. Works on inference-form tensors (BatchNorm folded), without LibTorch.
//
// slim_model(source, target):
//   requires: target has as many stages as source.arch, and no stage, stem or fc_hidden wider
//     than the source's, nor more blocks in a stage; and where the source projects a stage's input
//     (1x1 conv, channel counts differ) the target must project it too. Otherwise throws
//     std::invalid_argument saying which part does not fit.
//   ensures: a ModelFile of `target` whose every tensor is a slice of the source's:
//     - each residual trunk (the channels a stage's blocks add into, which the stem shares with
//       the first stage when their widths match) keeps its channels with the largest summed L1
//       norm of the filters that write them; each block's inner channels likewise by their conv1
//       filters; the hidden units by |fc1 row| x |fc2 column|. Kept channels stay in order.
//     - a stage keeps its first target.blocks blocks. Dropping the rest is exact when they add
//       nothing (zero residual), otherwise an approximation that training then repairs.
//     - where the target needs a 1x1 projection the source did not have (a narrower stem than
//       stage), it is the selection that passes each kept channel through unchanged.
//     So a source whose dropped channels and blocks are all zero narrows to a network that
//     computes exactly what it computed. A target equal to source.arch returns the same tensors.
//   info: {"narrowed_from": source.arch as JSON}. Pure function, reentrant.
#pragma once

#include "model/arch.hpp"
#include "model/model_file.hpp"

namespace moodtunes {

ModelFile slim_model(const ModelFile& source, const ArchSpec& target);

}  // namespace moodtunes
