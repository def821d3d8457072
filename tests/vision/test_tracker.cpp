// Tracker ids and the emotion smoother (EMA + hysteresis), on synthetic box/probability streams.
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "vision/tracker.hpp"

using namespace moodtunes;
using namespace moodtunes::vision;

namespace {
EmotionProbs peaked(Emotion e, float p) {
  EmotionProbs probs;
  probs.fill((1 - p) / 6);
  probs[static_cast<int>(e)] = p;
  return probs;
}
}  // namespace

TEST(Tracker, MovingFaceKeepsItsIdAndANewFaceGetsAnother) {
  Tracker tracker;
  int id = 0;
  for (int i = 0; i < 60; ++i) {
    const auto ids = tracker.update({cv::Rect(100 + 4 * i, 80 + 2 * i, 120, 120)});
    ASSERT_EQ(ids.size(), 1u);
    if (i == 0) id = ids[0];
    EXPECT_EQ(ids[0], id) << "frame " << i;
  }
  const auto ids = tracker.update({cv::Rect(100 + 240, 80 + 120, 120, 120), cv::Rect(0, 0, 60, 60)});
  EXPECT_EQ(ids[0], id);
  EXPECT_NE(ids[1], id);
  EXPECT_GT(ids[1], 0);
  EXPECT_EQ(tracker.tracks().size(), 2u);
}

TEST(Tracker, ShortDropoutKeepsTheIdLongOneEndsTheTrack) {
  TrackerParams p;
  p.max_missed = 5;
  Tracker tracker(p);
  const cv::Rect face(50, 50, 100, 100);
  const int id = tracker.update({face})[0];
  for (int i = 0; i < 5; ++i) tracker.update(std::vector<cv::Rect>{});
  EXPECT_EQ(tracker.update({face})[0], id);  // back within max_missed
  for (int i = 0; i < 6; ++i) tracker.update(std::vector<cv::Rect>{});
  EXPECT_TRUE(tracker.tracks().empty());
  EXPECT_NE(tracker.update({face})[0], id);  // ids are not reused
}

TEST(Tracker, NoNewTracksWhenNotAllowed) {
  Tracker tracker;
  EXPECT_EQ(tracker.update({cv::Rect(0, 0, 50, 50)}, false)[0], 0);
  EXPECT_TRUE(tracker.tracks().empty());
}

TEST(Smoother, NoisyHeldExpressionDoesNotFlipTheLabel) {
  // Happy and neutral close together (0.45 vs 0.35 on average) with per-reading noise that
  // often swaps them: the raw argmax flips constantly, the smoothed label never does.
  EmotionSmoother s;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> noise(-0.12f, 0.12f);
  int raw_flips = 0, label_changes = 0;
  Emotion last_raw = Emotion::kHappy, last_label = Emotion::kHappy;
  for (int i = 0; i < 30 * 60; ++i) {  // one minute at 30 classifications/s
    EmotionProbs p{};
    p[static_cast<int>(Emotion::kHappy)] = 0.45f + noise(rng);
    p[static_cast<int>(Emotion::kNeutral)] = 0.35f + noise(rng);
    p[static_cast<int>(Emotion::kSad)] = 0.2f;
    s.add(p, i / 30.0);
    raw_flips += argmax(p) != last_raw;
    last_raw = argmax(p);
    if (i > 0) label_changes += s.label() != last_label;
    last_label = s.label();
  }
  EXPECT_GT(raw_flips, 100);
  EXPECT_EQ(label_changes, 0);
  EXPECT_EQ(s.label(), Emotion::kHappy);
}

TEST(Smoother, RealChangeIsFollowedWithinOneSecond) {
  for (double rate : {30.0, 10.0}) {  // classifications per second
    EmotionSmoother s;
    double t = 0;
    for (; t < 2; t += 1 / rate) s.add(peaked(Emotion::kHappy, 0.8f), t);
    ASSERT_EQ(s.label(), Emotion::kHappy);
    const double change = t;
    while (s.label() != Emotion::kSurprise && t < change + 5) {
      s.add(peaked(Emotion::kSurprise, 0.6f), t);
      t += 1 / rate;
    }
    EXPECT_LT(t - change, 1.0) << "rate " << rate;
  }
}

