// Narrowing a network (model/slim.hpp): a wide network built around a narrow one, with every
// extra channel, block and hidden unit silent, must narrow back to exactly the narrow one.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "model/classifier.hpp"
#include "model/slim.hpp"
#include "model/tiny_model.hpp"

using namespace moodtunes;
using moodtunes::test::max_difference;

namespace {

using Keep = std::vector<int>;

// Narrow and wide share their layout: the stem feeds the first stage unchanged, later stages project.
const ArchSpec kNarrow{8, {{8, 1}, {16, 2}, {12, 1}}, 32, 0.1f};
const ArchSpec kWide{12, {{12, 2}, {24, 2}, {20, 1}}, 40, 0.1f};

int trunk_width(const ArchSpec& a, std::size_t p) { return p == 0 ? a.stem : a.stages[p - 1].channels; }

NamedTensor& find(ModelFile& m, const std::string& name) {
  return *std::find_if(m.tensors.begin(), m.tensors.end(), [&](const NamedTensor& t) { return t.name == name; });
}

// Where a wide conv's narrow counterpart sits: out[j] / in[i] are the wide channels of narrow j / i.
// Output filters not in `out` (all of them when `out` is empty) are silenced; what kept filters
// read from channels not in `in` stays random, as those channels are silent.
void place_conv(ModelFile& wide, const ModelFile& narrow, const std::string& conv, const Keep& out, const Keep& in) {
  NamedTensor& w = find(wide, conv + ".weight");
  NamedTensor& b = find(wide, conv + ".bias");
  const std::size_t wide_in = static_cast<std::size_t>(w.shape[1]), kk = static_cast<std::size_t>(w.shape[2] * w.shape[3]);
  for (int o = 0; o < w.shape[0]; ++o)
    if (std::find(out.begin(), out.end(), o) == out.end()) {
      std::fill_n(w.data.begin() + static_cast<long>(o * wide_in * kk), wide_in * kk, 0.f);
      b.data[static_cast<std::size_t>(o)] = 0.f;
    }
  if (out.empty()) return;
  const NamedTensor& nw = narrow.tensor(conv + ".weight");
  const std::size_t narrow_in = static_cast<std::size_t>(nw.shape[1]);
  for (std::size_t j = 0; j < out.size(); ++j) {
    b.data[static_cast<std::size_t>(out[j])] = narrow.tensor(conv + ".bias").data[j];
    for (std::size_t i = 0; i < in.size(); ++i)
      std::copy_n(nw.data.begin() + static_cast<long>((j * narrow_in + i) * kk), kk,
                  w.data.begin() + static_cast<long>((static_cast<std::size_t>(out[j]) * wide_in + in[i]) * kk));
  }
}

// `narrow` placed at random channels of a random network of `wide_arch` (same layout, each part at
// least as wide); the rest is silent: nothing writes the extra channels and units, and the extra
// blocks add zero. So the wide network computes what `narrow` computes.
ModelFile widen(const ModelFile& narrow, const ArchSpec& wide_arch, unsigned seed) {
  ModelFile wide = test::random_model(wide_arch, seed);
  std::mt19937 rng(seed);
  auto positions = [&](int count, int of) {
    Keep all(static_cast<std::size_t>(of));
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), rng);
    all.resize(static_cast<std::size_t>(count));
    std::sort(all.begin(), all.end());
    return all;
  };
  const ArchSpec& na = narrow.arch;
  std::vector<Keep> trunk;
  for (std::size_t p = 0; p <= na.stages.size(); ++p)
    trunk.push_back(p > 0 && trunk_width(wide_arch, p) == trunk_width(wide_arch, p - 1)
                        ? trunk.back()
                        : positions(trunk_width(na, p), trunk_width(wide_arch, p)));
  place_conv(wide, narrow, "stem", trunk[0], {0});
  for (std::size_t s = 0; s < na.stages.size(); ++s)
    for (int b = 0; b < wide_arch.stages[s].blocks; ++b) {
      const std::string name = block_name(s, b);
      if (b >= na.stages[s].blocks) {  // an extra block: its residual is zero
        place_conv(wide, narrow, name + ".conv2", {}, {});
        continue;
      }
      const Keep inner = positions(na.stages[s].channels, wide_arch.stages[s].channels);
      place_conv(wide, narrow, name + ".conv1", inner, b == 0 ? trunk[s] : trunk[s + 1]);
      place_conv(wide, narrow, name + ".conv2", trunk[s + 1], inner);
      if (b == 0 && trunk_width(na, s) != trunk_width(na, s + 1))
        place_conv(wide, narrow, name + ".proj", trunk[s + 1], trunk[s]);
    }
  const Keep hidden = positions(na.fc_hidden, wide_arch.fc_hidden);
  const std::size_t area = static_cast<std::size_t>(na.final_spatial() * na.final_spatial());
  NamedTensor& fc1 = find(wide, "fc1.weight");
  NamedTensor& fc1_bias = find(wide, "fc1.bias");
  const NamedTensor& nfc1 = narrow.tensor("fc1.weight");
  const std::size_t wide_flat = static_cast<std::size_t>(fc1.shape[1]), narrow_flat = static_cast<std::size_t>(nfc1.shape[1]);
  for (int h = 0; h < wide_arch.fc_hidden; ++h) {
    const auto at = std::find(hidden.begin(), hidden.end(), h);
    if (at == hidden.end()) {  // an extra unit: silent
      std::fill_n(fc1.data.begin() + static_cast<long>(h * wide_flat), wide_flat, 0.f);
      fc1_bias.data[static_cast<std::size_t>(h)] = 0.f;
      continue;
    }
    const std::size_t j = static_cast<std::size_t>(at - hidden.begin());
    fc1_bias.data[static_cast<std::size_t>(h)] = narrow.tensor("fc1.bias").data[j];
    for (std::size_t c = 0; c < trunk.back().size(); ++c)
      std::copy_n(nfc1.data.begin() + static_cast<long>(j * narrow_flat + c * area), area,
                  fc1.data.begin() + static_cast<long>(h * wide_flat + static_cast<std::size_t>(trunk.back()[c]) * area));
  }
  NamedTensor& fc2 = find(wide, "fc2.weight");
  for (std::size_t k = 0; k < kNumEmotions; ++k)
    for (std::size_t j = 0; j < hidden.size(); ++j)
      fc2.data[k * static_cast<std::size_t>(wide_arch.fc_hidden) + static_cast<std::size_t>(hidden[j])] =
          narrow.tensor("fc2.weight").data[k * static_cast<std::size_t>(na.fc_hidden) + j];
  find(wide, "fc2.bias") = narrow.tensor("fc2.bias");
  return wide;
}

