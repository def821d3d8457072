// Weight-space blending: the weights move linearly from one network to the other, the result
// keeps only metadata that still holds, and networks of different shapes are refused.
#include <cmath>

#include <gtest/gtest.h>

#include "model/blend.hpp"
#include "model/tiny_model.hpp"

using namespace moodtunes;

TEST(Blend, WeightsMoveLinearlyFromOneNetworkToTheOther) {
  ModelFile a = moodtunes::test::random_tiny_model(3), b = moodtunes::test::random_tiny_model(4);
  a.info["val"] = {{"accuracy", 0.5}};
  b.info["val"] = {{"accuracy", 0.6}};
  b.info["int8"] = {{"faces", 10}};
  b.info["command"] = "moodtunes train ...";
  for (double w : {0.0, 0.25, 1.0}) {
    const ModelFile m = blend_models(a, b, w, "a.mtm", "b.mtm");
    ASSERT_EQ(m.tensors.size(), b.tensors.size());
    for (std::size_t t = 0; t < m.tensors.size(); ++t)
      for (std::size_t i = 0; i < m.tensors[t].data.size(); i += 97)
        EXPECT_NEAR(m.tensors[t].data[i], (1 - w) * a.tensors[t].data[i] + w * b.tensors[t].data[i], 1e-6);
    EXPECT_FALSE(m.info.contains("val"));   // the blend has not been read yet
    EXPECT_FALSE(m.info.contains("int8"));  // ranges of other weights
    EXPECT_EQ(m.info["command"], "moodtunes train ...");
    EXPECT_EQ(m.info["blend"]["weight"], w);
    EXPECT_EQ(m.info["blend"]["from"], "a.mtm");
  }
  EXPECT_THROW(blend_models(a, b, std::nan(""), "a", "b"), std::invalid_argument);
  const ModelFile other = moodtunes::test::random_model(ArchSpec::fast());
  EXPECT_THROW(blend_models(a, other, 0.5, "a", "fast"), ModelError);
}

TEST(Blend, WeightFollowsDepthFromTheFirstLayerToTheLast) {
  const ModelFile a = moodtunes::test::random_tiny_model(3), b = moodtunes::test::random_tiny_model(4);
  const BlendWeights w{1.0, 0.0};  // all of b at the stem, all of a at fc2
  const ModelFile m = blend_models(a, b, w, "a.mtm", "b.mtm");
  const double n = static_cast<double>(b.arch.convs().size());
  EXPECT_DOUBLE_EQ(blend_weight_at(w, b.arch, "stem.weight"), 1.0);
  EXPECT_DOUBLE_EQ(blend_weight_at(w, b.arch, "fc1.bias"), 1.0 / (n + 1));
  EXPECT_DOUBLE_EQ(blend_weight_at(w, b.arch, "fc2.weight"), 0.0);
  EXPECT_THROW(blend_weight_at(w, b.arch, "conv9.weight"), ModelError);
  double last = 2;
  for (const auto& c : b.arch.convs()) {  // weights fall with depth
    const double here = blend_weight_at(w, b.arch, c.name + ".weight");
    EXPECT_LT(here, last) << c.name;
    EXPECT_EQ(here, blend_weight_at(w, b.arch, c.name + ".bias"));
    last = here;
  }
  EXPECT_EQ(m.tensor("stem.weight").data, b.tensor("stem.weight").data);
  EXPECT_EQ(m.tensor("fc2.weight").data, a.tensor("fc2.weight").data);
  EXPECT_EQ(m.info["blend"]["weight_output"], 0.0);
}

TEST(Blend, ExtrapolatingRecoversTheFineTuneABlendWasMadeFrom) {
  const ModelFile a = moodtunes::test::random_tiny_model(3), b = moodtunes::test::random_tiny_model(4);
  const ModelFile half = blend_models(a, b, 0.35, "a.mtm", "b.mtm");
  const ModelFile back = blend_models(a, half, 1 / 0.35, "a.mtm", "half.mtm");
  for (std::size_t t = 0; t < back.tensors.size(); ++t)
    for (std::size_t i = 0; i < back.tensors[t].data.size(); i += 31)
      EXPECT_NEAR(back.tensors[t].data[i], b.tensors[t].data[i], 1e-4);
}
