#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <sys/resource.h>

#include <opencv2/imgproc.hpp>

#include "preprocess/preprocess.hpp"
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
  EXPECT_NE(model_error(dir / "truncated.mtm").find("left in the file"), std::string::npos);
  EXPECT_NE(model_error(dir / "magic.mtm").find("not a moodtunes model"), std::string::npos);
  EXPECT_NE(model_error(dir / "header.mtm").find("corrupt header"), std::string::npos);
  EXPECT_NE(model_error(dir / "length.mtm").find("corrupt header length"), std::string::npos);
}

namespace {
// good.mtm with its header changed by `edit` (the tensor bytes stay as they are).
std::filesystem::path rewrite_header(const std::filesystem::path& good, const std::filesystem::path& out,
                                     const std::function<void(nlohmann::json&)>& edit) {
  std::ifstream in(good, std::ios::binary);
  std::string magic, length;
  std::getline(in, magic);
  std::getline(in, length);
  std::string header(std::stoul(length), '\0');
  in.read(header.data(), static_cast<std::streamsize>(header.size()));
  std::string data(std::istreambuf_iterator<char>(in), {});
  auto j = nlohmann::json::parse(header);
  edit(j);
  const std::string text = j.dump();
  std::ofstream(out, std::ios::binary) << magic << '\n' << text.size() << '\n' << text << data;
  return out;
}

long max_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}
}  // namespace

TEST(ModelFile, HostileTensorTablesAreRefusedBeforeAnythingIsAllocated) {
  TempDir dir;
  save_model_file(random_tiny_model(), dir / "good.mtm");
  auto set_shape = [](std::string name, std::vector<int> shape) {
    return [name, shape](nlohmann::json& j) {
      for (auto& t : j["tensors"])
        if (t["name"] == name) t["shape"] = shape;
    };
  };
  const long rss_before = max_rss_kb();
  // A ~1 GB tensor claimed by a small file: refused by its shape, nothing allocated.
  const auto huge = rewrite_header(dir / "good.mtm", dir / "huge.mtm",
                                   [](nlohmann::json& j) { j["tensors"][0]["shape"] = {256, 1024, 1024}; });
  EXPECT_NE(model_error(huge).find("has shape [256,1024,1024], the architecture needs"), std::string::npos)
      << model_error(huge);
  // A shape whose element count wraps to 0 in 64 bits.
  const auto wrap = rewrite_header(dir / "good.mtm", dir / "wrap.mtm", set_shape("fc2.bias", {65536, 65536, 65536, 65536}));
  EXPECT_NE(model_error(wrap).find("has shape"), std::string::npos);
  EXPECT_LT(max_rss_kb() - rss_before, 64 * 1024);  // KiB: well under the ~1 GB once allocated
  // The same values in another order: accepted before, now refused.
  const ModelFile good = load_model_file(dir / "good.mtm");
  auto fc2 = good.tensor("fc2.weight").shape;
  ASSERT_EQ(fc2.size(), 2u);
  const auto permuted = rewrite_header(dir / "good.mtm", dir / "permuted.mtm", set_shape("fc2.weight", {fc2[1], fc2[0]}));
  EXPECT_NE(model_error(permuted).find("fc2.weight has shape"), std::string::npos) << model_error(permuted);
  // A tensor the architecture lacks, and one it needs missing.
  const auto extra = rewrite_header(dir / "good.mtm", dir / "extra.mtm",
                                    [](nlohmann::json& j) { j["tensors"][0]["name"] = "conv99.weight"; });
  EXPECT_NE(model_error(extra).find("not part of the architecture"), std::string::npos) << model_error(extra);
  const auto fewer = rewrite_header(dir / "good.mtm", dir / "fewer.mtm",
                                    [](nlohmann::json& j) { j["tensors"].erase(j["tensors"].size() - 1); });
  EXPECT_NE(model_error(fewer).find("lacks tensor"), std::string::npos) << model_error(fewer);
  // A folder given as the model says so.
  std::filesystem::create_directories(dir / "folder.mtm");
  EXPECT_NE(model_error(dir / "folder.mtm").find("is a folder"), std::string::npos);
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

TEST(TestTimeAugmentation, AveragesTheViewsAndBatchesLikeSingleCalls) {
  TempDir dir;
  save_model_file(random_tiny_model(), dir / "m.mtm");
  const auto clf = EmotionClassifier::load(dir / "m.mtm");
  cv::RNG rng(7);
  std::vector<cv::Mat> faces;
  for (int i = 0; i < 30; ++i) {  // 30 faces x 10 views: crosses the classifier's 256-view chunk
    cv::Mat f(48, 48, CV_8UC1);
    rng.fill(f, cv::RNG::UNIFORM, 0, 256);
    faces.push_back(f);
  }
  // Flip: exactly the mean of the probabilities of the plain view and of its mirror image.
  const cv::Mat plain_view = tta_view(preprocess_face(faces[0]), TestTimeAugmentation::kNone, 0);
  cv::Mat mirror;
  cv::flip(plain_view, mirror, 1);
  const auto plain = clf.classify(faces[0]), mirrored = clf.classify_views({mirror})[0];
  EXPECT_LT(cv::norm(plain_view, tta_views(preprocess_face(faces[0]), TestTimeAugmentation::kFlip)[0], cv::NORM_INF), 1e-6);
  const auto flip = clf.classify(faces[0], TestTimeAugmentation::kFlip);
  for (std::size_t c = 0; c < kNumEmotions; ++c) EXPECT_NEAR(flip[c], 0.5f * (plain[c] + mirrored[c]), 1e-5);

  const auto batch = clf.classify_batch(faces, TestTimeAugmentation::kTenCrop);
  ASSERT_EQ(batch.size(), faces.size());
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const auto one = clf.classify(faces[i], TestTimeAugmentation::kTenCrop);
    float sum = 0;
    for (std::size_t c = 0; c < kNumEmotions; ++c) {
      EXPECT_NEAR(batch[i][c], one[c], 1e-5) << "face " << i;
      sum += one[c];
    }
    EXPECT_NEAR(sum, 1.f, 1e-5);
  }
  float differs = 0;  // ten crops see shifted, zoomed faces: not the plain reading
  for (std::size_t c = 0; c < kNumEmotions; ++c) differs += std::abs(batch[0][c] - plain[c]);
  EXPECT_GT(differs, 1e-4);
}