TEST(Smoother, MinimumLeadIgnoresABriefSwingAndFollowsALastingOne) {
  SmoothingParams params{.tau_s = 0.3, .hysteresis = 0.1, .min_lead_s = 0.5};
  EmotionSmoother s(params);
  double t = 0;
  for (; t < 2; t += 0.1) s.add(peaked(Emotion::kHappy, 0.8f), t);
  // Sad for 0.4 s overtakes happy by the margin well inside it, but not for 0.5 s.
  for (const double end = t + 0.4; t < end; t += 0.1) s.add(peaked(Emotion::kSad, 0.9f), t);
  for (const double end = t + 2; t < end; t += 0.1) {
    s.add(peaked(Emotion::kHappy, 0.8f), t);
    EXPECT_EQ(s.label(), Emotion::kHappy) << t;
  }
  // Without the minimum lead the same swing moves the label.
  EmotionSmoother eager(SmoothingParams{.tau_s = 0.3, .hysteresis = 0.1, .min_lead_s = 0});
  double u = 0;
  for (; u < 2; u += 0.1) eager.add(peaked(Emotion::kHappy, 0.8f), u);
  for (const double end = u + 0.4; u < end; u += 0.1) eager.add(peaked(Emotion::kSad, 0.9f), u);
  EXPECT_EQ(eager.label(), Emotion::kSad);
  // A lasting change is followed once it has led for 0.5 s: still within a second.
  const double change = t;
  while (s.label() != Emotion::kSad && t < change + 5) {
    s.add(peaked(Emotion::kSad, 0.6f), t);
    t += 0.1;
  }
  EXPECT_GE(t - change, 0.5);
  EXPECT_LT(t - change, 1.0);
}

TEST(Smoother, IsRateIndependent) {
  EmotionSmoother fast, slow;
  for (int i = 0; i <= 30; ++i) fast.add(peaked(i ? Emotion::kSad : Emotion::kHappy, 0.9f), i / 30.0);
  for (int i = 0; i <= 5; ++i) slow.add(peaked(i ? Emotion::kSad : Emotion::kHappy, 0.9f), i / 5.0);
  for (std::size_t c = 0; c < kNumEmotions; ++c) EXPECT_NEAR(fast.smoothed()[c], slow.smoothed()[c], 1e-4);
}

TEST(Smoother, PatienceFollowsAChangeTheMarginAloneWouldNeverShow) {
  // The new face reads sad 0.45 vs happy 0.35: sad leads, but never by the 0.20 margin.
  auto mixed = [] {
    EmotionProbs p{};
    p[static_cast<int>(Emotion::kSad)] = 0.45f;
    p[static_cast<int>(Emotion::kHappy)] = 0.35f;
    p[static_cast<int>(Emotion::kNeutral)] = 0.20f;
    return p;
  }();
  for (const double patience : {1.0, 2.0}) {
    EmotionSmoother s(SmoothingParams{.tau_s = 0.3, .hysteresis = 0.2, .min_lead_s = 0.3, .patience_s = patience});
    double t = 0;
    for (; t < 2; t += 0.1) s.add(peaked(Emotion::kHappy, 0.8f), t);
    const double change = t;
    double first_lead = -1;
    while (s.label() != Emotion::kSad && t < change + 10) {
      s.add(mixed, t);
      if (first_lead < 0 && s.smoothed()[static_cast<int>(Emotion::kSad)] > s.smoothed()[static_cast<int>(Emotion::kHappy)])
        first_lead = t;
      t += 0.1;
    }
    ASSERT_EQ(s.label(), Emotion::kSad) << "patience " << patience;
    ASSERT_GE(first_lead, change);
    // Taken once sad has led for `patience`, not before (t is one step past the taking reading).
    EXPECT_NEAR(t - 0.1 - first_lead, patience, 0.1 + 1e-9) << "patience " << patience;
  }
  // Without patience the margin holds the old label for good.
  EmotionSmoother stubborn(SmoothingParams{.tau_s = 0.3, .hysteresis = 0.2, .min_lead_s = 0.3,
                                           .patience_s = std::numeric_limits<double>::infinity()});
  double t = 0;
  for (; t < 2; t += 0.1) stubborn.add(peaked(Emotion::kHappy, 0.8f), t);
  for (; t < 60; t += 0.1) stubborn.add(mixed, t);
  EXPECT_EQ(stubborn.label(), Emotion::kHappy);
}
