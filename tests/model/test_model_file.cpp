#include <gtest/gtest.h>

#include <fstream>

#include "model/classifier.hpp"
#include "model/model_file.hpp"
#include "model/tiny_model.hpp"
#include "test_util.hpp"

using namespace moodtunes;
using moodtunes::test::random_tiny_model;
using moodtunes::test::TempDir;

namespace {
std::string model_error(const std::filesystem::path& p) {
  try {
    EmotionClassifier::load(p);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(ModelFile, RoundTripsAndClassifies) {
  TempDir dir;
  const ModelFile m = random_tiny_model();
  save_model_file(m, dir / "m.mtm");
  const ModelFile back = load_model_file(dir / "m.mtm");
  ASSERT_EQ(back.tensors.size(), m.tensors.size());
  EXPECT_EQ(back.tensor("fc2.bias").data, m.tensor("fc2.bias").data);
  EXPECT_EQ(back.info["note"], "test");
  EXPECT_EQ(back.arch.to_json(), m.arch.to_json());

  const auto clf = EmotionClassifier::load(dir / "m.mtm");
  cv::Mat face(64, 64, CV_8UC3);
  cv::randu(face, 0, 255);
  const auto p = clf.classify(face);
  float sum = 0;
  for (float v : p) {
    EXPECT_GE(v, 0.f);
    sum += v;
  }
  EXPECT_NEAR(sum, 1.f, 1e-5);
  const auto batch = clf.classify_batch({face, face});
  ASSERT_EQ(batch.size(), 2u);
  for (std::size_t c = 0; c < 7; ++c) EXPECT_NEAR(batch[0][c], p[c], 1e-5);
  EXPECT_THROW(clf.classify(cv::Mat()), std::invalid_argument);
}

TEST(ModelFile, CorruptFilesGiveClearErrors) {
  TempDir dir;
  save_model_file(random_tiny_model(), dir / "good.mtm");
  std::string bytes;
  {
    std::ifstream in(dir / "good.mtm", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(dir / "truncated.mtm", std::ios::binary) << bytes.substr(0, bytes.size() - 100);
  std::ofstream(dir / "magic.mtm", std::ios::binary) << "PK\x03\x04 not a model";
  std::ofstream(dir / "header.mtm", std::ios::binary) << "MOODTUNES-MODEL 1\n19\n{\"arch\": [1, 2, 3]}";
  std::ofstream(dir / "length.mtm", std::ios::binary) << "MOODTUNES-MODEL 1\nhuge\n";

  EXPECT_NE(model_error(dir / "missing.mtm").find("not found"), std::string::npos);
  EXPECT_NE(model_error(dir / "truncated.mtm").find("truncated tensor data"), std::string::npos);
  EXPECT_NE(model_error(dir / "magic.mtm").find("not a moodtunes model"), std::string::npos);
  EXPECT_NE(model_error(dir / "header.mtm").find("corrupt header"), std::string::npos);
  EXPECT_NE(model_error(dir / "length.mtm").find("corrupt header length"), std::string::npos);
}

TEST(ModelFile, RefusesAModelWithOtherPreprocessing) {
  TempDir dir;
  save_model_file(random_tiny_model(), dir / "m.mtm");
  std::string bytes;
  {
    std::ifstream in(dir / "m.mtm", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto pos = bytes.find(kPreprocessId);
  ASSERT_NE(pos, std::string::npos);
  bytes[pos] = 'X';  // same length, so the header stays parseable
  std::ofstream(dir / "other.mtm", std::ios::binary) << bytes;
  EXPECT_NE(model_error(dir / "other.mtm").find("preprocessing"), std::string::npos);
}
