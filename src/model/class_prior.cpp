#include "model/class_prior.hpp"

#include <cmath>
#include <stdexcept>

namespace moodtunes {

EmotionProbs apply_class_bias(const EmotionProbs& p, const ClassBias& bias) {
  EmotionProbs out{};
  float sum = 0;
  for (std::size_t c = 0; c < kNumEmotions; ++c) sum += out[c] = p[c] * std::exp(bias[c]);
  if (sum <= 0) return p;
  for (auto& v : out) v /= sum;
  return out;
}

ConfusionMatrix score_with_bias(const LabelledReadings& set, const ClassBias& bias) {
  ConfusionMatrix cm;
  for (std::size_t i = 0; i < set.probs.size(); ++i) {
    // argmax of p * exp(b) equals argmax of log p + b: no renormalisation needed to rank.
    int best = 0;
    double best_score = -1e300;
    for (std::size_t c = 0; c < kNumEmotions; ++c) {
      const double s = std::log(std::max(1e-30, double(set.probs[i][c]))) + bias[c];
      if (s > best_score) best_score = s, best = static_cast<int>(c);
    }
    cm.add(set.labels[i], best);
  }
  return cm;
}

ClassBiasFit fit_class_bias(const LabelledReadings& tune, const LabelledReadings& guard, const ClassBiasOptions& options) {
  for (const auto* set : {&tune, &guard})
    if (set->probs.empty() || set->probs.size() != set->labels.size())
      throw std::invalid_argument("fit_class_bias: each set needs as many labels as readings, and at least one");
  if (options.step <= 0 || options.limit < 0) throw std::invalid_argument("fit_class_bias: bad grid");
  ClassBiasFit fit;
  fit.tune_before = score_with_bias(tune, fit.bias);
  fit.guard_before = score_with_bias(guard, fit.bias);
  const double guard_floor = fit.guard_before.accuracy() - options.max_guard_loss - 1e-12;
  double best = fit.tune_before.macro_f1();
  const int steps = static_cast<int>(std::lround(options.limit / options.step));
  for (int round = 0; round < options.rounds; ++round) {
    bool moved = false;
    for (std::size_t c = 0; c < kNumEmotions; ++c) {
      ClassBias trial = fit.bias;
      float chosen = fit.bias[c];
      for (int k = -steps; k <= steps; ++k) {
        trial[c] = static_cast<float>(k) * options.step;
        const double f1 = score_with_bias(tune, trial).macro_f1();
        const bool better = f1 > best + 1e-12 || (std::abs(f1 - best) <= 1e-12 && std::abs(trial[c]) < std::abs(chosen));
        if (better && score_with_bias(guard, trial).accuracy() >= guard_floor) {
          best = f1;
          chosen = trial[c];
        }
      }
      moved = moved || chosen != fit.bias[c];
      fit.bias[c] = chosen;
    }
    if (!moved) break;
  }
  fit.tune_after = score_with_bias(tune, fit.bias);
  fit.guard_after = score_with_bias(guard, fit.bias);
  return fit;
}

}  // namespace moodtunes
