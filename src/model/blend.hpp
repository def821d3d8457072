// Weight-space blending of two networks of the same architecture: every tensor becomes
// (1 - weight) * from + weight * to. Blending a network with its own fine-tuned copy keeps most
// of what the fine-tune gained on the new domain (real photos) while returning most of what it
// cost on the old one (FER-2013), where either network alone trades one for the other (Wortsman
// et al., "Robust fine-tuning of zero-shot models", 2022). Both files fold BatchNorm into the
// convolutions the same way, so the blend is itself a folded network.
//
// Contract: both models have the same architecture and the same tensor names and shapes, else
// ModelError; weight in [0, 1], else std::invalid_argument. The result carries `to`'s info
// without its val reading and int8 calibration (both belong to the unblended weights), plus
// `blend` {from, to, weight}. Pure function; thread-safe.
#pragma once

#include <string>

#include "model/model_file.hpp"

namespace moodtunes {

ModelFile blend_models(const ModelFile& from, const ModelFile& to, double weight, const std::string& from_name,
                       const std::string& to_name);

}  // namespace moodtunes
