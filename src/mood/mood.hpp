// Emotion -> mood, a step of the data flow between the classifier and the recommender: the ONE
// definition of where each of the 7 FER emotions sits in valence-arousal space, and how a
// probability vector becomes a single mood point.
//
// Scale: valence and arousal both in [-1, 1] (-1 = most negative / calmest, +1 = most
// positive / most aroused). Every catalog source is normalised to this same scale (see
// music/importers.hpp), so a mood point and a track position are directly comparable.
//
// Coordinates: NRC Valence, Arousal, and Dominance Lexicon v1.0 (Saif M. Mohammad, "Obtaining
// Reliable Human Ratings of Valence, Arousal, and Dominance for 20,000 English Words", ACL 2018,
// http://saifmohammad.com/WebPages/nrc-vad.html): the [0,1] scores of the words anger, disgust,
// fear, happy, neutral, sadness, surprise, rescaled with 2x-1. The table lives in mood.cpp.
//
// mood_from_probs() is the expectation of those coordinates under the (renormalised)
// probabilities, so a mixed expression gives a mixed mood. Pure functions; thread-safe.
#pragma once

#include <array>
#include <stdexcept>
#include <string>

#include "core/emotion.hpp"

namespace moodtunes {

struct MoodPoint {
  float valence = 0.0f;  // [-1, 1]
  float arousal = 0.0f;  // [-1, 1]
};

// Per-emotion coordinates in kEmotionNames order (angry, disgust, fear, happy, neutral, sad,
// surprise). Exposed for documentation output and tests.
const std::array<MoodPoint, kNumEmotions>& emotion_coordinates();

// The coordinate of one emotion (a one-hot probability vector).
MoodPoint mood_for_emotion(Emotion e);

// Expectation of the emotion coordinates under `probs`. The probabilities are renormalised to
// sum to 1 (a softmax output that sums to 0.999 is fine). Throws std::invalid_argument when a
// value is negative or not finite, or when they sum to 0.
MoodPoint mood_from_probs(const EmotionProbs& probs);

// Short human description of a point ("positive, energetic"), used in reasons.
std::string describe_mood(MoodPoint p);

}  // namespace moodtunes
