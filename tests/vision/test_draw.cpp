// What the live window shows: the label beside the probability bars, and the pace of a video file.
#include <gtest/gtest.h>

#include "vision/draw.hpp"
#include "vision/playback.hpp"

using namespace moodtunes;
using namespace moodtunes::vision;

namespace {
FaceReading reading(Emotion label, EmotionProbs smoothed, int id) {
  FaceReading f;
  f.track_id = id;
  f.emotion = label;
  f.smoothed = f.probs = smoothed;
  return f;
}
EmotionProbs probs(float angry, float happy, float sad) {
  EmotionProbs p{};
  p[static_cast<int>(Emotion::kAngry)] = angry;
  p[static_cast<int>(Emotion::kHappy)] = happy;
  p[static_cast<int>(Emotion::kSad)] = sad;
  p[static_cast<int>(Emotion::kNeutral)] = 1 - angry - happy - sad;
  return p;
}
}  // namespace

// The label's percentage is its own bar's share; when the smoother holds a label another bar
// has overtaken, the text says so instead of standing beside a longer bar unmarked.
TEST(LiveLabel, HeldLabelIsMarkedAndShowsItsOwnShare) {
  EXPECT_EQ(face_label(reading(Emotion::kSad, probs(0.40f, 0.05f, 0.33f), 3)), "#3 sad (held) 33%");
  EXPECT_EQ(face_label(reading(Emotion::kSad, probs(0.20f, 0.05f, 0.61f), 3)), "#3 sad 61%");
  EXPECT_EQ(face_label(reading(Emotion::kHappy, probs(0.10f, 0.87f, 0.01f), 0)), "happy 87%");
  // A tie is not "held": the label's bar is as long as any.
  EXPECT_EQ(face_label(reading(Emotion::kAngry, probs(0.40f, 0.40f, 0.1f), 1)), "#1 angry 40%");
}

TEST(Playback, ImplausibleFrameRatesFallBackTo30) {
  EXPECT_DOUBLE_EQ(playback_fps(25), 25);
  EXPECT_DOUBLE_EQ(playback_fps(0), 30);
  EXPECT_DOUBLE_EQ(playback_fps(-1), 30);
  EXPECT_DOUBLE_EQ(playback_fps(90000), 30);
  EXPECT_DOUBLE_EQ(playback_fps(std::nan("")), 30);
}

TEST(Playback, FramesAreShownOnePeriodApart) {
  FramePacer pacer(25);  // 40 ms a frame
  EXPECT_EQ(pacer.wait_ms(0.0), 1);     // the first frame at once
  EXPECT_EQ(pacer.wait_ms(0.010), 30);  // ready 10 ms later: wait until 40 ms
  EXPECT_EQ(pacer.wait_ms(0.045), 35);  // due at 80 ms
  EXPECT_EQ(pacer.wait_ms(0.125), 1);   // 5 ms late (due 120 ms): at once, schedule kept
  EXPECT_EQ(pacer.wait_ms(0.150), 10);  // due 160 ms
  // Late by more than a period: the schedule restarts there instead of rushing to catch up.
  EXPECT_EQ(pacer.wait_ms(0.500), 1);
  EXPECT_EQ(pacer.wait_ms(0.505), 35);
}
