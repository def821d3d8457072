#include "train/batch_norm.hpp"

#include <algorithm>

namespace moodtunes {

void calibrate_batch_norm(EmotionNet& net, const ForwardSample& forward_sample) {
  torch::NoGradGuard no_grad;
  for (auto& [name, unit] : net->units) {
    unit->calibrating = true;
    unit->moment1 = unit->moment2 = torch::Tensor();
    unit->moment_count = 0;
  }
  net->eval();
  forward_sample(net);
  net->train();
  for (auto& [name, unit] : net->units) {
    unit->calibrating = false;
    const double count = static_cast<double>(std::max<std::int64_t>(1, unit->moment_count));
    auto mean = unit->moment1 / count;
    auto var = (unit->moment2 / count - mean * mean).clamp_min(0);
    auto& bn = unit->bn;
    const double eps = bn->options.eps();
    bn->weight.copy_((var + eps).sqrt());
    bn->bias.copy_(bn->bias.to(torch::kFloat64) + mean);
    bn->running_mean.copy_(mean);
    bn->running_var.copy_(var);
    unit->moment1 = unit->moment2 = torch::Tensor();
  }
}

void recompute_batch_norm_statistics(EmotionNet& net, const ForwardSample& forward_sample) {
  torch::NoGradGuard no_grad;
  for (auto& [name, unit] : net->units) {
    unit->bn->reset_running_stats();
    unit->bn->options.momentum(c10::nullopt);  // cumulative average over all batches
  }
  net->train();
  forward_sample(net);
  net->eval();
}

}  // namespace moodtunes
