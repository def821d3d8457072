// MultiTensorAdamW (src/train/multi_tensor_adamw.hpp) against LibTorch's own AdamW: the same
// weights bit for bit on the CPU, interchangeable optimizer state, and the trainer's gradient
// zeroing.
#include <gtest/gtest.h>

#include <functional>
#include <sstream>

#include <torch/torch.h>

#include "train/multi_tensor_adamw.hpp"

using moodtunes::MultiTensorAdamW;

namespace {
// A small conv net with parameters of several shapes, the same weights for the same seed.
torch::nn::Sequential small_net(std::uint64_t seed) {
  torch::manual_seed(seed);
  return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3)), torch::nn::BatchNorm2d(4),
                               torch::nn::ReLU(), torch::nn::Flatten(), torch::nn::Linear(4 * 6 * 6, 7));
}

torch::optim::AdamWOptions options() { return torch::optim::AdamWOptions(0.01).weight_decay(0.05); }

// One training step of `net` on a batch drawn from `seed`, at learning rate `lr`.
void train_step(torch::nn::Sequential& net, torch::optim::Optimizer& optimizer, std::uint64_t seed, double lr) {
  torch::manual_seed(seed);
  const auto x = torch::randn({5, 1, 8, 8});
  const auto y = torch::randint(0, 7, {5});
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
  moodtunes::zero_gradients(optimizer);
  torch::nn::functional::cross_entropy(net->forward(x), y).backward();
  optimizer.step();
}

// Steps both nets through the same batches (seeds first_seed, first_seed + 1, ...) at the same
// learning rates: lr_of_step(k) for the k-th of these steps.
void train_both(torch::nn::Sequential& a, torch::optim::Optimizer& a_optimizer, torch::nn::Sequential& b,
                torch::optim::Optimizer& b_optimizer, std::uint64_t first_seed, int steps,
                const std::function<double(int)>& lr_of_step = [](int) { return 0.01; }) {
  for (int k = 0; k < steps; ++k) {
    train_step(a, a_optimizer, first_seed + k, lr_of_step(k));
    train_step(b, b_optimizer, first_seed + k, lr_of_step(k));
  }
}

void expect_same_weights(torch::nn::Sequential& a, torch::nn::Sequential& b) {
  const auto pa = a->parameters(), pb = b->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
}
}  // namespace

TEST(MultiTensorAdamW, GivesLibTorchAdamWsWeightsBitForBit) {
  auto reference_net = small_net(1), net = small_net(1);
  torch::optim::AdamW reference(reference_net->parameters(), options());
  MultiTensorAdamW optimizer(net->parameters(), options());
  const auto before = net->parameters()[0].clone();
  // A schedule, as the trainer sets one each step.
  train_both(reference_net, reference, net, optimizer, 100, 6, [](int k) { return 0.01 / (1 + k); });
  expect_same_weights(reference_net, net);
  EXPECT_FALSE(torch::equal(before, net->parameters()[0])) << "the steps must move the weights";
}

TEST(MultiTensorAdamW, AParameterThatSatOutStepsKeepsItsOwnBiasCorrection) {
  auto reference_net = small_net(6), net = small_net(6);
  torch::optim::AdamW reference(reference_net->parameters(), options());
  MultiTensorAdamW optimizer(net->parameters(), options());
  // The last layer's bias sits out the first two steps, so its step count trails the others'.
  for (auto* n : {&reference_net, &net}) (*n)->parameters().back().set_requires_grad(false);
  train_both(reference_net, reference, net, optimizer, 400, 2);
  for (auto* n : {&reference_net, &net}) (*n)->parameters().back().set_requires_grad(true);
  train_both(reference_net, reference, net, optimizer, 402, 3);
  expect_same_weights(reference_net, net);
}

TEST(MultiTensorAdamW, StateIsInterchangeableWithLibTorchAdamWThroughACheckpoint) {
  auto a_net = small_net(2);
  MultiTensorAdamW a(a_net->parameters(), options());
  for (int s = 0; s < 3; ++s) train_step(a_net, a, 200 + s, 0.01);

  // Save (weights and optimizer) and read both into a net that LibTorch's AdamW drives.
  std::stringstream weights, state;
  torch::serialize::OutputArchive net_out, opt_out;
  a_net->save(net_out);
  a.save(opt_out);
  net_out.save_to(weights);
  opt_out.save_to(state);
  auto b_net = small_net(3);
  torch::optim::AdamW b(b_net->parameters(), options());
  torch::serialize::InputArchive net_in, opt_in;
  net_in.load_from(weights);
  opt_in.load_from(state);
  b_net->load(net_in);
  b.load(opt_in);

  train_both(a_net, a, b_net, b, 203, 2);
  expect_same_weights(a_net, b_net);
}

TEST(MultiTensorAdamW, SkipsParametersWithoutGradientsAndZeroesTheOthers) {
  auto net = small_net(4);
  MultiTensorAdamW optimizer(net->parameters(), options());
  auto frozen = net->parameters().back();  // the last layer's bias: never part of the loss here
  frozen.set_requires_grad(false);
  const auto frozen_before = frozen.clone();
  train_step(net, optimizer, 300, 0.01);
  EXPECT_TRUE(torch::equal(frozen, frozen_before)) << "no gradient: no decay, no update";
  EXPECT_EQ(optimizer.state().size(), net->parameters().size() - 1);

  moodtunes::zero_gradients(optimizer);
  for (const auto& p : net->parameters()) {
    if (p.grad().defined()) {
      EXPECT_EQ(p.grad().abs().sum().item<double>(), 0.0);
    }
  }
}

TEST(MultiTensorAdamW, RefusesAmsgrad) {
  auto net = small_net(5);
  EXPECT_THROW(MultiTensorAdamW(net->parameters(), options().amsgrad(true)), std::invalid_argument);
}
