#include "train/net.hpp"

#include <algorithm>

#include "core/emotion.hpp"

namespace moodtunes {

ConvBnImpl::ConvBnImpl(int in, int out, int kernel)
    : conv(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).padding(kernel / 2).bias(false)))),
      bn(register_module("bn", torch::nn::BatchNorm2d(out))) {
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
}

torch::Tensor ConvBnImpl::forward(const torch::Tensor& x) {
  auto z = conv->forward(x);
  if (calibrating) {  // per-channel moments of the conv output (see calibrate_batch_norm())
    auto z64 = z.detach().to(torch::kFloat64);
    moment1 = moment1.defined() ? moment1 + z64.sum({0, 2, 3}) : z64.sum({0, 2, 3});
    moment2 = moment2.defined() ? moment2 + (z64 * z64).sum({0, 2, 3}) : (z64 * z64).sum({0, 2, 3});
    moment_count += z.numel() / z.size(1);
  }
  return bn->forward(z);
}

EmotionNetImpl::EmotionNetImpl(const ArchSpec& spec) : arch(spec) {
  // Registered in ArchSpec::convs() order with the same names, so export is a lookup.
  for (const auto& c : arch.convs()) {
    std::string key = c.name;
    std::replace(key.begin(), key.end(), '.', '_');
    units.emplace(c.name, register_module(key, ConvBn(c.in, c.out, c.kernel)));
  }
  // Zero-init the last BN of each block so every block starts as identity: deep nets take
  // off from the first steps instead of idling near chance.
  for (std::size_t s = 0; s < arch.stages.size(); ++s)
    for (int b = 0; b < arch.stages[s].blocks; ++b) torch::nn::init::zeros_(units.at(block_name(s, b) + ".conv2")->bn->weight);
  const int flat = arch.final_channels() * arch.final_spatial() * arch.final_spatial();
  fc1 = register_module("fc1", torch::nn::Linear(flat, arch.fc_hidden));
  fc2 = register_module("fc2", torch::nn::Linear(arch.fc_hidden, static_cast<int>(kNumEmotions)));
}

torch::Tensor EmotionNetImpl::forward(torch::Tensor x) {
  x = torch::relu(units.at("stem")->forward(x));
  for (std::size_t s = 0; s < arch.stages.size(); ++s) {
    for (int b = 0; b < arch.stages[s].blocks; ++b) {
      const std::string name = block_name(s, b);
      auto y = torch::relu(units.at(name + ".conv1")->forward(x));
      y = units.at(name + ".conv2")->forward(y);
      auto proj = units.find(name + ".proj");
      x = torch::relu(y + (proj != units.end() ? proj->second->forward(x) : x));
    }
    x = torch::max_pool2d(x, 2);
  }
  x = x.flatten(1);
  x = torch::dropout(x, arch.dropout, is_training());
  x = torch::relu(fc1->forward(x));
  x = torch::dropout(x, arch.dropout, is_training());
  return fc2->forward(x);
}

}  // namespace moodtunes
