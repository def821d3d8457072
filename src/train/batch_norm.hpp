// BatchNorm statistics of the training network from a fixed sample of training faces, for the
// two cases where the weights did not come from training with these statistics:
//   calibrate_batch_norm(): a warm start from a .mtm, whose BatchNorm is folded into the convs
//     and restored as conv + identity BN (train/checkpoint.hpp). In training mode BN would
//     divide each conv's output by its batch statistics and throw the warm start away (a 69%
//     model trained on at 41% training accuracy), so each conv's per-channel output mean m and
//     variance v are measured through the folded model and BN is set to undo that
//     normalisation: weight sqrt(v + eps), bias m + the folded bias, running statistics m and v.
//     Eval mode then computes the folded model exactly, training mode up to batch noise.
//   recompute_batch_norm_statistics(): averaged weights (train/weight_average.hpp) match no
//     epoch's statistics; they are recomputed as the cumulative mean over the sample.
//
// `forward_sample` forwards the sample (no gradient) through the net it is given, in the net's
// current mode; the same sample every call, so equal weights give equal statistics. Both leave
// the net in the mode named below. Internal to src/train (LibTorch). Not thread-safe.
#pragma once

#include <functional>

#include "train/net.hpp"

namespace moodtunes {

using ForwardSample = std::function<void(EmotionNet&)>;

// Leaves `net` in training mode.
void calibrate_batch_norm(EmotionNet& net, const ForwardSample& forward_sample);
// Leaves `net` in eval mode.
void recompute_batch_norm_statistics(EmotionNet& net, const ForwardSample& forward_sample);

}  // namespace moodtunes
