#include "core/emotion.hpp"

#include <algorithm>

namespace moodtunes {

std::optional<Emotion> emotion_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kNumEmotions; ++i)
    if (kEmotionNames[i] == name) return static_cast<Emotion>(i);
  return std::nullopt;
}

std::optional<Emotion> fer_csv_id_to_emotion(int id) {
  static constexpr std::array<Emotion, kNumEmotions> kCsvOrder = {
      Emotion::kAngry, Emotion::kDisgust, Emotion::kFear,    Emotion::kHappy,
      Emotion::kSad,   Emotion::kSurprise, Emotion::kNeutral};
  if (id < 0 || id >= static_cast<int>(kNumEmotions)) return std::nullopt;
  return kCsvOrder[static_cast<std::size_t>(id)];
}

Emotion argmax(const EmotionProbs& probs) {
  return static_cast<Emotion>(std::max_element(probs.begin(), probs.end()) - probs.begin());
}

}  // namespace moodtunes
