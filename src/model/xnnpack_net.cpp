#include "model/xnnpack_net.hpp"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/emotion.hpp"
#include "preprocess/preprocess.hpp"

namespace moodtunes {

namespace {

constexpr float kNoMin = -std::numeric_limits<float>::infinity();
constexpr float kNoMax = std::numeric_limits<float>::infinity();

void check(xnn_status status, const std::string& what) {
  if (status != xnn_status_success)
    throw ModelError("XNNPACK: " + what + " failed (status " +
                     std::to_string(static_cast<int>(status)) + ")");
}

struct OperatorDeleter {
  void operator()(xnn_operator_t op) const { xnn_delete_operator(op); }
};
using Operator = std::unique_ptr<xnn_operator, OperatorDeleter>;

struct PoolDeleter {
  void operator()(pthreadpool_t pool) const { pthreadpool_destroy(pool); }
};
using ThreadPool = std::unique_ptr<pthreadpool, PoolDeleter>;

// The trainer's tensor, checked against the shape the ArchSpec implies (a mismatch would make
// XNNPACK read past the buffer).
const std::vector<float>& weights(const ModelFile& model, const std::string& name,
                                  std::size_t count) {
  const auto& t = model.tensor(name);
  if (t.data.size() != count)
    throw ModelError("tensor " + name + " has " + std::to_string(t.data.size()) +
                     " values, the architecture needs " + std::to_string(count));
  return t.data;
}

}  // namespace

// The graph is a list of steps, each one operator reading earlier tensors and writing a new one.
// Tensors live in slots reused once their last reader has run, so activation memory is a few
// tensors per view rather than all of them.
struct XnnpackNet::Impl {
  struct Tensor {
    std::size_t values_per_view = 0;
    int slot = -1;
    // Int8 tensors: real value = scale * (q - zero).
    bool int8 = false;
    float scale = 1.f;
    int8_t zero = 0;
    std::size_t bytes_per_view() const { return values_per_view * (int8 ? 1 : sizeof(float)); }
  };
  struct Step {
    Operator op;
    std::vector<int> inputs;
    int output = -1;
    // Binds the operator to its tensors' buffers for a batch of `views` views.
    std::function<xnn_status(std::size_t views, pthreadpool_t pool)> setup;
  };

  // Int8 mode: ranges[t] is the calibrated largest |value| of tensor t, for every tensor up to the
  // last max-pool's output (the head runs in float).
  std::optional<std::vector<float>> ranges;
  int last_pooled = -1;  // the last max-pool's output: the last tensor int8 mode quantises
  std::vector<Tensor> tensors;
  std::vector<Step> steps;
  std::vector<std::vector<float>> slots;  // float-typed for alignment; int8 tensors use the bytes
  std::vector<std::size_t> slot_bytes_per_view;
  int input_tensor = -1;
  int logits_tensor = -1;
  // What the operators are bound to now (bind() re-binds when either changes).
  std::size_t bound_views = 0;
  int bound_threads = 0;
  ThreadPool pool;

  template <class T = float>
  T* data(int tensor) {
    return reinterpret_cast<T*>(
        slots[static_cast<std::size_t>(tensors[static_cast<std::size_t>(tensor)].slot)].data());
  }
  const Tensor& info(int tensor) const { return tensors[static_cast<std::size_t>(tensor)]; }

  // A float tensor, or in int8 mode one quantised from its calibrated range: after a ReLU the
  // range [0, r] spans all 256 levels, otherwise [-r, r] is symmetric.
  int new_tensor(std::size_t values_per_view, bool quantised = false, bool after_relu = false) {
    Tensor t{values_per_view, -1};
    const auto index = tensors.size();
    if (quantised) {
      if (!ranges || index >= ranges->size())
        throw ModelError("int8 calibration does not cover tensor " + std::to_string(index));
      const float range = std::max((*ranges)[index], 1e-6f);
      t.int8 = true;
      t.scale = after_relu ? range / 255.f : range / 127.f;
      t.zero = after_relu ? -128 : 0;
    }
    tensors.push_back(t);
    return static_cast<int>(index);
  }

