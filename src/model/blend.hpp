// Weight-space blending of two networks of the same architecture: every tensor becomes
// (1 - w) * from + w * to. Blending a network with its own fine-tuned copy keeps most of what
// the fine-tune gained on the new domain (real photos) while returning most of what it cost on
// the old one (FER-2013), where either network alone trades one for the other (Wortsman et al.,
// "Robust fine-tuning of zero-shot models", 2022). Both files fold BatchNorm into the
// convolutions the same way, so the blend is itself a folded network.
//
// The weight may change with depth: BlendWeights{input, output} gives the first convolution
// `input`, the last layer (fc2) `output`, and the layers between a weight on the straight line
// from one to the other by their order in the network: which layers a domain shift should
// change depends on the shift (Lee et al., "Surgical fine-tuning improves adaptation to
// distribution shifts", 2023). For FER-2013 -> real photos the late layers carry most of the
// gain (docs/experiments.md, "depth-ramped blends"). A weight outside [0, 1] extrapolates:
// blend(from, blend(from, to, w), 1 / w) gives `to` back.
//
// Contract: both models have the same architecture and the same tensor names and shapes, else
// ModelError; weights finite, else std::invalid_argument. The result carries `to`'s info
// without its val reading and int8 calibration (both belong to the unblended weights), plus
// `blend` {from, to, weight} (and `weight_output` when the two ends differ). Pure function;
// thread-safe.
#pragma once

#include <string>

#include "model/model_file.hpp"

namespace moodtunes {

struct BlendWeights {
  double input = 0.5;   // weight of `to` at the first convolution
  double output = 0.5;  // at the last layer (fc2)
  static BlendWeights uniform(double w) { return {w, w}; }
};

// The weight of `to` for a tensor ("<layer>.weight" or "<layer>.bias", a layer of
// ArchSpec::convs(), fc1 or fc2) of a network of architecture `arch`. Throws ModelError for a
// tensor of no layer of `arch`.
double blend_weight_at(const BlendWeights& weights, const ArchSpec& arch, const std::string& tensor);

ModelFile blend_models(const ModelFile& from, const ModelFile& to, const BlendWeights& weights,
                       const std::string& from_name, const std::string& to_name);
inline ModelFile blend_models(const ModelFile& from, const ModelFile& to, double weight, const std::string& from_name,
                              const std::string& to_name) {
  return blend_models(from, to, BlendWeights::uniform(weight), from_name, to_name);
}

}  // namespace moodtunes
