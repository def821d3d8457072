#include "train/weight_average.hpp"

#include <stdexcept>
#include <string>

namespace moodtunes {

void WeightAverage::add(const EmotionNet& net) {
  torch::NoGradGuard no_grad;
  const auto params = net->parameters();
  if (count_ == 0) {
    average_.clear();
    for (const auto& p : params) average_.push_back(p.detach().clone());
  } else {
    for (std::size_t i = 0; i < params.size(); ++i)
      average_[i].add_(params[i].detach() - average_[i], 1.0 / double(count_ + 1));
  }
  ++count_;
}

EmotionNet WeightAverage::net(const ArchSpec& arch, torch::Device device, const ForwardSample& forward_sample) const {
  torch::NoGradGuard no_grad;
  EmotionNet averaged(arch);
  averaged->to(device);
  auto params = averaged->parameters();
  for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(average_[i]);
  recompute_batch_norm_statistics(averaged, forward_sample);
  return averaged;
}

void WeightAverage::save(torch::serialize::OutputArchive& archive) const {
  for (std::size_t i = 0; i < average_.size(); ++i) archive.write(std::to_string(i), average_[i]);
}

void WeightAverage::load(torch::serialize::InputArchive& archive, int count, const EmotionNet& shape, torch::Device device,
                         const std::filesystem::path& source) {
  count_ = count;
  average_.clear();
  if (count_ <= 0) return;
  for (const auto& p : shape->parameters()) {
    torch::Tensor t;
    archive.read(std::to_string(average_.size()), t);
    if (t.sizes() != p.sizes()) throw std::invalid_argument("checkpoint " + source.string() + ": corrupt SWA average");
    average_.push_back(t.to(device));
  }
}

}  // namespace moodtunes