  int conv(const ModelFile& model, const std::string& name, int input, int side, int in, int out,
           int kernel, bool relu) {
    const auto& w =
        weights(model, name + ".weight", static_cast<std::size_t>(out) * in * kernel * kernel);
    const auto& b = weights(model, name + ".bias", static_cast<std::size_t>(out));
    // OIHW (the trainer's layout) -> OHWI (XNNPACK's).
    // XNNPACK packs the weights into its own buffers at creation, so this copy can go afterwards.
    std::vector<float> ohwi(w.size());
    for (int o = 0; o < out; ++o)
      for (int i = 0; i < in; ++i)
        for (int k = 0; k < kernel * kernel; ++k)
          ohwi[(static_cast<std::size_t>(o) * kernel * kernel + k) * in + i] =
              w[(static_cast<std::size_t>(o) * in + i) * kernel * kernel + k];
    xnn_operator_t raw = nullptr;
    const auto pad = static_cast<uint32_t>(kernel / 2);
    const auto outputs = static_cast<std::size_t>(side) * side * out;
    if (ranges) {
      const int output = new_tensor(outputs, true, relu);
      const Tensor& x = info(input);
      const Tensor& y = info(output);
      // Per output channel: int8 weights scaled to their own largest |w|, int32 bias.
      const std::size_t per_channel = static_cast<std::size_t>(in) * kernel * kernel;
      std::vector<float> kernel_scale(static_cast<std::size_t>(out));
      std::vector<int8_t> q(ohwi.size());
      std::vector<int32_t> bias(static_cast<std::size_t>(out));
      for (std::size_t o = 0; o < kernel_scale.size(); ++o) {
        float largest = 0;
        for (std::size_t k = 0; k < per_channel; ++k)
          largest = std::max(largest, std::abs(ohwi[o * per_channel + k]));
        kernel_scale[o] = std::max(largest, 1e-12f) / 127.f;
        for (std::size_t k = 0; k < per_channel; ++k)
          q[o * per_channel + k] =
              static_cast<int8_t>(std::lround(ohwi[o * per_channel + k] / kernel_scale[o]));
        bias[o] = static_cast<int32_t>(std::lround(b[o] / (x.scale * kernel_scale[o])));
      }
      check(xnn_create_convolution2d_nhwc_qc8(pad, pad, pad, pad, kernel, kernel, 1, 1, 1, 1, 1, in,
                                              out, in, out, x.zero, x.scale, kernel_scale.data(),
                                              q.data(), bias.data(), y.zero, y.scale,
                                              relu ? y.zero : int8_t{-128}, 127, 0, &raw),
            "creating " + name);
      Step step{Operator(raw), {input}, output, {}};
      step.setup = [this, raw, input, output, side](std::size_t views, pthreadpool_t p) {
        return xnn_setup_convolution2d_nhwc_qc8(raw, views, side, side, data<int8_t>(input),
                                                data<int8_t>(output), p);
      };
      steps.push_back(std::move(step));
      return output;
    }
    check(xnn_create_convolution2d_nhwc_f32(pad, pad, pad, pad, kernel, kernel, 1, 1, 1, 1, 1, in,
                                            out, in, out, ohwi.data(), b.data(),
                                            relu ? 0.f : kNoMin, kNoMax, 0, &raw),
          "creating " + name);
    const int output = new_tensor(outputs);
    Step step{Operator(raw), {input}, output, {}};
    step.setup = [this, raw, input, output, side](std::size_t views, pthreadpool_t p) {
      return xnn_setup_convolution2d_nhwc_f32(raw, views, side, side, data(input), data(output), p);
    };
    steps.push_back(std::move(step));
    return output;
  }

