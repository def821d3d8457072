#include "mood/mood.hpp"

#include <cmath>

namespace moodtunes {

namespace {
// NRC VAD Lexicon v1.0 (Mohammad 2018), [0,1] valence / arousal for the word in the comment,
// rescaled here with 2x-1 so the table reads directly on the [-1,1] scale used everywhere.
constexpr float r(float x) { return 2.0f * x - 1.0f; }
constexpr std::array<MoodPoint, kNumEmotions> kCoordinates = {{
    {r(0.167f), r(0.865f)},  // angry    <- "anger"
    {r(0.052f), r(0.775f)},  // disgust  <- "disgust"
    {r(0.073f), r(0.840f)},  // fear     <- "fear"
    {r(1.000f), r(0.735f)},  // happy    <- "happy"
    {r(0.469f), r(0.184f)},  // neutral  <- "neutral"
    {r(0.052f), r(0.288f)},  // sad      <- "sadness"
    {r(0.875f), r(0.875f)},  // surprise <- "surprise"
}};
}  // namespace

const std::array<MoodPoint, kNumEmotions>& emotion_coordinates() { return kCoordinates; }

MoodPoint mood_for_emotion(Emotion e) { return kCoordinates[static_cast<std::size_t>(e)]; }

MoodPoint mood_from_probs(const EmotionProbs& probs) {
  double sum = 0.0;
  for (std::size_t i = 0; i < kNumEmotions; ++i) {
    const float p = probs[i];
    if (!std::isfinite(p) || p < 0.0f)
      throw std::invalid_argument("emotion probability for '" + std::string(kEmotionNames[i]) +
                                  "' must be a finite number >= 0");
    sum += p;
  }
  if (!(sum > 0.0)) throw std::invalid_argument("emotion probabilities sum to 0");
  double v = 0.0, a = 0.0;
  for (std::size_t i = 0; i < kNumEmotions; ++i) {
    v += probs[i] / sum * kCoordinates[i].valence;
    a += probs[i] / sum * kCoordinates[i].arousal;
  }
  return {static_cast<float>(v), static_cast<float>(a)};
}

std::string describe_mood(MoodPoint p) {
  auto band = [](float x, const char* lo, const char* mid, const char* hi) {
    return x < -0.2f ? lo : (x > 0.2f ? hi : mid);
  };
  return std::string(band(p.valence, "negative", "neutral", "positive")) + ", " +
         band(p.arousal, "calm", "moderate energy", "energetic");
}

}  // namespace moodtunes
