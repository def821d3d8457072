// `moodtunes ensemble`: joins single-network files into one ensemble file, records where its
// networks came from (and, with --val, what it reads), and refuses bad input with exit code 1/2;
// `moodtunes unpack` writes an ensemble's networks back to single-network files.
#include <gtest/gtest.h>

#include <filesystem>

#include "model/classifier.hpp"
#include "model/model_file.hpp"
#include "model/tiny_model.hpp"
#include "test_util.hpp"

using namespace moodtunes;

using moodtunes::test::run_cli;

TEST(EnsembleCommand, JoinsNetworksRecordsTheirSourcesAndItsValReading) {
  test::TempDir dir;
  save_model_file(test::random_tiny_model(3), dir / "a.mtm");
  save_model_file(test::random_tiny_model(4), dir / "b.mtm");
  int status = -1;
  const auto out = run_cli("ensemble " + (dir / "a.mtm").string() + " " + (dir / "b.mtm").string() + " --float32 -o " +
                           (dir / "ab.mtm").string(),
                       &status);
  ASSERT_EQ(status, 0) << out;
  const ModelEnsemble e = load_ensemble_file(dir / "ab.mtm");
  ASSERT_EQ(e.members.size(), 2u);
  EXPECT_EQ(e.storage, TensorStorage::kFloat32);
  EXPECT_EQ(e.info.at("members"), nlohmann::json({"a.mtm", "b.mtm"}));
  EXPECT_FALSE(e.info.contains("val"));
  const auto card = run_cli("model-card " + (dir / "ab.mtm").string(), &status);
  ASSERT_EQ(status, 0) << card;
  EXPECT_NE(card.find("an ensemble of 2 networks"), std::string::npos) << card;
  EXPECT_NE(card.find("## Network 2: `b.mtm`"), std::string::npos) << card;

  const auto val = test::data_dir() / "fer2013/val";
  if (!std::filesystem::exists(val)) GTEST_SKIP() << "shared data not present at " << val;
  const auto measured = run_cli("ensemble " + (dir / "a.mtm").string() + " " + (dir / "b.mtm").string() + " -o " +
                                (dir / "abv.mtm").string() + " --val " + val.string(),
                            &status);
  ASSERT_EQ(status, 0) << measured;
  const ModelEnsemble v = load_ensemble_file(dir / "abv.mtm");
  EXPECT_EQ(v.storage, TensorStorage::kFloat16);  // measured as stored: the rounded weights
  EXPECT_EQ(v.info.at("val").at("count"), 3589);
  const auto eval = test::run_shell(std::string(MOODTUNES_BINARY) + " eval " + val.string() + " -m " +
                                        (dir / "abv.mtm").string() + " --json 2>/dev/null",
                                    &status);
  ASSERT_EQ(status, 0) << eval;
  const auto j = nlohmann::json::parse(eval);
  EXPECT_EQ(j.at("networks"), 2);
  EXPECT_DOUBLE_EQ(j.at("accuracy").get<double>(), v.info.at("val").at("accuracy").get<double>());
}

TEST(EnsembleCommand, RefusesTooFewNetworksMissingFilesAndNestedEnsembles) {
  test::TempDir dir;
  save_model_file(test::random_tiny_model(), dir / "a.mtm");
  int status = -1;
  auto out = run_cli("ensemble " + (dir / "a.mtm").string() + " -o " + (dir / "x.mtm").string(), &status);
  EXPECT_EQ(status, 2) << out;
  out = run_cli("ensemble " + (dir / "a.mtm").string() + " " + (dir / "missing.mtm").string() + " -o " +
                (dir / "x.mtm").string(),
            &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("model file not found"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.mtm"));
  ModelEnsemble pair;
  pair.members = {test::random_tiny_model(3), test::random_tiny_model(4)};
  save_ensemble_file(pair, dir / "pair.mtm");
  out = run_cli("ensemble " + (dir / "a.mtm").string() + " " + (dir / "pair.mtm").string() + " -o " +
                (dir / "x.mtm").string(),
            &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("an ensemble of 2 networks"), std::string::npos) << out;
}

TEST(EnsembleCommand, UnpackWritesEachNetworkSoItCanBeTrainedOrJoinedAgain) {
  test::TempDir dir;
  ModelEnsemble pair;
  pair.storage = TensorStorage::kFloat32;
  pair.members = {test::random_tiny_model(3), test::random_tiny_model(4)};
  pair.info["members"] = {"a.mtm", "b.mtm"};
  save_ensemble_file(pair, dir / "pair.mtm");
  int status = -1;
  auto out = run_cli("unpack " + (dir / "pair.mtm").string() + " -o " + (dir / "nets").string(), &status);
  ASSERT_EQ(status, 0) << out;
  const ModelFile second = load_model_file(dir / "nets/network-2.mtm");
  EXPECT_EQ(second.tensors.back().data, pair.members[1].tensors.back().data);
  EXPECT_EQ(second.info.at("ensemble_member"), "b.mtm");
  EXPECT_FALSE(is_ensemble_file(dir / "nets/network-1.mtm"));
  out = run_cli("ensemble " + (dir / "nets/network-1.mtm").string() + " " + (dir / "nets/network-2.mtm").string() +
                " --float32 -o " + (dir / "again.mtm").string(),
            &status);
  ASSERT_EQ(status, 0) << out;
  const ModelEnsemble again = load_ensemble_file(dir / "again.mtm");
  ASSERT_EQ(again.members.size(), 2u);
  EXPECT_EQ(again.members[0].tensors.front().data, pair.members[0].tensors.front().data);
  out = run_cli("unpack " + (dir / "missing.mtm").string() + " -o " + (dir / "x").string(), &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("model file not found"), std::string::npos) << out;
}

TEST(BlendCommand, RampsTheWeightByDepthAndTheModelCardSaysSo) {
  test::TempDir dir;
  const ModelFile a = test::random_tiny_model(3), b = test::random_tiny_model(4);
  save_model_file(a, dir / "a.mtm");
  save_model_file(b, dir / "b.mtm");
  int status = -1;
  auto out = run_cli("blend " + (dir / "a.mtm").string() + " " + (dir / "b.mtm").string() +
                         " -w 1 --weight-output 0 -o " + (dir / "ramp.mtm").string(),
                     &status);
  ASSERT_EQ(status, 0) << out;
  const ModelFile ramp = load_model_file(dir / "ramp.mtm");
  EXPECT_EQ(ramp.tensor("stem.weight").data, b.tensor("stem.weight").data);
  EXPECT_EQ(ramp.tensor("fc2.weight").data, a.tensor("fc2.weight").data);
  const auto card = run_cli("model-card " + (dir / "ramp.mtm").string(), &status);
  ASSERT_EQ(status, 0) << card;
  EXPECT_NE(card.find("`a.mtm` toward `b.mtm` (the run above) by a weight going from 1.00 at the first layer to 0.00 "
                      "at the last"),
            std::string::npos)
      << card;
  out = run_cli("blend " + (dir / "a.mtm").string() + " " + (dir / "b.mtm").string() + " -w 11 -o " +
                    (dir / "x.mtm").string(),
                &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.mtm"));
}
