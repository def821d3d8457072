// Emotion-model training with LibTorch (`moodtunes train`), on the CPU or a CUDA GPU.
//
// Usage:
//   TrainOptions o; o.train_dir = ".../fer2013/train"; o.val_dir = ".../val"; o.out_dir = "runs/a";
//   Trainer t(o);          // loads data, builds the net (or restores out_dir/checkpoint.pt with resume)
//   t.run();               // epochs with progress, metrics.jsonl, plots, checkpoints, best.mtm
//                          // (and swa.mtm with TrainOptions::swa_epochs)
//
// Determinism: the shuffle of epoch e is seeded by (seed, e), the augmentation and dropout of
// step s by (seed, s); a checkpoint stores weights, optimizer state, step and epoch, so
// resuming replays exactly what an uninterrupted run would do (on the CPU, at a fixed thread count);
// it also stores the running weight average of an SWA phase.
// This header does not include LibTorch (it is expensive to compile); the net lives in the .cpp.
// Not thread-safe: one Trainer per thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "data/fer_dataset.hpp"
#include "model/arch.hpp"
#include "model/metrics.hpp"

namespace moodtunes {

struct TrainOptions {
  std::filesystem::path train_dir;  // FER folder layout or fer2013.csv (usage Training)
  std::filesystem::path val_dir;    // FER folder layout or fer2013.csv (usage PublicTest)
  std::filesystem::path out_dir;    // checkpoint.pt, best.mtm, metrics.jsonl, *.png
  // A second training set in the folder layout (realfaces/train: faces of the domain users bring),
  // its class folders other than the 7 emotions left out; each epoch sees it `mix_repeat` times
  // beside train_dir once. Empty = off.
  std::filesystem::path mix_dir;
  int mix_repeat = 1;
  // A second validation set (realfaces/val). When given, each epoch is also scored on it, and the
  // run selects best.mtm on the mean of the two accuracies, so that neither domain is traded away.
  std::filesystem::path extra_val_dir;
  ArchSpec arch = ArchSpec::standard();
  int epochs = 30;
  int batch_size = 64;
  std::string optimizer = "sgd";  // sgd (Nesterov momentum 0.9) | adamw
  double lr = 0.05;  // peak learning rate
  double weight_decay = 5e-4;
  double warmup_epochs = 1.0;
  double label_smoothing = 0.1;
  double class_weight_power = 0.5;  // loss weight per class = (mean count / count)^power
  std::uint64_t seed = 1;
  int threads = 0;  // 0 = adapt: all cores when the machine is idle, 1 when something else runs
  // "cpu", "cuda" or "auto" (CUDA when this LibTorch build has it and a GPU is present).
  // Checkpoints are portable between devices; CUDA runs are not bit-for-bit repeatable.
  std::string device = "auto";
  bool resume = false;
  // Warm start (weights only; fresh optimizer and schedule) from a checkpoint.pt whose
  // architecture is a sub-network of `arch`, or from a .mtm of the same architecture.
  std::filesystem::path init_model;
  std::size_t max_per_class = 0;     // subset for quick runs/tests
  std::int64_t max_steps = 0;        // stop after this many optimizer steps (0 = all epochs)
  bool augment = true;  // off only for experiments/tests
  // Random zoom of 1 +- this. The detector's framing error is about +-0.19 (docs/vision.md, "Crop
  // gap"), so 0.2, which the shipped models use, prepares a net for crops from frames.
  double scale_jitter = 0.12;
  // Probability of a round trip through a random resolution (0.5x-5x) before the other
  // augmentations: faces cropped from frames have been resampled, FER's own crops have not
  // (docs/vision.md, "Crop gap"). The shipped models use 0.5.
  double resample_prob = 0;
  // Probability that a training face goes through a camera's losses after the geometric
  // augmentation: one to three of blur, sensor noise, a JPEG round trip and low light / low
  // contrast, each with a random strength. Webcam frames and phone photos carry them; FER's
  // crops mostly do not. 0 = off, and then the augmentation draws as it did without the option.
  double camera_prob = 0;
  // Stochastic weight averaging: the last `swa_epochs` epochs run at the constant `swa_lr`
  // (0 = lr / 10) and the weights at the end of each are averaged; the average, with its
  // BatchNorm statistics recomputed on training data, is written to swa.mtm and competes for
  // best.mtm. The cosine schedule spans the epochs before them. 0 = off.
  int swa_epochs = 0;
  double swa_lr = 0;
  // "constant", or "cyclic": each SWA epoch is one cosine cycle from swa_lr down to swa_lr / 100,
  // so every averaged snapshot is taken at a low learning rate.
  std::string swa_schedule = "constant";
  // Distillation: a trained model's test-time-augmented reading of each (unaugmented) training
  // face becomes a soft target, so a single pass of the student learns what the teacher's
  // `teacher_tta` views agree on. Loss = (1 - distill_weight) * hard-label loss
  // + distill_weight * cross-entropy against the teacher's probabilities. The targets are
  // computed once (with the inference library, as `eval --tta` reads) and cached in
  // out_dir/teacher_targets.bin, keyed by the teacher file's contents. Empty = off.
  std::filesystem::path teacher_model;
  std::string teacher_tta = "ten-crop";
  double distill_weight = 0.5;
  // "all": every training face has the teacher's soft target; "train": only the --train faces,
  // and the --mix faces learn from their labels alone (a teacher that reads the mix domain worse
  // than its labels would otherwise hold the student back there).
  std::string distill_on = "all";
  bool progress = true;
  std::string command_line;  // recorded in the model card info
};

struct EvalResult {
  ConfusionMatrix confusion;
  double loss = 0;
};

class Trainer {
 public:
  explicit Trainer(TrainOptions options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Full training loop until `epochs` (or max_steps); returns the best val accuracy.
  double run();

  // One optimizer step on the next batch; returns its training loss.
  double step();
  std::int64_t global_step() const;
  int epoch() const;
  EvalResult evaluate(const FerDataset& data);
  // The same as the net computes while training: BatchNorm on each batch's statistics (batches
  // of 256), dropout on with a fixed seed. Leaves the net's state as it was. For warm-start checks.
  EvalResult evaluate_in_training_mode(const FerDataset& data);
  const FerDataset& val_data() const;

  void save_checkpoint(const std::filesystem::path& path) const;
  void load_checkpoint(const std::filesystem::path& path);
  void export_model(const std::filesystem::path& mtm, const nlohmann::json& info) const;
  // The input batch optimizer step `step` trains on, augmented (batch_size x 48 x 48 floats, row
  // major), without taking the step: what the net sees, for inspection and tests.
  std::vector<float> augmented_batch(std::int64_t step);
  // Checksum of all weights, to compare runs in tests.
  double weights_checksum() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace moodtunes