  int add_relu(int a, int b, int side, int channels) {
    xnn_operator_t raw = nullptr;
    const auto outputs = static_cast<std::size_t>(side) * side * channels;
    const int output = ranges ? new_tensor(outputs, true, true) : new_tensor(outputs);
    const Tensor &x = info(a), &y = info(b), &z = info(output);
    if (ranges)
      check(xnn_create_add_nd_qs8(x.zero, x.scale, y.zero, y.scale, z.zero, z.scale, z.zero, 127, 0,
                                  &raw),
            "creating a residual add");
    else
      check(xnn_create_add_nd_f32(0.f, kNoMax, 0, &raw), "creating a residual add");
    Step step{Operator(raw), {a, b}, output, {}};
    step.setup = [this, raw, a, b, output, side, channels](std::size_t views, pthreadpool_t p) {
      const std::size_t shape[] = {views, static_cast<std::size_t>(side),
                                   static_cast<std::size_t>(side),
                                   static_cast<std::size_t>(channels)};
      if (ranges)
        return xnn_setup_add_nd_qs8(raw, 4, shape, 4, shape, data<int8_t>(a), data<int8_t>(b),
                                    data<int8_t>(output), p);
      return xnn_setup_add_nd_f32(raw, 4, shape, 4, shape, data(a), data(b), data(output), p);
    };
    steps.push_back(std::move(step));
    return output;
  }

  int max_pool(int input, int side, int channels) {
    xnn_operator_t raw = nullptr;
    const auto c = static_cast<std::size_t>(channels);
    const int output = new_tensor(static_cast<std::size_t>(side / 2) * (side / 2) * c);
    if (ranges) {
      // The maximum of int8 values is the int8 of the maximum: same scale and zero as the input.
      Tensor& t = tensors[static_cast<std::size_t>(output)];
      t.int8 = true;
      t.scale = info(input).scale;
      t.zero = info(input).zero;
      check(xnn_create_max_pooling2d_nhwc_s8(0, 0, 0, 0, 2, 2, 2, 2, 1, 1, c, c, c, -128, 127, 0,
                                             &raw),
            "creating a max-pool");
    } else {
      check(xnn_create_max_pooling2d_nhwc_f32(0, 0, 0, 0, 2, 2, 2, 2, 1, 1, c, c, c, kNoMin, kNoMax,
                                              0, &raw),
            "creating a max-pool");
    }
    Step step{Operator(raw), {input}, output, {}};
    step.setup = [this, raw, input, output, side](std::size_t views, pthreadpool_t p) {
      if (ranges)
        return xnn_setup_max_pooling2d_nhwc_s8(raw, views, side, side, data<int8_t>(input),
                                               data<int8_t>(output), p);
      return xnn_setup_max_pooling2d_nhwc_f32(raw, views, side, side, data(input), data(output), p);
    };
    steps.push_back(std::move(step));
    return output;
  }

  int fully_connected(const std::vector<float>& w, const std::vector<float>& b, int input,
                      std::size_t in, std::size_t out, bool relu, const std::string& name) {
    xnn_operator_t raw = nullptr;
    check(xnn_create_fully_connected_nc_f32(in, out, in, out, w.data(), b.data(),
                                            relu ? 0.f : kNoMin, kNoMax, 0, &raw),
          "creating " + name);
    const int output = new_tensor(out);
    Step step{Operator(raw), {input}, output, {}};
    step.setup = [this, raw, input, output](std::size_t views, pthreadpool_t p) {
      return xnn_setup_fully_connected_nc_f32(raw, views, data(input), data(output), p);
    };
    steps.push_back(std::move(step));
    return output;
  }

  // Int8 -> float, for the head.
  int dequantize(int input) {
    const Tensor& x = info(input);
    xnn_operator_t raw = nullptr;
    check(xnn_create_convert_nc_qs8_f32(x.values_per_view, x.values_per_view, x.values_per_view,
                                        x.scale, x.zero, 0, &raw),
          "creating a dequantisation");
    const int output = new_tensor(x.values_per_view);
    Step step{Operator(raw), {input}, output, {}};
    step.setup = [this, raw, input, output](std::size_t views, pthreadpool_t p) {
      return xnn_setup_convert_nc_qs8_f32(raw, views, data<int8_t>(input), data(output), p);
    };
    steps.push_back(std::move(step));
    return output;
  }

