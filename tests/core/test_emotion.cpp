#include <gtest/gtest.h>

#include "core/emotion.hpp"

using namespace moodtunes;

TEST(Emotion, NamesRoundTripInModelOrder) {
  for (std::size_t i = 0; i < kNumEmotions; ++i) {
    auto e = emotion_from_name(kEmotionNames[i]);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(static_cast<std::size_t>(*e), i);
  }
  EXPECT_FALSE(emotion_from_name("contempt").has_value());
  EXPECT_FALSE(emotion_from_name("Happy").has_value());
}

TEST(Emotion, Fer2013CsvIdsUseTheirOwnOrder) {
  EXPECT_EQ(fer_csv_id_to_emotion(0), Emotion::kAngry);
  EXPECT_EQ(fer_csv_id_to_emotion(3), Emotion::kHappy);
  EXPECT_EQ(fer_csv_id_to_emotion(4), Emotion::kSad);
  EXPECT_EQ(fer_csv_id_to_emotion(5), Emotion::kSurprise);
  EXPECT_EQ(fer_csv_id_to_emotion(6), Emotion::kNeutral);
  EXPECT_FALSE(fer_csv_id_to_emotion(7).has_value());
  EXPECT_FALSE(fer_csv_id_to_emotion(-1).has_value());
}

TEST(Emotion, Argmax) {
  EmotionProbs p{0.1f, 0.f, 0.f, 0.2f, 0.6f, 0.1f, 0.f};
  EXPECT_EQ(argmax(p), Emotion::kNeutral);
}