// The live pipeline classifies one view per reading and lets its smoother average them: the
// views, classified one at a time, must average to the augmented reading.
TEST(TestTimeAugmentation, ViewsOneAtATimeAverageToTheAugmentedReading) {
  TempDir dir;
  save_model_file(random_tiny_model(), dir / "m.mtm");
  const auto clf = EmotionClassifier::load(dir / "m.mtm");
  cv::Mat face(48, 48, CV_8UC1);
  cv::RNG(3).fill(face, cv::RNG::UNIFORM, 0, 256);
  const cv::Mat input = preprocess_face(face);
  for (auto tta : {TestTimeAugmentation::kNone, TestTimeAugmentation::kFlip, TestTimeAugmentation::kTenCrop}) {
    const cv::Mat before = input.clone();
    const auto views = tta_views(input, tta);
    ASSERT_EQ(views.size(), tta_view_count(tta));
    for (std::size_t i = 0; i < views.size(); ++i) EXPECT_EQ(cv::norm(tta_view(input, tta, i), views[i], cv::NORM_INF), 0) << i;
    EXPECT_EQ(cv::norm(input, before, cv::NORM_INF), 0) << "the views must not write into the input";
    EXPECT_THROW(tta_view(input, tta, views.size()), std::invalid_argument);
    EmotionProbs mean{};
    for (const auto& v : views) {
      ASSERT_EQ(v.size(), input.size());
      const auto p = clf.classify_views({v}).front();
      for (std::size_t c = 0; c < kNumEmotions; ++c) mean[c] += p[c] / static_cast<float>(views.size());
    }
    const auto whole = clf.classify_preprocessed({input}, tta).front();
    for (std::size_t c = 0; c < kNumEmotions; ++c) EXPECT_NEAR(mean[c], whole[c], 1e-5) << tta_name(tta);
  }
  EXPECT_EQ(tta_view_count(TestTimeAugmentation::kTenCrop), 10u);
  EXPECT_THROW(tta_views(cv::Mat::zeros(32, 32, CV_32F), TestTimeAugmentation::kFlip), std::invalid_argument);
}

// Training resamples every face through preprocess/preprocess.hpp's warp_face(); the plain view
// resamples once too, a quarter pixel right and down, and is standardised again.
TEST(TestTimeAugmentation, PlainViewIsTrainingsWarpByAQuarterPixel) {
  cv::Mat dot = cv::Mat::zeros(kFaceSize, kFaceSize, CV_32F);
  dot.at<float>(20, 20) = 16.f;
  cv::Mat view = tta_view(dot, TestTimeAugmentation::kNone, 0);
  cv::Scalar mean, sd;
  cv::meanStdDev(view, mean, sd);
  EXPECT_NEAR(mean[0], 0.0, 1e-5);
  EXPECT_NEAR(sd[0], 1.0, 1e-4);
  const float base = view.at<float>(0, 0);  // the standardised zero
  const float spread[] = {view.at<float>(20, 20) - base, view.at<float>(20, 21) - base, view.at<float>(21, 20) - base,
                          view.at<float>(21, 21) - base};
  EXPECT_NEAR(spread[1] / spread[0], 1.f / 3.f, 1e-4);  // bilinear weights 3/4 x 3/4, 1/4 x 3/4, ...
  EXPECT_NEAR(spread[2] / spread[0], 1.f / 3.f, 1e-4);
  EXPECT_NEAR(spread[3] / spread[0], 1.f / 9.f, 1e-4);

  cv::Mat face(kFaceSize, kFaceSize, CV_8UC1);
  cv::RNG(5).fill(face, cv::RNG::UNIFORM, 40, 220);
  cv::GaussianBlur(face, face, {5, 5}, 1.5);  // face-like: smooth, so 8-bit rounding stays small
  const cv::Mat as_training = standardize_face(warp_face(face, 0.f, 1.f, 0.25f, 0.25f));
  const cv::Mat plain = tta_view(preprocess_face(face), TestTimeAugmentation::kNone, 0);
  EXPECT_LT(cv::norm(plain, as_training, cv::NORM_INF), 0.1);
  EXPECT_GT(cv::norm(plain, preprocess_face(face), cv::NORM_INF), 0.1) << "the plain view must be resampled";
}

TEST(TestTimeAugmentation, NamesRoundTripAndUnknownNamesAreRefused) {
  for (auto t : {TestTimeAugmentation::kNone, TestTimeAugmentation::kFlip, TestTimeAugmentation::kTenCrop})
    EXPECT_EQ(parse_tta(tta_name(t)), t);
  EXPECT_THROW(parse_tta("twelve-crop"), std::invalid_argument);
}