  // Assigns each tensor a slot that no live tensor holds (the input and the logits keep their own).
  void assign_slots(int input, int logits) {
    std::vector<int> last_read(tensors.size(), -1);
    for (std::size_t s = 0; s < steps.size(); ++s)
      for (int t : steps[s].inputs) last_read[static_cast<std::size_t>(t)] = static_cast<int>(s);
    std::vector<int> slot_owner;  // the tensor in each slot, -1 when free
    auto take_slot = [&](int tensor, bool reusable) {
      std::size_t slot = slot_owner.size();
      if (reusable)
        for (std::size_t k = 0; k < slot_owner.size(); ++k)
          if (slot_owner[k] < 0) {
            slot = k;
            break;
          }
      if (slot == slot_owner.size()) {
        slot_owner.push_back(-1);
        slot_bytes_per_view.push_back(0);
      }
      slot_owner[slot] = reusable ? tensor : std::numeric_limits<int>::max();
      auto& size = slot_bytes_per_view[slot];
      size = std::max(size, info(tensor).bytes_per_view());
      tensors[static_cast<std::size_t>(tensor)].slot = static_cast<int>(slot);
    };
    take_slot(input, false);
    for (std::size_t s = 0; s < steps.size(); ++s) {
      take_slot(steps[s].output, steps[s].output != logits);
      for (int t : steps[s].inputs)
        if (last_read[static_cast<std::size_t>(t)] == static_cast<int>(s))
          for (auto& owner : slot_owner)
            if (owner == t) owner = -1;
    }
    slots.resize(slot_owner.size());
  }

