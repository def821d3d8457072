// Class-prior adjustment: the fit raises the classes a model under-calls without costing the
// guard set, and the classifier applies a model file's bias to every reading.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "model/class_prior.hpp"
#include "model/classifier.hpp"
#include "model/tiny_model.hpp"
#include "test_util.hpp"

using namespace moodtunes;

namespace {
// A reader that under-calls `shy`: its true faces put most weight on the truth, but `shy`'s own
// faces put 0.4 on shy and 0.5 on neutral, so they read neutral unless the bias lifts shy.
LabelledReadings readings(int per_class, int shy, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> jitter(-0.03f, 0.03f);
  LabelledReadings r;
  const int neutral = static_cast<int>(Emotion::kNeutral);
  for (int c = 0; c < static_cast<int>(kNumEmotions); ++c)
    for (int k = 0; k < per_class; ++k) {
      EmotionProbs p{};
      p.fill(0.02f);
      if (c == shy) {
        p[shy] = 0.4f + jitter(rng);
        p[neutral] = 0.5f + jitter(rng);
      } else {
        p[c] = 0.8f + jitter(rng);
      }
      r.probs.push_back(p);
      r.labels.push_back(c);
    }
  return r;
}
}  // namespace

TEST(ClassPrior, ApplyingTheBiasReweightsAndRenormalises) {
  EmotionProbs p{};
  p.fill(1.f / kNumEmotions);
  ClassBias bias{};
  EXPECT_EQ(apply_class_bias(p, bias), p);
  bias[2] = std::log(3.f);
  const auto q = apply_class_bias(p, bias);
  EXPECT_NEAR(q[2], 3.f / 9.f, 1e-6);
  EXPECT_NEAR(q[0], 1.f / 9.f, 1e-6);
}

TEST(ClassPrior, FitLiftsAnUnderCalledClassAndKeepsTheGuard) {
  const int sad = static_cast<int>(Emotion::kSad);
  const auto tune = readings(20, sad, 1);
  const auto guard = readings(20, -1, 2);  // a domain the model reads right: nothing to lift
  const ClassBiasFit fit = fit_class_bias(tune, guard);
  EXPECT_EQ(fit.tune_before.recall(sad), 0.0);
  EXPECT_GT(fit.tune_after.recall(sad), 0.9);
  EXPECT_GT(fit.tune_after.macro_f1(), fit.tune_before.macro_f1() + 0.1);
  EXPECT_GE(fit.guard_after.accuracy(), fit.guard_before.accuracy() - 0.001);
  EXPECT_GT(fit.bias[static_cast<std::size_t>(sad)] - fit.bias[static_cast<std::size_t>(Emotion::kNeutral)], 0.1f);

  // A guard that would lose its neutral faces to sad forbids the same lift.
  LabelledReadings strict = guard;
  for (auto& p : strict.probs)
    if (p[static_cast<std::size_t>(Emotion::kNeutral)] > 0.5f) p[static_cast<std::size_t>(sad)] = 0.75f;
  const ClassBiasFit held = fit_class_bias(tune, strict, {.max_guard_loss = 0});
  EXPECT_GE(held.guard_after.accuracy(), held.guard_before.accuracy());
  EXPECT_LT(held.tune_after.recall(sad), 0.5);

  EXPECT_THROW(fit_class_bias({}, guard), std::invalid_argument);
}

TEST(ClassPrior, ClassifierAppliesTheModelsBias) {
  moodtunes::test::TempDir dir;
  ModelFile m = moodtunes::test::random_tiny_model();
  save_model_file(m, dir / "plain.mtm");
  m.info["class_bias"] = {0, 0, 1.5, 0, -0.5, 0, 0};
  save_model_file(m, dir / "biased.mtm");
  const auto plain = EmotionClassifier::load(dir / "plain.mtm");
  const auto biased = EmotionClassifier::load(dir / "biased.mtm");
  const cv::Mat face(48, 48, CV_8UC1, cv::Scalar(90));
  const ClassBias bias{0, 0, 1.5f, 0, -0.5f, 0, 0};
  const auto expected = apply_class_bias(plain.classify(face), bias);
  const auto got = biased.classify(face);
  for (std::size_t c = 0; c < kNumEmotions; ++c) EXPECT_NEAR(got[c], expected[c], 1e-5);

  m.info["class_bias"] = {0, 1};
  save_model_file(m, dir / "corrupt.mtm");
  EXPECT_THROW(EmotionClassifier::load(dir / "corrupt.mtm"), ModelError);
}
