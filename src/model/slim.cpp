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

// Of a tensor laid out [rows][columns][block], the rows `rows` and in each the column blocks `columns`:
// a conv weight [out][in][k x k] (block k*k), fc1 [hidden][channel][side x side] (block side*side),
// fc2 [class][hidden] (block 1).
std::vector<float> slice_blocks(const std::vector<float>& data, std::size_t column_count, std::size_t block,
                                const Keep& rows, const Keep& columns) {
  std::vector<float> out;
  out.reserve(rows.size() * columns.size() * block);
  for (int r : rows)
    for (int c : columns) {
      const auto first = data.begin() + static_cast<std::ptrdiff_t>((std::size_t(r) * column_count + std::size_t(c)) * block);
      out.insert(out.end(), first, first + static_cast<std::ptrdiff_t>(block));
    }
  return out;
}

NamedTensor slice_conv(const NamedTensor& weight, const Keep& out, const Keep& in) {
  const int k = weight.shape.at(2);
  return {weight.name,
          {static_cast<int>(out.size()), static_cast<int>(in.size()), k, k},
          slice_blocks(weight.data, static_cast<std::size_t>(weight.shape.at(1)), static_cast<std::size_t>(k) * k, out, in)};
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

// Whether stage s's first block reaches its input through a 1x1 projection (as ArchSpec::convs()
// lays it out: the channel count changes) rather than adding it unchanged.
bool projects(const ArchSpec& arch, std::size_t s) { return trunk_width(arch, s) != trunk_width(arch, s + 1); }

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
    if (projects(source, s) && !projects(target, s))
      fail(stage + " projects its input in the source but adds it unchanged in the target");
  }
}

}  // namespace

ModelFile slim_model(const ModelFile& source, const ArchSpec& target) {
  const ArchSpec& arch = source.arch;
  require_narrower(arch, target);
  const std::size_t stages = arch.stages.size();

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
  const std::size_t source_hidden = static_cast<std::size_t>(arch.fc_hidden);
  std::vector<double> unit_weight = filter_l1(fc1);  // |fc1 row|, then times |fc2 column|
  for (std::size_t h = 0; h < source_hidden; ++h) {
    double outgoing = 0;
    for (std::size_t k = 0; k < kNumEmotions; ++k) outgoing += std::fabs(fc2.data[k * source_hidden + h]);
    unit_weight[h] *= outgoing;
  }
  const Keep hidden = strongest(unit_weight, target.fc_hidden);
  const Keep& last = trunk[stages];
  Keep classes(kNumEmotions);
  std::iota(classes.begin(), classes.end(), 0);
  out.tensors.push_back({"fc1.weight",
                         {static_cast<int>(hidden.size()), static_cast<int>(last.size() * area)},
                         slice_blocks(fc1.data, static_cast<std::size_t>(arch.final_channels()), area, hidden, last)});
  out.tensors.push_back(slice_vector(source.tensor("fc1.bias"), hidden));
  out.tensors.push_back({"fc2.weight", {kNumEmotions, static_cast<int>(hidden.size())},
                         slice_blocks(fc2.data, source_hidden, 1, classes, hidden)});
  out.tensors.push_back(source.tensor("fc2.bias"));
  return out;
}

}  // namespace moodtunes