  void bind(std::size_t views, int threads) {
    if (views == bound_views && threads == bound_threads) return;
    if (threads != bound_threads)
      pool.reset(threads > 1 ? pthreadpool_create(static_cast<std::size_t>(threads)) : nullptr);
    // XNNPACK's kernels may read up to XNN_EXTRA_BYTES past the end of an input.
    for (std::size_t k = 0; k < slots.size(); ++k)
      slots[k].assign((views * slot_bytes_per_view[k] + XNN_EXTRA_BYTES) / sizeof(float) + 1, 0.f);
    bound_views = 0;  // half-bound operators must not run if a setup fails
    for (auto& step : steps) check(step.setup(views, pool.get()), "binding an operator");
    bound_views = views;
    bound_threads = threads;
  }
};

bool XnnpackNet::available() {
  static const bool ok = xnn_initialize(nullptr) == xnn_status_success;
  return ok;
}

XnnpackNet::XnnpackNet(const ModelFile& model, const std::vector<float>* int8_ranges)
    : impl_(std::make_unique<Impl>()) {
  if (!available()) throw ModelError("XNNPACK cannot run on this CPU");
  Impl& g = *impl_;
  if (int8_ranges) g.ranges = *int8_ranges;
  const ArchSpec& arch = model.arch;
  int side = kFaceSize;
  g.input_tensor = g.new_tensor(static_cast<std::size_t>(side) * side, g.ranges.has_value());
  int x = g.conv(model, "stem", g.input_tensor, side, 1, arch.stem, 3, true);
  int channels = arch.stem;
  for (std::size_t s = 0; s < arch.stages.size(); ++s) {
    const int c = arch.stages[s].channels;
    for (int b = 0; b < arch.stages[s].blocks; ++b) {
      const std::string name = block_name(s, b);
      const int y = g.conv(model, name + ".conv2",
                           g.conv(model, name + ".conv1", x, side, channels, c, 3, true), side, c,
                           c, 3, false);
      const int shortcut =
          channels != c ? g.conv(model, name + ".proj", x, side, channels, c, 1, false) : x;
      x = g.add_relu(y, shortcut, side, c);
      channels = c;
    }
    x = g.max_pool(x, side, channels);
    side /= 2;
  }
  g.last_pooled = x;
  if (g.ranges) {
    if (g.ranges->size() != static_cast<std::size_t>(x) + 1)
      throw ModelError("int8 calibration has " + std::to_string(g.ranges->size()) +
                       " ranges, the network needs " + std::to_string(x + 1));
    x = g.dequantize(x);
  }
  // The trainer flattens NCHW (channel-major); here activations are NHWC, so fc1's columns are
  // reordered to read pixel-major.
  const auto pixels = static_cast<std::size_t>(side) * side;
  const auto flat = pixels * static_cast<std::size_t>(channels);
  const auto hidden = static_cast<std::size_t>(arch.fc_hidden);
  const auto& w1 = weights(model, "fc1.weight", hidden * flat);
  std::vector<float> w1_nhwc(w1.size());
  for (std::size_t h = 0; h < hidden; ++h)
    for (std::size_t c = 0; c < static_cast<std::size_t>(channels); ++c)
      for (std::size_t p = 0; p < pixels; ++p)
        w1_nhwc[h * flat + p * channels + c] = w1[h * flat + c * pixels + p];
  x = g.fully_connected(w1_nhwc, weights(model, "fc1.bias", hidden), x, flat, hidden, true, "fc1");
  g.logits_tensor = g.fully_connected(weights(model, "fc2.weight", kNumEmotions * hidden),
                                      weights(model, "fc2.bias", kNumEmotions), x, hidden,
                                      kNumEmotions, false, "fc2");
  g.assign_slots(g.input_tensor, g.logits_tensor);
}

XnnpackNet::~XnnpackNet() = default;

void XnnpackNet::forward(const float* views, std::size_t n, float* logits, int threads) {
  Impl& g = *impl_;
  constexpr std::size_t kViewFloats = static_cast<std::size_t>(kFaceSize) * kFaceSize;
  for (std::size_t first = 0; first < n; first += kViewsPerRun) {
    const std::size_t count = std::min(kViewsPerRun, n - first);
    g.bind(count, std::max(1, threads));
    const float* in = views + first * kViewFloats;
    if (g.ranges) {
      const auto& t = g.info(g.input_tensor);
      int8_t* q = g.data<int8_t>(g.input_tensor);
      for (std::size_t i = 0; i < count * kViewFloats; ++i)
        q[i] =
            static_cast<int8_t>(std::clamp<long>(std::lround(in[i] / t.scale) + t.zero, -128, 127));
    } else {
      std::memcpy(g.data(g.input_tensor), in, count * kViewFloats * sizeof(float));
    }
    for (auto& step : g.steps)
      check(xnn_run_operator(step.op.get(), g.pool.get()), "running the network");
    std::memcpy(logits + first * kNumEmotions, g.data(g.logits_tensor),
                count * kNumEmotions * sizeof(float));
  }
}

bool XnnpackNet::is_int8() const { return impl_->ranges.has_value(); }

std::vector<float> XnnpackNet::activation_ranges(const float* views, std::size_t n,
                                                 double quantile) {
  Impl& g = *impl_;
  if (g.ranges) throw std::logic_error("activation_ranges: calibrate on the float network");
  constexpr std::size_t kViewFloats = static_cast<std::size_t>(kFaceSize) * kFaceSize;
  const auto tensors = static_cast<std::size_t>(g.last_pooled) + 1;
  std::vector<std::vector<float>> view_maxima(tensors);  // per tensor, each view's largest |value|
  auto record = [&](int tensor, std::size_t count) {
    if (tensor < 0 || static_cast<std::size_t>(tensor) >= tensors) return;
    const std::size_t per_view = g.info(tensor).values_per_view;
    const float* v = g.data(tensor);
    for (std::size_t view = 0; view < count; ++view) {
      float largest = 0;
      for (std::size_t k = 0; k < per_view; ++k)
        largest = std::max(largest, std::abs(v[view * per_view + k]));
      view_maxima[static_cast<std::size_t>(tensor)].push_back(largest);
    }
  };
  for (std::size_t first = 0; first < n; first += kViewsPerRun) {
    const std::size_t count = std::min(kViewsPerRun, n - first);
    g.bind(count, 1);
    std::memcpy(g.data(g.input_tensor), views + first * kViewFloats,
                count * kViewFloats * sizeof(float));
    record(g.input_tensor, count);
    // One step at a time: a slot is reused once its tensor's readers have run.
    for (auto& step : g.steps) {
      check(xnn_run_operator(step.op.get(), g.pool.get()), "running the network");
      record(step.output, count);
    }
  }
  std::vector<float> ranges(tensors, 0.f);
  for (std::size_t t = 0; t < tensors; ++t) {
    auto& m = view_maxima[t];
    if (m.empty()) continue;
    const auto k = static_cast<std::size_t>(std::clamp(quantile, 0.0, 1.0) * double(m.size() - 1));
    std::nth_element(m.begin(), m.begin() + static_cast<long>(k), m.end());
    ranges[t] = m[k];
  }
  return ranges;
}

}  // namespace moodtunes
