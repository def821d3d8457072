// Emotion classes: the one definition of the 7 FER-2013 classes used everywhere
// (model output order, folder names, CSV ids, JSON keys).
//
// Contract: kEmotions is in model output order (alphabetical = FER folder layout order).
// The original fer2013.csv uses a different id order; fer_csv_id_to_emotion() maps it.
// Everything here is constexpr / pure and thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace moodtunes {

enum class Emotion : int { kAngry = 0, kDisgust, kFear, kHappy, kNeutral, kSad, kSurprise };

inline constexpr std::size_t kNumEmotions = 7;

inline constexpr std::array<std::string_view, kNumEmotions> kEmotionNames = {
    "angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"};

using EmotionProbs = std::array<float, kNumEmotions>;

constexpr std::string_view emotion_name(Emotion e) { return kEmotionNames[static_cast<int>(e)]; }
constexpr std::string_view emotion_name(std::size_t index) { return kEmotionNames.at(index); }

// Case-sensitive lookup of a lowercase class name ("happy"); nullopt when unknown.
std::optional<Emotion> emotion_from_name(std::string_view name);

// fer2013.csv ids: 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral.
std::optional<Emotion> fer_csv_id_to_emotion(int id);

// Index of the largest probability.
Emotion argmax(const EmotionProbs& probs);

}  // namespace moodtunes
