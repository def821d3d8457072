#include "support/torch_bench.hpp"

#include <chrono>

#include <torch/torch.h>

namespace moodtunes {

std::vector<double> time_torch_forward(const ArchSpec& arch, int batch, int iters, int threads) {
  torch::set_num_threads(threads);
  // Build through a throw-away trainer-independent module: the same graph as EmotionNet,
  // assembled from functional ops so this file does not depend on trainer internals.
  torch::manual_seed(0);
  std::vector<torch::Tensor> weights;
  const auto convs = arch.convs();
  for (const auto& c : convs) weights.push_back(torch::randn({c.out, c.in, c.kernel, c.kernel}) * 0.05);
  const int flat = arch.final_channels() * arch.final_spatial() * arch.final_spatial();
  auto fc1 = torch::randn({arch.fc_hidden, flat}) * 0.01, fc2 = torch::randn({7, arch.fc_hidden}) * 0.01;
  auto conv = [&](const torch::Tensor& x, std::size_t i) {
    return torch::conv2d(x, weights[i], {}, 1, convs[i].kernel / 2);
  };
  auto forward = [&](torch::Tensor x) {
    std::size_t i = 0;
    x = torch::relu(conv(x, i++));
    for (const auto& stage : arch.stages) {
      for (int b = 0; b < stage.blocks; ++b) {
        const bool proj = i + 2 < convs.size() && convs[i + 2].kernel == 1;
        auto y = conv(torch::relu(conv(x, i)), i + 1);
        x = torch::relu(y + (proj ? conv(x, i + 2) : x));
        i += proj ? 3 : 2;
      }
      x = torch::max_pool2d(x, 2);
    }
    return torch::linear(torch::relu(torch::linear(x.flatten(1), fc1)), fc2);
  };
  torch::NoGradGuard no_grad;
  auto input = torch::randn({batch, 1, 48, 48});
  for (int i = 0; i < 5; ++i) forward(input);
  std::vector<double> times;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    forward(input);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return times;
}

double time_training_throughput(const TrainOptions& options, int steps) {
  Trainer trainer(options);
  for (int i = 0; i < 3; ++i) trainer.step();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) trainer.step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return double(steps) * options.batch_size / s;
}

}  // namespace moodtunes