std::vector<EmotionProbs> read(const ModelFile& m, const std::vector<cv::Mat>& faces) {
  ModelEnsemble e;
  e.members.push_back(m);
  e.storage = TensorStorage::kFloat32;
  return EmotionClassifier::from_model(std::move(e), InferenceEngine::kXnnpack, "test").classify_batch(faces);
}

}  // namespace

TEST(SlimModel, AWidenedNetworkNarrowsBackToExactlyTheOriginal) {
  const ModelFile narrow = test::spread_model(kNarrow, 5);
  const ModelFile wide = widen(narrow, kWide, 9);
  // The test means something only if the wide network computes what the narrow one does, and
  // another network reads differently.
  const auto some = test::noise_faces(6, 11);
  EXPECT_LT(max_difference(read(wide, some), read(narrow, some)), 1e-5f);
  EXPECT_GT(max_difference(read(test::spread_model(kNarrow, 6), some), read(narrow, some)), 1e-2f);

  const ModelFile slim = slim_model(wide, kNarrow);
  EXPECT_EQ(slim.arch.to_json(), kNarrow.to_json());
  EXPECT_EQ(slim.info.at("narrowed_from"), kWide.to_json());
  ASSERT_EQ(slim.tensors.size(), narrow.tensors.size());
  for (const auto& t : narrow.tensors) {
    EXPECT_EQ(slim.tensor(t.name).shape, t.shape) << t.name;
    EXPECT_EQ(slim.tensor(t.name).data, t.data) << t.name;
  }
}

TEST(SlimModel, TheSameArchitectureKeepsEveryTensor) {
  const ModelFile m = test::random_model(kWide, 4);
  const ModelFile same = slim_model(m, kWide);
  ASSERT_EQ(same.tensors.size(), m.tensors.size());
  for (const auto& t : m.tensors) EXPECT_EQ(same.tensor(t.name).data, t.data) << t.name;
}

TEST(SlimModel, AStemNarrowerThanItsStageGetsAPassThroughProjection) {
  // In the source the stem feeds stage 0 unchanged (12 = 12); here the stem keeps 8 channels and
  // stage 0 keeps 10, so the target projects, and the projection must pass the 8 through.
  const ModelFile narrow = test::spread_model(kNarrow, 5);
  const ModelFile wide = widen(narrow, kWide, 9);
  ArchSpec target = kNarrow;
  target.stages[0].channels = 10;
  const ModelFile slim = slim_model(wide, target);
  const NamedTensor& proj = slim.tensor("s0b0.proj.weight");
  EXPECT_EQ(proj.shape, (std::vector<int>{10, 8, 1, 1}));
  EXPECT_EQ(std::accumulate(proj.data.begin(), proj.data.end(), 0.f), 8.f);
  const auto some = test::noise_faces(6, 11);
  EXPECT_LT(max_difference(read(slim, some), read(narrow, some)), 1e-5f);
}

TEST(SlimModel, AWiderOrDifferentlyShapedTargetIsRefused) {
  const ModelFile narrow = test::random_model(kNarrow, 2);
  const ModelFile wide = test::random_model(kWide, 2);
  EXPECT_THROW(slim_model(narrow, kWide), std::invalid_argument);
  ArchSpec more_blocks = kNarrow;
  more_blocks.stages[2].blocks = 2;
  EXPECT_THROW(slim_model(wide, more_blocks), std::invalid_argument);
  ArchSpec fewer_stages = kNarrow;
  fewer_stages.stages.pop_back();
  EXPECT_THROW(slim_model(wide, fewer_stages), std::invalid_argument);
  // The source projects stage 2's input (24 -> 20); a target adding it unchanged (16 -> 16) cannot follow.
  ArchSpec unprojected = kNarrow;
  unprojected.stages[2].channels = 16;
  try {
    slim_model(wide, unprojected);
    FAIL() << "accepted a stage that drops its projection";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("stage 2"), std::string::npos) << e.what();
  }
}
