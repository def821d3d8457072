#include <gtest/gtest.h>

#include "model/metrics.hpp"

using namespace moodtunes;

// 10 samples over three classes (angry=0, happy=3, sad=5), worked out by hand:
//   angry: 3 true, predicted angry 2, happy 1
//   happy: 4 true, predicted happy 4
//   sad:   3 true, predicted sad 1, angry 2
// precision angry = 2/4, happy = 4/5, sad = 1/1; recall angry = 2/3, happy = 1, sad = 1/3.
TEST(ConfusionMatrix, MatchesHandComputedValues) {
  ConfusionMatrix cm;
  for (int i = 0; i < 2; ++i) cm.add(0, 0);
  cm.add(0, 3);
  for (int i = 0; i < 4; ++i) cm.add(3, 3);
  cm.add(5, 5);
  for (int i = 0; i < 2; ++i) cm.add(5, 0);
  EXPECT_EQ(cm.count(), 10);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 0.7);
  EXPECT_DOUBLE_EQ(cm.precision(0), 0.5);
  EXPECT_DOUBLE_EQ(cm.recall(0), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(cm.precision(3), 0.8);
  EXPECT_DOUBLE_EQ(cm.recall(3), 1.0);
  EXPECT_DOUBLE_EQ(cm.recall(5), 1.0 / 3.0);
  const double f1_angry = 2 * 0.5 * (2.0 / 3) / (0.5 + 2.0 / 3);
  const double f1_happy = 2 * 0.8 / 1.8;
  const double f1_sad = 2 * 1.0 * (1.0 / 3) / (1.0 + 1.0 / 3);
  EXPECT_NEAR(cm.macro_f1(), (f1_angry + f1_happy + f1_sad) / 7.0, 1e-12);  // 4 absent classes count 0
  const auto j = cm.to_json();
  EXPECT_EQ(j["count"], 10);
  EXPECT_EQ(j["confusion"][5][0], 2);
  EXPECT_DOUBLE_EQ(j["per_class"]["happy"]["precision"].get<double>(), 0.8);
  EXPECT_EQ(j["per_class"]["sad"]["support"], 3);
}

TEST(ConfusionMatrix, EmptyAndOutOfRange) {
  ConfusionMatrix cm;
  EXPECT_EQ(cm.accuracy(), 0.0);
  EXPECT_EQ(cm.macro_f1(), 0.0);
  EXPECT_THROW(cm.add(7, 0), std::out_of_range);
  EXPECT_THROW(cm.add(0, -1), std::out_of_range);
}
