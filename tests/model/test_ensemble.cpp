// Ensemble model files (model_file.hpp): several networks in one file, read by the classifier as
// the mean of their probabilities; float16 storage; a clear refusal where one network is needed.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <opencv2/core.hpp>

#include "model/classifier.hpp"
#include "model/model_file.hpp"
#include "model/tiny_model.hpp"
#include "test_util.hpp"

using namespace moodtunes;
using moodtunes::test::noise_faces;
using moodtunes::test::random_tiny_model;
using moodtunes::test::TempDir;

namespace {
ModelEnsemble pair_of_tiny_models(TensorStorage storage) {
  ModelEnsemble e;
  e.storage = storage;
  e.members = {random_tiny_model(3), random_tiny_model(4)};
  e.members[1].info["note"] = "second";
  e.info = {{"members", {"a.mtm", "b.mtm"}}};
  return e;
}

float largest_relative_change(const ModelFile& a, const ModelFile& b) {
  float worst = 0;
  for (std::size_t t = 0; t < a.tensors.size(); ++t)
    for (std::size_t i = 0; i < a.tensors[t].data.size(); ++i) {
      const float x = a.tensors[t].data[i], y = b.tensors[t].data[i];
      if (std::abs(x) > 1e-4f) worst = std::max(worst, std::abs(x - y) / std::abs(x));
    }
  return worst;
}
}  // namespace

TEST(Ensemble, RoundTripsExactlyInFloat32AndWithinHalfRoundingInFloat16) {
  TempDir dir;
  const ModelEnsemble e32 = pair_of_tiny_models(TensorStorage::kFloat32);
  save_ensemble_file(e32, dir / "e32.mtm");
  const ModelEnsemble back32 = load_ensemble_file(dir / "e32.mtm");
  ASSERT_EQ(back32.members.size(), 2u);
  EXPECT_EQ(back32.storage, TensorStorage::kFloat32);
  EXPECT_EQ(back32.info, e32.info);
  EXPECT_EQ(back32.members[1].info["note"], "second");
  for (std::size_t m = 0; m < 2; ++m) {
    ASSERT_EQ(back32.members[m].tensors.size(), e32.members[m].tensors.size());
    for (std::size_t t = 0; t < e32.members[m].tensors.size(); ++t)
      EXPECT_EQ(back32.members[m].tensors[t].data, e32.members[m].tensors[t].data) << m << " " << t;
  }

  save_ensemble_file(pair_of_tiny_models(TensorStorage::kFloat16), dir / "e16.mtm");
  const ModelEnsemble back16 = load_ensemble_file(dir / "e16.mtm");
  EXPECT_EQ(back16.storage, TensorStorage::kFloat16);
  const float change = largest_relative_change(e32.members[1], back16.members[1]);
  EXPECT_GT(change, 0.f) << "float16 storage must round";
  EXPECT_LT(change, 5e-4f);
  EXPECT_LT(std::filesystem::file_size(dir / "e16.mtm"), std::filesystem::file_size(dir / "e32.mtm") * 6 / 10);
  EXPECT_TRUE(is_ensemble_file(dir / "e16.mtm"));
}

TEST(Ensemble, RoundingToStorageGivesInMemoryExactlyWhatTheFileReads) {
  TempDir dir;
  ModelEnsemble e = pair_of_tiny_models(TensorStorage::kFloat16);
  const ModelEnsemble unrounded = e;
  round_to_storage(e);
  EXPECT_GT(largest_relative_change(unrounded.members[0], e.members[0]), 0.f);
  save_ensemble_file(e, dir / "e16.mtm");
  const ModelEnsemble back = load_ensemble_file(dir / "e16.mtm");
  EXPECT_FALSE(back.single_network_file);
  for (std::size_t m = 0; m < 2; ++m)
    for (std::size_t t = 0; t < e.members[m].tensors.size(); ++t)
      EXPECT_EQ(back.members[m].tensors[t].data, e.members[m].tensors[t].data) << m << " " << t;

  ModelEnsemble e32 = pair_of_tiny_models(TensorStorage::kFloat32);
  round_to_storage(e32);
  EXPECT_EQ(largest_relative_change(unrounded.members[1], e32.members[1]), 0.f);
}

