#include "train/multi_tensor_adamw.hpp"

#include <cmath>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <ATen/ATen.h>
#include <torch/autograd.h>

namespace moodtunes {
namespace {
// The key under which torch optimizers keep a parameter's state: its TensorImpl address, as text
// in LibTorch 1.13 (c10::guts::to_string, i.e. ostream output), as a pointer in later releases.
// Deduced from the map so the trainer builds against the GPU machine's PyTorch too.
template <class StateMap>
typename StateMap::key_type state_key(const torch::Tensor& p) {
  using Key = typename StateMap::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;
    text << p.unsafeGetTensorImpl();
    return text.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}
}  // namespace

MultiTensorAdamW::MultiTensorAdamW(std::vector<torch::Tensor> params, torch::optim::AdamWOptions options)
    : torch::optim::AdamW(std::move(params), options) {
  if (options.amsgrad()) throw std::invalid_argument("MultiTensorAdamW: amsgrad is not supported");
}

torch::Tensor MultiTensorAdamW::step(LossClosure /*closure*/) {
  torch::NoGradGuard no_grad;
  // The tensors one multi-tensor update takes: the parameters that reach the same step count.
  // Parameters that joined together step together, so there is one bucket; a parameter whose
  // state came from elsewhere or that sat out steps gets a bucket of its own bias correction.
  struct Bucket {
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
  };
  for (auto& group : param_groups_) {
    auto& options = static_cast<torch::optim::AdamWOptions&>(group.options());
    std::map<std::int64_t, Bucket> buckets;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      // The key and the lazy initialisation are AdamW's own, so either class reads the other's state.
      const auto key = state_key<std::remove_reference_t<decltype(state_)>>(p);
      auto found = state_.find(key);
      if (found == state_.end()) {
        auto state = std::make_unique<torch::optim::AdamWParamState>();
        state->step(0);
        state->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        state->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        found = state_.emplace(key, std::move(state)).first;
      }
      auto& state = static_cast<torch::optim::AdamWParamState&>(*found->second);
      state.step(state.step() + 1);
      Bucket& bucket = buckets[state.step()];
      bucket.params.push_back(p);
      bucket.grads.push_back(p.grad());
      bucket.exp_avgs.push_back(state.exp_avg());
      bucket.exp_avg_sqs.push_back(state.exp_avg_sq());
    }
    const double beta1 = std::get<0>(options.betas()), beta2 = std::get<1>(options.betas());
    const double lr = options.lr(), eps = options.eps();
    for (auto& [step, b] : buckets) {
      if (options.weight_decay() != 0) at::_foreach_mul_(b.params, 1 - lr * options.weight_decay());
      at::_foreach_mul_(b.exp_avgs, beta1);
      at::_foreach_add_(b.exp_avgs, b.grads, 1 - beta1);
      at::_foreach_mul_(b.exp_avg_sqs, beta2);
      at::_foreach_addcmul_(b.exp_avg_sqs, b.grads, b.grads, 1 - beta2);
      const double bias_correction1 = 1 - std::pow(beta1, double(step));
      const double bias_correction2 = 1 - std::pow(beta2, double(step));
      auto denominators = at::_foreach_sqrt(b.exp_avg_sqs);
      at::_foreach_div_(denominators, std::sqrt(bias_correction2));
      at::_foreach_add_(denominators, eps);
      at::_foreach_addcdiv_(b.params, b.exp_avgs, denominators, -lr / bias_correction1);
    }
  }
  return {};
}

void zero_gradients(torch::optim::Optimizer& optimizer) {
  std::vector<torch::Tensor> grads;
  for (auto& group : optimizer.param_groups())
    for (auto& p : group.params())
      if (p.grad().defined()) {
        p.mutable_grad().detach_();
        grads.push_back(p.grad());
      }
  if (!grads.empty()) at::_foreach_zero_(grads);
}

}  // namespace moodtunes
