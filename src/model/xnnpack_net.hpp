// The emotion network (arch.hpp) on XNNPACK's CPU operators: EmotionClassifier's default
// inference engine (internal to src/model; classifier.hpp is the public interface).
//
// Why: XNNPACK runs this 48x48 net about twice as fast at batch 1 as OpenCV's DNN module on one
// core, and faster again in int8 (build/bench/model/bench_model times all three engines).
//
// Contract:
// - available() is false when XNNPACK cannot initialise on this CPU; callers then use another
//   engine. The constructor throws ModelError when the model's tensors do not fit its ArchSpec or
//   an operator cannot be created. Weights are packed at construction; the ModelFile is not
//   referenced afterwards.
// - forward(views, n, logits, threads): `views` holds n contiguous kFaceSize x kFaceSize float
//   views (row-major, from tta_view()); writes n x kNumEmotions logits. Any n >= 0; the views
//   go through in runs of at most kViewsPerRun, which bounds the activation memory (buffers are
//   shared by tensors whose lifetimes do not overlap). `threads` > 1 lets one call use that many
//   cores. Throws ModelError if an operator fails.
// - Not thread-safe: one forward() at a time per instance (EmotionClassifier holds a mutex).
//   Separate instances may run in parallel.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "model/model_file.hpp"

namespace moodtunes {

class XnnpackNet {
 public:
  static constexpr std::size_t kViewsPerRun = 16;

  static bool available();

  // int8_ranges: run the convolutions in int8 (XNNPACK's qc8: per-channel weights, per-tensor
  // activations), each activation quantised to its calibrated range (activation_ranges()); the
  // head stays in float. Null: all float.
  explicit XnnpackNet(const ModelFile& model, const std::vector<float>* int8_ranges = nullptr);
  ~XnnpackNet();
  XnnpackNet(const XnnpackNet&) = delete;
  XnnpackNet& operator=(const XnnpackNet&) = delete;

  void forward(const float* views, std::size_t n, float* logits, int threads);
  bool is_int8() const;

  // Float networks only: for each tensor int8 mode quantises, the `quantile` (0..1) over the n
  // views of each view's largest |activation|.
  std::vector<float> activation_ranges(const float* views, std::size_t n, double quantile);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace moodtunes
