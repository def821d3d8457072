// `moodtunes model-card`: the card is generated from the metadata a model file carries, so what
// it says about accuracy and training must be exactly what the file records.
#include <gtest/gtest.h>

#include <cstdio>

#include "app/model_path.hpp"
#include "model/model_file.hpp"
#include "test_util.hpp"

using moodtunes::test::TempDir;

using moodtunes::test::run_cli;

TEST(ModelCard, StatesTheRecordedAccuracyAndHowTheModelWasTrained) {
  const std::filesystem::path shipped = moodtunes::app::model_path("accurate");
  const auto model = moodtunes::load_ensemble_file(shipped);  // its info: the network's, or the ensemble's
  int status = -1;
  const auto card = run_cli("model-card " + shipped.string(), &status);
  ASSERT_EQ(status, 0) << card;
  char accuracy[64];
  std::snprintf(accuracy, sizeof accuracy, "accuracy **%.2f%%**", 100 * model.info.at("val").at("accuracy").get<double>());
  EXPECT_NE(card.find(accuracy), std::string::npos) << card;
  EXPECT_NE(card.find("| angry |"), std::string::npos);
  EXPECT_NE(card.find(model.info.at("command").get<std::string>()), std::string::npos);
  EXPECT_EQ(card.find("distilled"), std::string::npos) << "the shipped model's file records no teacher";
}

TEST(ModelCard, NamesTheTeacherOfADistilledModel) {
  TempDir dir;
  auto model = moodtunes::load_ensemble_file(moodtunes::app::model_path("accurate")).members.front();
  model.info["distillation"] = {{"teacher", "teacher.mtm"}, {"teacher_tta", "ten-crop"}, {"weight", 0.7}};
  moodtunes::save_model_file(model, dir / "distilled.mtm");
  int status = -1;
  const auto card = run_cli("model-card " + (dir / "distilled.mtm").string(), &status);
  ASSERT_EQ(status, 0) << card;
  EXPECT_NE(card.find("distilled: 70% of the loss is cross-entropy against the ten-crop reading (`--tta ten-crop`) of "
                      "each training face by `teacher.mtm`"),
            std::string::npos)
      << card;
}

// --model (and model-card's argument) takes a shipped model's name as well as a path.
TEST(ModelCard, ShippedModelsAreNamedAccurateFastAndReal) {
  int status = -1;
  const auto by_default = run_cli("model-card", &status);
  ASSERT_EQ(status, 0) << by_default;
  EXPECT_EQ(run_cli("model-card accurate", &status), by_default);
  EXPECT_NE(by_default.find("# Model card: moodtunes-fer.mtm"), std::string::npos) << by_default;
  const auto fast = run_cli("model-card fast", &status);
  ASSERT_EQ(status, 0) << fast;
  EXPECT_NE(fast.find("# Model card: moodtunes-fer-fast.mtm"), std::string::npos) << fast;
  EXPECT_NE(fast.find("0.225 GFLOP"), std::string::npos) << fast;
  const auto real = run_cli("model-card real", &status);
  ASSERT_EQ(status, 0) << real;
  EXPECT_NE(real.find("# Model card: moodtunes-fer-real.mtm"), std::string::npos) << real;
  EXPECT_NE(real.find("realfaces val, face crops"), std::string::npos) << real;
  EXPECT_NE(real.find("weighted by a class prior"), std::string::npos) << real;  // its readings are, so its card says so
  run_cli("model-card no-such-model", &status);
  EXPECT_EQ(status, 1);
}
