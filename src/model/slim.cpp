#include "model/slim.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>

#include "core/emotion.hpp"

namespace moodtunes {
namespace {

using Keep = std::vector<int>;  // source channel indices, ascending

// The k channels of largest importance, in channel order; ties keep the lower index.
Keep strongest(const std::vector<double>& importance, int k) {
  Keep order(importance.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return importance[a] > importance[b]; });
  order.resize(static_cast<std::size_t>(k));
  std::sort(order.begin(), order.end());
  return order;
}

// L1 norm of each output filter of a [out, in, k, k] tensor (BatchNorm's scale folded in, so
// a channel BN silenced reads small).
std::vector<double> filter_l1(const NamedTensor& weight) {
  const std::size_t out = static_cast<std::size_t>(weight.shape.at(0));
  const std::size_t per = weight.data.size() / out;
  std::vector<double> l1(out, 0.0);
  for (std::size_t o = 0; o < out; ++o)
    for (std::size_t i = 0; i < per; ++i) l1[o] += std::fabs(weight.data[o * per + i]);
  return l1;
}

NamedTensor slice_conv(const NamedTensor& weight, const Keep& out, const Keep& in) {
  const int source_in = weight.shape.at(1), k = weight.shape.at(2);
  const std::size_t kk = static_cast<std::size_t>(k) * k;
  NamedTensor t{weight.name, {static_cast<int>(out.size()), static_cast<int>(in.size()), k, k}, {}};
  t.data.reserve(out.size() * in.size() * kk);
  for (int o : out)
    for (int i : in) {
      const auto first = weight.data.begin() + static_cast<std::ptrdiff_t>((std::size_t(o) * source_in + i) * kk);
      t.data.insert(t.data.end(), first, first + static_cast<std::ptrdiff_t>(kk));
    }
  return t;
}

NamedTensor slice_vector(const NamedTensor& vector, const Keep& keep) {
  NamedTensor t{vector.name, {static_cast<int>(keep.size())}, {}};
  for (int c : keep) t.data.push_back(vector.data.at(static_cast<std::size_t>(c)));
  return t;
}

// A 1x1 projection that passes every output channel's own source channel through from the input.
NamedTensor selection(const std::string& name, const Keep& out, const Keep& in) {
  NamedTensor t{name, {static_cast<int>(out.size()), static_cast<int>(in.size()), 1, 1}, {}};
  for (int o : out)
    for (int i : in) t.data.push_back(o == i ? 1.f : 0.f);
  return t;
}

// Channels of trunk position p: the stem's output (p = 0) or stage p-1's output.
int trunk_width(const ArchSpec& arch, std::size_t p) { return p == 0 ? arch.stem : arch.stages[p - 1].channels; }

void require_narrower(const ArchSpec& source, const ArchSpec& target) {
  auto fail = [](const std::string& why) { throw std::invalid_argument("cannot narrow the network: " + why); };
  if (target.stages.size() != source.stages.size())
    fail("the target has " + std::to_string(target.stages.size()) + " stages, the source " +
         std::to_string(source.stages.size()));
  if (target.stem > source.stem) fail("the target's stem is wider");
  if (target.fc_hidden > source.fc_hidden) fail("the target's hidden layer is wider");
  for (std::size_t s = 0; s < source.stages.size(); ++s) {
    const std::string stage = "stage " + std::to_string(s);
    if (target.stages[s].channels > source.stages[s].channels) fail(stage + " is wider in the target");
    if (target.stages[s].blocks > source.stages[s].blocks) fail(stage + " has more blocks in the target");
    const bool source_projects = trunk_width(source, s) != trunk_width(source, s + 1);
    const bool target_projects = trunk_width(target, s) != trunk_width(target, s + 1);
    if (source_projects && !target_projects)
      fail(stage + " projects its input in the source but adds it unchanged in the target");
  }
}

}  // namespace

