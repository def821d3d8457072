#include "model/blend.hpp"

#include <cmath>
#include <stdexcept>

namespace moodtunes {

namespace {

// How deep a tensor's layer sits, from 0 (the stem) to 1 (fc2): its position in the order the
// network reads its layers (ArchSpec::convs(), then fc1, fc2) over the last position.
double layer_depth(const ArchSpec& arch, const std::string& tensor) {
  const std::string layer = tensor.substr(0, tensor.rfind('.'));
  const auto convs = arch.convs();
  const auto n = static_cast<double>(convs.size());
  if (layer == "fc1") return n / (n + 1);
  if (layer == "fc2") return 1;
  for (std::size_t k = 0; k < convs.size(); ++k)
    if (convs[k].name == layer) return static_cast<double>(k) / (n + 1);
  throw ModelError("cannot blend: tensor " + tensor + " belongs to no layer of the architecture");
}

}  // namespace

double blend_weight_at(const BlendWeights& weights, const ArchSpec& arch, const std::string& tensor) {
  return weights.input + (weights.output - weights.input) * layer_depth(arch, tensor);
}

ModelFile blend_models(const ModelFile& from, const ModelFile& to, const BlendWeights& weights,
                       const std::string& from_name, const std::string& to_name) {
  if (!std::isfinite(weights.input) || !std::isfinite(weights.output))
    throw std::invalid_argument("blend weight must be a finite number");
  const auto same_stages = [&] {
    if (from.arch.stages.size() != to.arch.stages.size()) return false;
    for (std::size_t s = 0; s < from.arch.stages.size(); ++s)
      if (from.arch.stages[s].channels != to.arch.stages[s].channels || from.arch.stages[s].blocks != to.arch.stages[s].blocks)
        return false;
    return true;
  };
  if (from.arch.stem != to.arch.stem || from.arch.fc_hidden != to.arch.fc_hidden || !same_stages() ||
      from.tensors.size() != to.tensors.size())
    throw ModelError("cannot blend " + from_name + " with " + to_name + ": not the same architecture");
  ModelFile out = to;
  for (auto& t : out.tensors) {
    const NamedTensor& a = from.tensor(t.name);
    if (a.shape != t.shape) throw ModelError("cannot blend: tensor " + t.name + " differs in shape");
    const double w = blend_weight_at(weights, to.arch, t.name);
    for (std::size_t i = 0; i < t.data.size(); ++i) t.data[i] = static_cast<float>((1 - w) * a.data[i] + w * t.data[i]);
  }
  out.info.erase("val");
  out.info.erase("int8");
  out.info["blend"] = {{"from", from_name}, {"to", to_name}, {"weight", weights.input}};
  if (weights.output != weights.input) out.info["blend"]["weight_output"] = weights.output;
  return out;
}

}  // namespace moodtunes
