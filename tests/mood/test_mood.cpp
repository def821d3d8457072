#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "mood/mood.hpp"

using namespace moodtunes;

TEST(Mood, OneHotGivesTheTableCoordinate) {
  for (std::size_t i = 0; i < kNumEmotions; ++i) {
    EmotionProbs p{};
    p[i] = 1.0f;
    const MoodPoint m = mood_from_probs(p);
    EXPECT_FLOAT_EQ(m.valence, emotion_coordinates()[i].valence) << kEmotionNames[i];
    EXPECT_FLOAT_EQ(m.arousal, emotion_coordinates()[i].arousal) << kEmotionNames[i];
    EXPECT_GE(m.valence, -1.0f);
    EXPECT_LE(m.valence, 1.0f);
    EXPECT_GE(m.arousal, -1.0f);
    EXPECT_LE(m.arousal, 1.0f);
  }
}

TEST(Mood, CoordinatesFollowTheCircumplex) {
  const auto happy = mood_for_emotion(Emotion::kHappy), sad = mood_for_emotion(Emotion::kSad),
             angry = mood_for_emotion(Emotion::kAngry), fear = mood_for_emotion(Emotion::kFear),
             neutral = mood_for_emotion(Emotion::kNeutral), surprise = mood_for_emotion(Emotion::kSurprise);
  EXPECT_GT(happy.valence, 0.5f);
  EXPECT_LT(sad.valence, -0.5f);
  EXPECT_LT(angry.valence, 0.0f);
  EXPECT_GT(angry.arousal, sad.arousal);
  EXPECT_GT(fear.arousal, neutral.arousal);
  EXPECT_GT(surprise.arousal, neutral.arousal);
  EXPECT_LT(neutral.arousal, 0.0f);  // NRC VAD: "neutral" is a low-arousal word
  // The NRC value of "anger" (0.167, 0.865) rescaled with 2x-1.
  EXPECT_NEAR(angry.valence, -0.666f, 1e-4);
  EXPECT_NEAR(angry.arousal, 0.730f, 1e-4);
}

TEST(Mood, MixedExpressionGivesMixedMood) {
  EmotionProbs p{};
  p[static_cast<int>(Emotion::kHappy)] = 0.5f;
  p[static_cast<int>(Emotion::kSad)] = 0.5f;
  const MoodPoint m = mood_from_probs(p);
  const auto h = mood_for_emotion(Emotion::kHappy), s = mood_for_emotion(Emotion::kSad);
  EXPECT_NEAR(m.valence, (h.valence + s.valence) / 2, 1e-6);
  EXPECT_NEAR(m.arousal, (h.arousal + s.arousal) / 2, 1e-6);
}

TEST(Mood, ProbabilitiesAreRenormalised) {
  EmotionProbs a = {0.1f, 0.0f, 0.2f, 0.3f, 0.1f, 0.2f, 0.1f}, b{};
  for (std::size_t i = 0; i < kNumEmotions; ++i) b[i] = a[i] * 3.0f;
  const auto ma = mood_from_probs(a), mb = mood_from_probs(b);
  EXPECT_NEAR(ma.valence, mb.valence, 1e-6);
  EXPECT_NEAR(ma.arousal, mb.arousal, 1e-6);
}

TEST(Mood, BadProbabilitiesAreRejected) {
  EmotionProbs zero{};
  EXPECT_THROW(mood_from_probs(zero), std::invalid_argument);
  EmotionProbs neg = {0.5f, -0.1f, 0.6f, 0, 0, 0, 0};
  EXPECT_THROW(mood_from_probs(neg), std::invalid_argument);
  EmotionProbs nan = {0.5f, std::numeric_limits<float>::quiet_NaN(), 0.5f, 0, 0, 0, 0};
  EXPECT_THROW(mood_from_probs(nan), std::invalid_argument);
  EmotionProbs inf = {std::numeric_limits<float>::infinity(), 0, 0, 0, 0, 0, 0};
  EXPECT_THROW(mood_from_probs(inf), std::invalid_argument);
}

TEST(Mood, Describe) {
  EXPECT_EQ(describe_mood({0.6f, 0.5f}), "positive, energetic");
  EXPECT_EQ(describe_mood({-0.6f, -0.5f}), "negative, calm");
  EXPECT_EQ(describe_mood({0.0f, 0.0f}), "neutral, moderate energy");
}