ModelFile slim_model(const ModelFile& source, const ArchSpec& target) {
  const ArchSpec& arch = source.arch;
  require_narrower(arch, target);
  const std::size_t stages = arch.stages.size();
  auto projects = [](const ArchSpec& a, std::size_t s) { return trunk_width(a, s) != trunk_width(a, s + 1); };

  // Trunk positions joined by an identity shortcut carry the same channels: one importance each.
  std::vector<std::size_t> group(stages + 1, 0);
  for (std::size_t p = 1; p <= stages; ++p) group[p] = projects(arch, p - 1) ? p : group[p - 1];
  std::map<std::size_t, std::vector<double>> importance;
  auto add_writer = [&](std::size_t p, const std::string& conv) {
    const std::vector<double> l1 = filter_l1(source.tensor(conv + ".weight"));
    auto& sum = importance[group[p]];
    sum.resize(l1.size(), 0.0);
    for (std::size_t c = 0; c < l1.size(); ++c) sum[c] += l1[c];
  };
  add_writer(0, "stem");
  for (std::size_t s = 0; s < stages; ++s)
    for (int b = 0; b < arch.stages[s].blocks; ++b) {
      add_writer(s + 1, block_name(s, b) + ".conv2");
      if (b == 0 && projects(arch, s)) add_writer(s + 1, block_name(s, b) + ".proj");
    }
  std::vector<Keep> trunk;
  for (std::size_t p = 0; p <= stages; ++p) trunk.push_back(strongest(importance[group[p]], trunk_width(target, p)));

  ModelFile out;
  out.arch = target;
  out.info = {{"narrowed_from", arch.to_json()}};
  auto put_conv = [&](const std::string& conv, const Keep& keep_out, const Keep& keep_in) {
    out.tensors.push_back(slice_conv(source.tensor(conv + ".weight"), keep_out, keep_in));
    out.tensors.push_back(slice_vector(source.tensor(conv + ".bias"), keep_out));
  };
  put_conv("stem", trunk[0], Keep{0});
  for (std::size_t s = 0; s < stages; ++s)
    for (int b = 0; b < target.stages[s].blocks; ++b) {
      const std::string name = block_name(s, b);
      const Keep& in = b == 0 ? trunk[s] : trunk[s + 1];
      const Keep inner =
          strongest(filter_l1(source.tensor(name + ".conv1.weight")), target.stages[s].channels);
      put_conv(name + ".conv1", inner, in);
      put_conv(name + ".conv2", trunk[s + 1], inner);
      if (b == 0 && projects(target, s)) {
        if (projects(arch, s)) {
          put_conv(name + ".proj", trunk[s + 1], in);
        } else {
          out.tensors.push_back(selection(name + ".proj.weight", trunk[s + 1], in));
          out.tensors.push_back(NamedTensor{name + ".proj.bias", {static_cast<int>(trunk[s + 1].size())},
                                            std::vector<float>(trunk[s + 1].size(), 0.f)});
        }
      }
    }

  // fc1 reads the last trunk flattened channel-major: each kept channel brings its side x side block.
  const NamedTensor& fc1 = source.tensor("fc1.weight");
  const NamedTensor& fc2 = source.tensor("fc2.weight");
  const std::size_t area = static_cast<std::size_t>(arch.final_spatial()) * arch.final_spatial();
  const std::size_t flat = fc1.data.size() / static_cast<std::size_t>(arch.fc_hidden);
  std::vector<double> unit_weight(static_cast<std::size_t>(arch.fc_hidden), 0.0);
  for (std::size_t h = 0; h < unit_weight.size(); ++h) {
    double in = 0, outgoing = 0;
    for (std::size_t i = 0; i < flat; ++i) in += std::fabs(fc1.data[h * flat + i]);
    for (std::size_t k = 0; k < kNumEmotions; ++k) outgoing += std::fabs(fc2.data[k * unit_weight.size() + h]);
    unit_weight[h] = in * outgoing;
  }
  const Keep hidden = strongest(unit_weight, target.fc_hidden);
  const Keep& last = trunk[stages];
  NamedTensor fc1_out{"fc1.weight", {static_cast<int>(hidden.size()), static_cast<int>(last.size() * area)}, {}};
  for (int h : hidden)
    for (int c : last) {
      const auto first = fc1.data.begin() + static_cast<std::ptrdiff_t>(std::size_t(h) * flat + std::size_t(c) * area);
      fc1_out.data.insert(fc1_out.data.end(), first, first + static_cast<std::ptrdiff_t>(area));
    }
  out.tensors.push_back(std::move(fc1_out));
  out.tensors.push_back(slice_vector(source.tensor("fc1.bias"), hidden));
  NamedTensor fc2_out{"fc2.weight", {kNumEmotions, static_cast<int>(hidden.size())}, {}};
  for (std::size_t k = 0; k < kNumEmotions; ++k)
    for (int h : hidden) fc2_out.data.push_back(fc2.data[k * unit_weight.size() + std::size_t(h)]);
  out.tensors.push_back(std::move(fc2_out));
  out.tensors.push_back(source.tensor("fc2.bias"));
  return out;
}

}  // namespace moodtunes
