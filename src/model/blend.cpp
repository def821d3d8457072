#include "model/blend.hpp"

#include <stdexcept>

namespace moodtunes {

ModelFile blend_models(const ModelFile& from, const ModelFile& to, double weight, const std::string& from_name,
                       const std::string& to_name) {
  if (!(weight >= 0 && weight <= 1)) throw std::invalid_argument("blend weight must be between 0 and 1");
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
    for (std::size_t i = 0; i < t.data.size(); ++i)
      t.data[i] = static_cast<float>((1 - weight) * a.data[i] + weight * t.data[i]);
  }
  out.info.erase("val");
  out.info.erase("int8");
  out.info["blend"] = {{"from", from_name}, {"to", to_name}, {"weight", weight}};
  return out;
}

}  // namespace moodtunes