TEST(Ensemble, AClassifierFromMemoryReadsAsOneFromTheFileAndScoresFacesAgainstLabels) {
  TempDir dir;
  const ModelEnsemble e = pair_of_tiny_models(TensorStorage::kFloat32);
  save_ensemble_file(e, dir / "pair.mtm");
  const auto from_file = EmotionClassifier::load(dir / "pair.mtm");
  const auto from_memory = EmotionClassifier::from_model(e);
  EXPECT_EQ(from_memory.network_count(), 2u);
  EXPECT_DOUBLE_EQ(from_memory.gflops(), e.members[0].arch.gflops() + e.members[1].arch.gflops());
  EXPECT_EQ(from_memory.parameter_count(), e.members[0].arch.parameter_count() + e.members[1].arch.parameter_count());
  const auto faces = noise_faces(20);
  const auto a = from_file.classify_batch(faces), b = from_memory.classify_batch(faces);
  for (std::size_t i = 0; i < faces.size(); ++i) EXPECT_EQ(a[i], b[i]) << i;

  // score(): label each face with what the model reads, then move two labels off it.
  std::vector<int> labels;
  for (const auto& p : a) labels.push_back(static_cast<int>(argmax(p)));
  labels[0] = (labels[0] + 1) % 7;
  labels[5] = (labels[5] + 3) % 7;
  const ConfusionMatrix cm = score(from_memory, faces, labels);
  EXPECT_EQ(cm.count(), 20);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 18.0 / 20.0);
  EXPECT_THROW(score(from_memory, faces, std::vector<int>(19, 0)), std::invalid_argument);
  EXPECT_THROW(EmotionClassifier::from_model(ModelEnsemble{}), ModelError);
}

TEST(Ensemble, ReadsTheMeanOfItsNetworksProbabilities) {
  TempDir dir;
  const ModelEnsemble e = pair_of_tiny_models(TensorStorage::kFloat32);
  save_ensemble_file(e, dir / "pair.mtm");
  save_model_file(e.members[0], dir / "a.mtm");
  save_model_file(e.members[1], dir / "b.mtm");
  const auto faces = noise_faces(20);
  for (auto engine : {InferenceEngine::kXnnpack, InferenceEngine::kOpenCvDnn}) {
    const auto pair = EmotionClassifier::load(dir / "pair.mtm", engine);
    EXPECT_EQ(pair.network_count(), 2u);
    EXPECT_EQ(pair.engine(), engine);
    EXPECT_EQ(pair.info(), e.info) << "an ensemble's info is its own";
    EXPECT_EQ(pair.network_info(1)["note"], "second");
    const auto a = EmotionClassifier::load(dir / "a.mtm", engine).classify_batch(faces, TestTimeAugmentation::kFlip);
    const auto b = EmotionClassifier::load(dir / "b.mtm", engine).classify_batch(faces, TestTimeAugmentation::kFlip);
    const auto both = pair.classify_batch(faces, TestTimeAugmentation::kFlip);
    float worst = 0, apart = 0;
    for (std::size_t i = 0; i < faces.size(); ++i)
      for (std::size_t c = 0; c < kNumEmotions; ++c) {
        worst = std::max(worst, std::abs(both[i][c] - 0.5f * (a[i][c] + b[i][c])));
        apart = std::max(apart, std::abs(a[i][c] - b[i][c]));
      }
    EXPECT_LT(worst, 1e-5f) << engine_name(engine);
    EXPECT_GT(apart, 1e-3f) << "the two networks must differ, or the mean proves nothing";
  }
  const auto single = EmotionClassifier::load(dir / "a.mtm");
  EXPECT_EQ(single.network_count(), 1u);
  EXPECT_EQ(single.info(), e.members[0].info) << "a single network's info is its training info";
}

