// Class-prior adjustment: a per-class weight on the classifier's probabilities, fitted so that a
// model trained mostly on one domain (FER-2013) reads another (real photos) with the classes it
// under-calls (fear, sad: subtle faces lean to neutral) called as often as they occur.
//
// The adjusted reading is p'_c = p_c * exp(bias_c) / sum_k p_k * exp(bias_k): a shift of the
// logits of the averaged probabilities, the same for every face, so it keeps the order of faces
// within a class and costs nothing at inference. EmotionClassifier applies the bias stored in a
// model file's info (`class_bias`, 7 numbers); `moodtunes prior` fits and stores it.
//
// fit_class_bias() is a pure function of its inputs; thread-safe.
#pragma once

#include <array>
#include <vector>

#include "core/emotion.hpp"
#include "model/metrics.hpp"

namespace moodtunes {

using ClassBias = std::array<float, kNumEmotions>;

// p * exp(bias), renormalised. An all-zero bias returns p unchanged.
EmotionProbs apply_class_bias(const EmotionProbs& p, const ClassBias& bias);

// Probabilities of a labelled set (one row per face) and its labels (indices into kEmotionNames).
struct LabelledReadings {
  std::vector<EmotionProbs> probs;
  std::vector<int> labels;
};

struct ClassBiasFit {
  ClassBias bias{};
  ConfusionMatrix tune_before, tune_after;    // on the set the bias is fitted to
  ConfusionMatrix guard_before, guard_after;  // on the set whose accuracy it must keep
};

struct ClassBiasOptions {
  // The guard set's accuracy may fall by at most this much (a fraction: 0.001 = 0.1 points).
  double max_guard_loss = 0.001;
  float step = 0.05f;   // grid of each bias value
  float limit = 1.5f;   // |bias| <= limit
  int rounds = 3;       // coordinate-ascent sweeps over the 7 classes
};

// Coordinate ascent on the bias that maximises macro-F1 on `tune`, subject to the guard set's
// accuracy staying within options.max_guard_loss of its unadjusted accuracy. Ties keep the
// smaller |bias|. Throws std::invalid_argument for empty sets or mismatched lengths.
ClassBiasFit fit_class_bias(const LabelledReadings& tune, const LabelledReadings& guard, const ClassBiasOptions& options = {});

// The argmax of each row after the bias, scored against the labels.
ConfusionMatrix score_with_bias(const LabelledReadings& set, const ClassBias& bias);

}  // namespace moodtunes
