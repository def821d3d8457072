// Regression guard for the shipped model: it must load, and score on FER-2013 PublicTest (val)
// no worse than the accuracy recorded in its own model card, less a small tolerance.
#include <gtest/gtest.h>

#include <cstdlib>

#include "data/fer_dataset.hpp"
#include "model/classifier.hpp"
#include "model/metrics.hpp"
#include "test_util.hpp"

using namespace moodtunes;

namespace {
std::filesystem::path shipped_model() {
  if (const char* env = std::getenv("MOODTUNES_MODEL"); env && *env) return env;
  return moodtunes::test::source_dir() / "models/moodtunes-fer.mtm";
}
}  // namespace

TEST(ShippedModel, ScoresOnValAtLeastWhatItsCardRecords) {
  const auto val_dir = moodtunes::test::data_dir() / "fer2013/val";
  if (!std::filesystem::exists(val_dir)) GTEST_SKIP() << "shared data not present at " << val_dir;
  const auto clf = EmotionClassifier::load(shipped_model());
  const FerDataset val = load_fer(val_dir);
  ASSERT_EQ(val.size(), 3589u);
  ConfusionMatrix cm;
  for (std::size_t start = 0; start < val.size(); start += 256) {
    const std::size_t end = std::min(val.size(), start + 256);
    const auto probs = clf.classify_batch({val.images.begin() + static_cast<long>(start), val.images.begin() + static_cast<long>(end)});
    for (std::size_t i = 0; i < probs.size(); ++i) cm.add(val.labels[start + i], static_cast<int>(argmax(probs[i])));
  }
  const double recorded = clf.info().at("val").at("accuracy").get<double>();
  std::printf("shipped model: val accuracy %.2f%% (card: %.2f%%), macro-F1 %.4f\n", 100 * cm.accuracy(),
              100 * recorded, cm.macro_f1());
  EXPECT_GE(cm.accuracy(), recorded - 0.005) << "the shipped model regressed against its model card";
  EXPECT_GE(cm.accuracy(), 0.60) << "far below the project's accuracy floor";
  EXPECT_GT(cm.macro_f1(), 0.5);
}