TEST(Ensemble, RunsInInt8OnlyWhenEveryNetworkIsCalibrated) {
  TempDir dir;
  ModelEnsemble e = pair_of_tiny_models(TensorStorage::kFloat16);
  const auto faces = noise_faces(30);
  calibrate_int8(e.members[0], faces);
  save_ensemble_file(e, dir / "half.mtm");
  EXPECT_EQ(EmotionClassifier::load(dir / "half.mtm").engine(), InferenceEngine::kXnnpack);
  EXPECT_THROW(EmotionClassifier::load(dir / "half.mtm", InferenceEngine::kXnnpackInt8), ModelError);
  calibrate_int8(e, faces);
  save_ensemble_file(e, dir / "both.mtm");
  const auto clf = EmotionClassifier::load(dir / "both.mtm");
  EXPECT_EQ(clf.engine(), InferenceEngine::kXnnpackInt8);
  const auto fast = clf.classify_batch(faces);
  const auto exact = EmotionClassifier::load(dir / "both.mtm", InferenceEngine::kXnnpack).classify_batch(faces);
  float worst = 0;
  for (std::size_t i = 0; i < faces.size(); ++i)
    for (std::size_t c = 0; c < kNumEmotions; ++c) worst = std::max(worst, std::abs(fast[i][c] - exact[i][c]));
  EXPECT_LT(worst, 0.05f);
}

TEST(Ensemble, WhereOneNetworkIsNeededAnEnsembleIsRefusedClearly) {
  TempDir dir;
  save_ensemble_file(pair_of_tiny_models(TensorStorage::kFloat16), dir / "pair.mtm");
  try {
    load_model_file(dir / "pair.mtm");
    FAIL() << "load_model_file read an ensemble of two";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("an ensemble of 2 networks"), std::string::npos) << e.what();
  }
  ModelEnsemble one;
  one.members = {random_tiny_model()};
  save_ensemble_file(one, dir / "one.mtm");
  EXPECT_EQ(load_model_file(dir / "one.mtm").tensors.size(), random_tiny_model().tensors.size());
  EXPECT_THROW(save_ensemble_file(ModelEnsemble{}, dir / "none.mtm"), ModelError);
  EXPECT_FALSE(std::filesystem::exists(dir / "none.mtm"));
  save_model_file(random_tiny_model(), dir / "single.mtm");
  EXPECT_FALSE(is_ensemble_file(dir / "single.mtm"));
  EXPECT_TRUE(load_ensemble_file(dir / "single.mtm").single_network_file);
  EXPECT_FALSE(is_ensemble_file(dir / "missing.mtm"));
}

TEST(Ensemble, CorruptEnsembleFilesGiveClearErrors) {
  TempDir dir;
  save_ensemble_file(pair_of_tiny_models(TensorStorage::kFloat16), dir / "good.mtm");
  std::string bytes;
  {
    std::ifstream in(dir / "good.mtm", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(dir / "truncated.mtm", std::ios::binary) << bytes.substr(0, bytes.size() - 10);
  std::string other = bytes;
  const auto pos = other.find("\"float16\"");
  ASSERT_NE(pos, std::string::npos);
  other.replace(pos, 9, "\"float08\"");  // same length: the header stays parseable
  std::ofstream(dir / "storage.mtm", std::ios::binary) << other;
  auto error_of = [](const std::filesystem::path& p) -> std::string {
    try {
      load_ensemble_file(p);
    } catch (const ModelError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of(dir / "truncated.mtm").find("truncated tensor data"), std::string::npos);
  EXPECT_NE(error_of(dir / "storage.mtm").find("unknown tensor storage 'float08'"), std::string::npos);
}
