// A random model of an architecture (the tiny one by default) with every tensor the inference
// graph needs; another seed gives other weights.
#pragma once

#include <random>

#include "model/model_file.hpp"

namespace moodtunes::test {

inline ModelFile random_model(const ArchSpec& arch, unsigned seed = 3) {
  ModelFile m;
  m.arch = arch;
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.f, 0.1f);
  auto add = [&](const std::string& name, std::vector<int> shape) {
    NamedTensor t{name, shape, {}};
    std::size_t count = 1;
    for (int d : shape) count *= static_cast<std::size_t>(d);
    for (std::size_t i = 0; i < count; ++i) t.data.push_back(n(rng));
    m.tensors.push_back(std::move(t));
  };
  for (const auto& c : m.arch.convs()) {
    add(c.name + ".weight", {c.out, c.in, c.kernel, c.kernel});
    add(c.name + ".bias", {c.out});
  }
  const int flat = m.arch.final_channels() * m.arch.final_spatial() * m.arch.final_spatial();
  add("fc1.weight", {m.arch.fc_hidden, flat});
  add("fc1.bias", {m.arch.fc_hidden});
  add("fc2.weight", {7, m.arch.fc_hidden});
  add("fc2.bias", {7});
  m.info = {{"note", "test"}};
  return m;
}

inline ModelFile random_tiny_model(unsigned seed = 3) { return random_model(ArchSpec::tiny(), seed); }


}  // namespace moodtunes::test
