#include "train/trainer.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "model/model_file.hpp"
#include "model/plots.hpp"
#include "model/slim.hpp"
#include "preprocess/preprocess.hpp"
#include "train/augment.hpp"
#include "train/batch_norm.hpp"
#include "train/checkpoint.hpp"
#include "train/multi_tensor_adamw.hpp"
#include "train/net.hpp"
#include "train/pause_clock.hpp"
#include "train/seed.hpp"
#include "train/teacher_targets.hpp"
#include "train/thread_governor.hpp"
#include "train/weight_average.hpp"

namespace fs = std::filesystem;

namespace moodtunes {

namespace {

// Row i of an N x 1 x kFaceSize x kFaceSize input batch (`rows`, its contiguous floats) := a
// standardised face (CV_32FC1). Raw memory, no tensor operation: rows are filled in parallel.
void put_face(float* rows, std::int64_t i, const cv::Mat& face) {
  std::memcpy(rows + i * kFaceSize * kFaceSize, face.ptr<float>(), sizeof(float) * kFaceSize * kFaceSize);
}

// A dataset as the net's input batch (N x 1 x 48 x 48): each face's plain view, which the
// classifier reads without test-time augmentation, so the val figures training reports and
// selects on are the shipped classifier's.
torch::Tensor inference_inputs(const FerDataset& data) {
  auto inputs = torch::empty({static_cast<long>(data.size()), 1, kFaceSize, kFaceSize});
  float* rows = inputs.data_ptr<float>();
  for (std::size_t i = 0; i < data.size(); ++i)
    put_face(rows, static_cast<std::int64_t>(i), plain_view(preprocess_face(data.images[i])));
  return inputs;
}

torch::Tensor label_tensor(const FerDataset& data) {
  return torch::tensor(std::vector<std::int64_t>(data.labels.begin(), data.labels.end()));
}

// Training images that BatchNorm statistics are computed from, for SWA's average and for a warm
// start from a .mtm (~1/3 of an epoch's forward passes on the CPU; the mean and variance of 8k
// faces are settled to well under 1%).
constexpr std::size_t kBatchNormSample = 8192;

const char* device_name(const torch::Device& device) { return device.is_cuda() ? "cuda" : "cpu"; }

torch::Device pick_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;  // without asking CUDA, which would start its driver
  if (name != "cuda" && name != "auto") throw std::invalid_argument("unknown device '" + name + "' (cpu, cuda or auto)");
  if (torch::cuda::is_available()) return torch::kCUDA;
  if (name == "cuda") throw std::invalid_argument("--device cuda: this LibTorch build has no CUDA support or no GPU is visible");
  return torch::kCPU;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  return s >= 3600 ? fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60) : fmt::format("{}m{:02}s", s / 60, s % 60);
}

}  // namespace

struct Trainer::Impl {
  TrainOptions opt;
  torch::Device device{torch::kCPU};
  FerDataset train, val, extra_val;
  torch::Tensor val_inputs, val_labels, class_weights;
  torch::Tensor extra_val_inputs, extra_val_labels;  // undefined without TrainOptions::extra_val_dir
  torch::Tensor teacher_probs;  // N x 7 on the CPU; undefined without distillation
  EmotionNet net{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<ThreadGovernor> governor;
  std::int64_t step = 0;
  std::int64_t steps_per_epoch = 0;
  double best_val_acc = 0;  // the selection score of best.mtm (see selection_score)
  int best_epoch = 0;
  double train_seconds = 0;  // wall time spent training, across resumes, less suspensions
  PauseClock pause_clock;    // a SIGSTOPped run must not report the pause as training time
  nlohmann::json history = nlohmann::json::array();
  std::vector<std::size_t> order;
  int order_epoch = -1;
  WeightAverage swa;  // the SWA phase's running mean of the weights

  // Running statistics of the current epoch, kept as tensors on the device: reading them back
  // every step would make the CPU wait for the GPU instead of preparing the next batch.
  torch::Tensor epoch_loss_sum, epoch_correct_sum;
  std::int64_t epoch_seen = 0;
  double epoch_loss() const { return epoch_seen ? epoch_loss_sum.item<double>() / double(epoch_seen) : 0.0; }
  double epoch_acc() const { return epoch_seen ? epoch_correct_sum.item<double>() / double(epoch_seen) : 0.0; }
  void reset_epoch_stats() {
    epoch_loss_sum = torch::zeros({}, torch::TensorOptions(torch::kFloat64).device(device));
    epoch_correct_sum = torch::zeros({}, torch::TensorOptions(torch::kInt64).device(device));
    epoch_seen = 0;
  }

  explicit Impl(TrainOptions o) : opt(std::move(o)) {
    if (opt.batch_size <= 0 || opt.epochs <= 0) throw std::invalid_argument("batch size and epochs must be positive");
    if (opt.swa_epochs < 0 || opt.swa_epochs > opt.epochs)
      throw std::invalid_argument("SWA epochs must be between 0 and the number of epochs");
    if (opt.swa_lr < 0) throw std::invalid_argument("SWA learning rate must not be negative");
    if (opt.swa_schedule != "constant" && opt.swa_schedule != "cyclic")
      throw std::invalid_argument("unknown SWA schedule '" + opt.swa_schedule + "' (constant or cyclic)");
    if (opt.swa_epochs > 0 && opt.swa_lr == 0) opt.swa_lr = opt.lr / 10;
    if (opt.distill_weight < 0 || opt.distill_weight > 1)
      throw std::invalid_argument("distillation weight must be between 0 and 1");
    governor = std::make_unique<ThreadGovernor>(opt.threads);
    device = pick_device(opt.device);
    if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);  // fixed input shapes
    torch::manual_seed(opt.seed);

    FerLoadOptions train_load{"Training", opt.max_per_class};
    FerLoadOptions val_load{"PublicTest", opt.max_per_class};
    train = load_fer(opt.train_dir, train_load);
    val = load_fer(opt.val_dir, val_load);
    if (opt.mix_repeat < 1) throw std::invalid_argument("the mix repeat must be at least 1");
    if (opt.distill_on != "all" && opt.distill_on != "train")
      throw std::invalid_argument("unknown distillation set '" + opt.distill_on + "' (all or train)");
    if (opt.camera_prob < 0 || opt.camera_prob > 1) throw std::invalid_argument("camera probability must be between 0 and 1");
    const std::size_t primary_size = train.size();
    if (!opt.mix_dir.empty()) {
      const FerDataset mix = load_fer_folder(opt.mix_dir, {"Training", opt.max_per_class, /*skip_unknown_classes=*/true});
      spdlog::info("mix: {} images x {} per epoch ({}){}", mix.size(), opt.mix_repeat, mix.counts_summary(),
                   mix.skipped.empty() ? "" : "; left out: " + join(mix.skipped));
      for (int r = 0; r < opt.mix_repeat; ++r) {  // cv::Mat headers: the pixels are shared, not copied
        train.images.insert(train.images.end(), mix.images.begin(), mix.images.end());
        train.labels.insert(train.labels.end(), mix.labels.begin(), mix.labels.end());
        train.sources.insert(train.sources.end(), mix.sources.begin(), mix.sources.end());
      }
    }
    if (!opt.extra_val_dir.empty()) {
      extra_val = load_fer_folder(opt.extra_val_dir, {"PublicTest", opt.max_per_class, /*skip_unknown_classes=*/true});
      spdlog::info("extra val: {} images ({})", extra_val.size(), extra_val.counts_summary());
      extra_val_inputs = inference_inputs(extra_val);
      extra_val_labels = label_tensor(extra_val);
    }
    spdlog::info("train: {} images ({}){}", train.size(), train.counts_summary(),
                 train.resized ? fmt::format(", {} resized to {}x{}", train.resized, kFaceSize, kFaceSize) : "");
    spdlog::info("val:   {} images ({}){}", val.size(), val.counts_summary(),
                 val.resized ? fmt::format(", {} resized to {}x{}", val.resized, kFaceSize, kFaceSize) : "");
    steps_per_epoch = std::max<std::int64_t>(1, static_cast<std::int64_t>(train.size()) / opt.batch_size);

    if (!opt.teacher_model.empty())
      teacher_probs = teacher_targets(train, opt.teacher_model, opt.teacher_tta, opt.out_dir / "teacher_targets.bin");
    if (teacher_probs.defined() && opt.distill_on == "train" && train.size() > primary_size) {
      // The mix faces' soft target is their label, smoothed as the hard loss smooths it.
      const auto n_mix = static_cast<long>(train.size() - primary_size);
      std::vector<std::int64_t> mix_labels(train.labels.begin() + static_cast<long>(primary_size), train.labels.end());
      auto onehot = torch::one_hot(torch::tensor(mix_labels), kNumEmotions).to(torch::kFloat32);
      const auto ls = static_cast<float>(opt.label_smoothing);
      teacher_probs.slice(0, static_cast<long>(primary_size), static_cast<long>(primary_size) + n_mix)
          .copy_(onehot * (1 - ls) + ls / kNumEmotions);
    }
    val_inputs = inference_inputs(val);
    val_labels = label_tensor(val);

    const auto counts = train.class_counts();
    std::vector<float> w(kNumEmotions);
    const double mean = double(train.size()) / kNumEmotions;
    double norm = 0;
    for (std::size_t c = 0; c < kNumEmotions; ++c) {
      w[c] = counts[c] ? static_cast<float>(std::pow(mean / double(counts[c]), opt.class_weight_power)) : 0.f;
      norm += w[c] * double(counts[c]);
    }
    for (auto& x : w) x = static_cast<float>(x * double(train.size()) / norm);
    class_weights = torch::tensor(w).to(device);

    net = EmotionNet(opt.arch);
    net->to(device);  // before the optimizer takes the parameters
    reset_epoch_stats();
    if (opt.optimizer == "adamw")
      optimizer = std::make_unique<MultiTensorAdamW>(
          net->parameters(), torch::optim::AdamWOptions(opt.lr).weight_decay(opt.weight_decay));
    else if (opt.optimizer == "sgd")
      optimizer = std::make_unique<torch::optim::SGD>(
          net->parameters(), torch::optim::SGDOptions(opt.lr).momentum(0.9).nesterov(true).weight_decay(opt.weight_decay));
    else
      throw std::invalid_argument("unknown optimizer " + opt.optimizer);
    // A resumed run's checkpoint replaces the weights anyway: no warm start (and no BatchNorm
    // calibration pass) to throw away.
    if (!opt.init_model.empty() && !resuming()) warm_start(opt.init_model);
  }

  fs::path checkpoint_path() const { return opt.out_dir / "checkpoint.pt"; }
  bool resuming() const { return opt.resume && fs::exists(checkpoint_path()); }

  std::int64_t total_steps() const {
    const std::int64_t all = steps_per_epoch * opt.epochs;
    return opt.max_steps > 0 ? std::min(all, opt.max_steps) : all;
  }

  // First step of the SWA phase (past the end when there is none).
  std::int64_t swa_start_step() const { return steps_per_epoch * (opt.epochs - opt.swa_epochs); }
  bool is_swa_epoch(int epoch) const { return opt.swa_epochs > 0 && epoch > opt.epochs - opt.swa_epochs; }

  double lr_at(std::int64_t s) const {
    if (opt.swa_epochs > 0 && s >= swa_start_step()) {
      if (opt.swa_schedule == "constant") return opt.swa_lr;
      const double t = double(s % steps_per_epoch) / double(std::max<std::int64_t>(1, steps_per_epoch - 1));
      return opt.swa_lr * (0.01 + 0.99 * 0.5 * (1 + std::cos(M_PI * t)));
    }
    const double warm = opt.warmup_epochs * double(steps_per_epoch);
    const double all = double(swa_start_step());
    if (s < warm) return opt.lr * (0.1 + 0.9 * double(s) / warm);
    const double t = std::min(1.0, (double(s) - warm) / std::max(1.0, all - warm));
    return opt.lr * (0.01 + 0.99 * 0.5 * (1 + std::cos(M_PI * t)));
  }

  void ensure_order(int epoch) {
    if (order_epoch == epoch) return;
    order.resize(train.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(mix_seed(opt.seed, 0x100000000ull + static_cast<std::uint64_t>(epoch)));
    std::shuffle(order.begin(), order.end(), rng);
    order_epoch = epoch;
  }

  // The training faces at `indices[0..n)` as an input batch (N x 1 x 48 x 48), augmented unless
  // augmentation is off. Face i draws from its own stream, seeded by (batch_seed, i), so the
  // faces are augmented in parallel (LibTorch's intra-op threads) and the batch is the same
  // for any thread count: a GPU run's serial augmentation left the GPU waiting.
  torch::Tensor training_inputs(const std::size_t* indices, long n, std::uint64_t batch_seed) const {
    auto inputs = torch::empty({n, 1, kFaceSize, kFaceSize});
    float* rows = inputs.data_ptr<float>();
    at::parallel_for(0, n, 8, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const cv::Mat& image = train.images[indices[i]];
        std::mt19937_64 rng(mix_seed(batch_seed, static_cast<std::uint64_t>(i)));
        put_face(rows, i, opt.augment ? augment(image, opt.scale_jitter, opt.resample_prob, opt.camera_prob, rng) : standardize_face(image));
      }
    });
    return inputs;
  }

  // The training faces of optimizer step s (indices into train).
  const std::size_t* batch_of_step(std::int64_t s) {
    ensure_order(static_cast<int>(s / steps_per_epoch));
    return &order[static_cast<std::size_t>((s % steps_per_epoch) * opt.batch_size)];
  }

  // Seeds the augmentation of optimizer step s.
  std::uint64_t augmentation_seed(std::int64_t s) const { return mix_seed(opt.seed, static_cast<std::uint64_t>(s)); }

  torch::Tensor inputs_of_step(std::int64_t s) {
    return training_inputs(batch_of_step(s), opt.batch_size, augmentation_seed(s));
  }

  // Returns the step's training loss (still on the device).
  torch::Tensor do_step() {
    torch::manual_seed(mix_seed(opt.seed ^ 0xD1B54A32D192ED03ull, static_cast<std::uint64_t>(step)));
    const int b = opt.batch_size;
    const std::size_t* batch = batch_of_step(step);
    auto inputs = training_inputs(batch, b, augmentation_seed(step));
    std::vector<std::int64_t> labels(static_cast<std::size_t>(b));
    for (int i = 0; i < b; ++i) labels[static_cast<std::size_t>(i)] = train.labels[batch[i]];
    auto target = torch::tensor(labels);
    if (device.is_cuda()) {  // pinned + non-blocking: the copy queues behind the GPU's work
      inputs = inputs.pin_memory().to(device, /*non_blocking=*/true);
      target = target.pin_memory().to(device, /*non_blocking=*/true);
    }

    for (auto& group : optimizer->param_groups())
      group.options().set_lr(lr_at(step));
    net->train();
    zero_gradients(*optimizer);
    auto logits = net->forward(inputs);
    auto loss = torch::nn::functional::cross_entropy(
        logits, target,
        torch::nn::functional::CrossEntropyFuncOptions().weight(class_weights).label_smoothing(opt.label_smoothing));
    if (teacher_probs.defined()) {
      std::vector<std::int64_t> rows(batch, batch + b);
      auto soft = teacher_probs.index_select(0, torch::tensor(rows)).to(device);
      auto soft_loss = -(soft * torch::log_softmax(logits, 1)).sum(1).mean();
      loss = (1 - opt.distill_weight) * loss + opt.distill_weight * soft_loss;
    }
    loss.backward();
    optimizer->step();
    ++step;

    torch::NoGradGuard no_grad;
    epoch_loss_sum += loss.detach().to(torch::kFloat64) * b;
    epoch_correct_sum += logits.argmax(1).eq(target).sum();
    epoch_seen += b;
    return loss.detach();
  }

  // `training_mode`: as the net computes while training (BatchNorm on batch statistics,
  // dropout on, a fixed dropout seed), with the BatchNorm running statistics left untouched.
  EvalResult evaluate(const torch::Tensor& inputs, const torch::Tensor& labels, bool training_mode = false) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> saved_buffers;
    if (training_mode) {
      for (const auto& b : net->buffers()) saved_buffers.push_back(b.clone());
      torch::manual_seed(0x7E57);
      net->train();
    } else {
      net->eval();
    }
    EvalResult r;
    const long n = inputs.size(0);
    double loss_sum = 0;
    for (long start = 0; start < n; start += 256) {
      const long end = std::min(n, start + 256);
      auto logits = net->forward(inputs.slice(0, start, end).to(device)).to(torch::kCPU);
      auto y = labels.slice(0, start, end);
      loss_sum += torch::nn::functional::cross_entropy(
                      logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                      .item<double>();
      auto pred = logits.argmax(1);
      for (long i = 0; i < end - start; ++i)
        r.confusion.add(static_cast<int>(y[i].item<std::int64_t>()), static_cast<int>(pred[i].item<std::int64_t>()));
    }
    r.loss = n ? loss_sum / double(n) : 0;
    if (training_mode) {
      auto buffers = net->buffers();
      for (std::size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(saved_buffers[i]);
    }
    net->train();
    return r;
  }

  void warm_start(const fs::path& path) {
    if (path.extension() == ".pt")
      warm_start_from_checkpoint(path);
    else
      warm_start_from_model(path);
  }

  // Copies every parameter and buffer of a checkpoint's net (BatchNorm intact) into the
  // same-named tensor here. The checkpoint's architecture must be a sub-network of this one:
  // blocks it lacks keep their zero-initialised last BN, i.e. start as identity, so the grown
  // net computes exactly what the checkpoint's did and training continues from there.
  void warm_start_from_checkpoint(const fs::path& path) {
    torch::serialize::InputArchive archive, model_archive;
    const auto state = read_checkpoint_state(archive, path, torch::kCPU);
    EmotionNet source(ArchSpec::from_json(state.at("arch")));
    archive.read("model", model_archive);
    source->load(model_archive);

    torch::NoGradGuard no_grad;
    auto params = net->named_parameters();
    auto buffers = net->named_buffers();
    std::size_t copied = 0;
    auto copy_into = [&](const torch::OrderedDict<std::string, torch::Tensor>& from,
                         torch::OrderedDict<std::string, torch::Tensor>& to) {
      for (const auto& item : from) {
        torch::Tensor* dst = to.find(item.key());
        if (dst == nullptr || dst->sizes() != item.value().sizes())
          throw std::invalid_argument("--init checkpoint " + path.string() + ": its '" + item.key() +
                                      "' has no same-shaped counterpart in --arch (not a sub-network of it)");
        dst->copy_(item.value());
        ++copied;
      }
    };
    copy_into(source->named_parameters(), params);
    copy_into(source->named_buffers(), buffers);
    spdlog::info("warm start from {} (step {}, best val {:.2f}%): {} of {} tensors copied, the rest start as identity",
                 path.string(), state.at("step").get<std::int64_t>(), 100 * state.at("best_val_acc").get<double>(),
                 copied, params.size() + buffers.size());
  }

  // A .mtm holds BatchNorm folded into the convs, restored here as conv + identity BN. Batch
  // statistics in training then differ from the folded ones, so the first steps lose much of
  // what the model knew: prefer a checkpoint.
  // A wider network's file (deep -> fast) is narrowed first, keeping its strongest channels
  // (model/slim.hpp).
  void warm_start_from_model(const fs::path& mtm) {
    ModelFile m = load_model_file(mtm);
    const bool narrowed = m.arch.to_json() != opt.arch.to_json();
    if (narrowed) {
      try {
        m = slim_model(m, opt.arch);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("--init model " + mtm.string() + " does not fit --arch: " + e.what());
      }
    }
    load_folded_weights(net, m);
    calibrate_batch_norm(net, [this](EmotionNet& model) { forward_fixed_sample(model, 0xCA11B4A7Eull); });
    spdlog::info("warm start from {}{}", mtm.string(), narrowed ? " (narrowed to this architecture: its strongest channels)" : "");
  }

  nlohmann::json state_json() const {
    return {{"step", step},
            {"best_val_acc", best_val_acc},
            {"best_epoch", best_epoch},
            {"train_seconds", train_seconds},
            {"history", history},
            {"arch", opt.arch.to_json()},
            {"seed", opt.seed},
            {"epochs", opt.epochs},
            {"batch_size", opt.batch_size},
            {"swa_count", swa.count()}};
  }

  void save_checkpoint(const fs::path& path) const { write_checkpoint(path, net, *optimizer, state_json(), swa); }

  void load_checkpoint(const fs::path& path) {
    torch::serialize::InputArchive archive, model_archive, optim_archive;
    const auto state = read_checkpoint_state(archive, path, device);
    if (state.at("arch") != opt.arch.to_json() || state.at("batch_size").get<int>() != opt.batch_size)
      throw std::invalid_argument("checkpoint " + path.string() + " was made with another architecture or batch size");
    if (state.at("seed").get<std::uint64_t>() != opt.seed)
      spdlog::warn("checkpoint seed {} differs from --seed {}: the resumed run will not replay exactly",
                   state.at("seed").get<std::uint64_t>(), opt.seed);
    archive.read("model", model_archive);
    archive.read("optimizer", optim_archive);
    net->load(model_archive);
    optimizer->load(optim_archive);
    step = state.at("step").get<std::int64_t>();
    best_val_acc = state.at("best_val_acc").get<double>();
    best_epoch = state.at("best_epoch").get<int>();
    train_seconds = state.value("train_seconds", 0.0);
    history = state.at("history");
    const int swa_count = state.value("swa_count", 0);
    torch::serialize::InputArchive swa_archive;
    if (swa_count > 0) archive.read("swa", swa_archive);
    swa.load(swa_archive, swa_count, net, device, path);
    order_epoch = -1;
    reset_epoch_stats();
  }

  // "cpu", "cuda", or "cpu+cuda" when resumes moved the run: train_seconds spans them all.
  std::string devices_used() const {
    bool cpu = !device.is_cuda(), cuda = device.is_cuda();
    for (const auto& row : history)
      if (row.contains("device")) (row["device"] == device_name(torch::kCUDA) ? cuda : cpu) = true;
    return cpu && cuda ? "cpu+cuda" : cuda ? "cuda" : "cpu";
  }

  nlohmann::json model_info(int epoch, const EvalResult& val_result, int swa_models = 0) const {
    nlohmann::json info = {
        {"trained_epochs", epoch},
        {"planned_epochs", opt.epochs},
        {"train_seconds", train_seconds},
        {"val", val_result.confusion.to_json()},
        {"parameters", opt.arch.parameter_count()},
        {"gflops", opt.arch.gflops()},
        {"command", opt.command_line},
        {"seed", opt.seed},
        {"device", devices_used()},
        {"libtorch", TORCH_VERSION},
        {"hyper", {{"lr", opt.lr}, {"batch_size", opt.batch_size}, {"weight_decay", opt.weight_decay},
                   {"label_smoothing", opt.label_smoothing}, {"class_weight_power", opt.class_weight_power},
                   {"warmup_epochs", opt.warmup_epochs}, {"scale_jitter", opt.scale_jitter},
                   {"resample_prob", opt.resample_prob}}}};
    if (!opt.mix_dir.empty()) info["hyper"]["mix_repeat"] = opt.mix_repeat;
    if (opt.camera_prob > 0) info["hyper"]["camera_prob"] = opt.camera_prob;
    if (!opt.teacher_model.empty())
      info["distillation"] = {{"teacher", opt.teacher_model.filename().string()},
                              {"teacher_tta", opt.teacher_tta},
                              {"weight", opt.distill_weight},
                              {"on", opt.distill_on}};
    if (swa_models > 0) {
      info["swa_models"] = swa_models;  // the weights are the mean of this many epochs' ends
      info["hyper"]["swa_lr"] = opt.swa_lr;
      info["hyper"]["swa_schedule"] = opt.swa_schedule;
    }
    return info;
  }

  // Forwards (no gradient) a fixed augmented sample of kBatchNormSample training faces through
  // `model` in its current mode: the same faces and augmentation for the same seed and `salt`.
  void forward_fixed_sample(EmotionNet& model, std::uint64_t salt) {
    torch::NoGradGuard no_grad;
    std::mt19937_64 rng(mix_seed(opt.seed, salt));
    std::vector<std::size_t> sample(train.size());
    std::iota(sample.begin(), sample.end(), 0);
    std::shuffle(sample.begin(), sample.end(), rng);
    sample.resize(std::min<std::size_t>(sample.size(), kBatchNormSample));
    const std::size_t batch = 128;
    for (std::size_t start = 0; start < sample.size(); start += batch)
      model->forward(training_inputs(&sample[start], static_cast<long>(std::min(batch, sample.size() - start)),
                                     mix_seed(rng(), start))
                         .to(device));
  }

  // `model`, which scored `result` on val, becomes the run's best: best.mtm, its confusion plot
  // (titled with `what`) and best_eval.json.
  void record_best(const ModelFile& model, int epoch, const EvalResult& result, double score, const std::string& what) {
    best_val_acc = score;
    best_epoch = epoch;
    save_model_file(model, opt.out_dir / "best.mtm");
    plot_confusion(result.confusion, fmt::format("val confusion, {} (acc {:.2f}%)", what, 100 * result.confusion.accuracy()),
                   opt.out_dir / "confusion.png");
    std::ofstream(opt.out_dir / "best_eval.json") << result.confusion.to_json().dump(2) << '\n';
  }

  // What best.mtm is selected on: val accuracy, or with an extra val set the mean of both
  // accuracies (recorded in `row` under `prefix`extra_val_*).
  double selection_score(const EvalResult& v, nlohmann::json& row, const std::string& prefix) {
    if (!extra_val_inputs.defined()) return v.confusion.accuracy();
    const EvalResult x = evaluate(extra_val_inputs, extra_val_labels);
    row[prefix + "extra_val_acc"] = x.confusion.accuracy();
    row[prefix + "extra_val_macro_f1"] = x.confusion.macro_f1();
    spdlog::info("{}extra val: acc {:.2f}% macro-F1 {:.4f}", prefix, 100 * x.confusion.accuracy(), x.confusion.macro_f1());
    return 0.5 * (v.confusion.accuracy() + x.confusion.accuracy());
  }

  void end_of_epoch(int epoch, double seconds, double images_per_s) {
    const EvalResult v = evaluate(val_inputs, val_labels);
    nlohmann::json row = {{"epoch", epoch},
                          {"step", step},
                          {"lr", lr_at(step - 1)},
                          {"train_loss", epoch_loss()},
                          {"train_acc", epoch_acc()},
                          {"val_loss", v.loss},
                          {"val_acc", v.confusion.accuracy()},
                          {"val_macro_f1", v.confusion.macro_f1()},
                          {"images_per_s", images_per_s},
                          {"epoch_seconds", seconds},
                          {"threads", governor->threads()},
                          {"device", device_name(device)}};
    const double score = selection_score(v, row, "");
    fs::create_directories(opt.out_dir);
    if (is_swa_epoch(epoch)) {
      swa.add(net);
      EmotionNet averaged =
          swa.net(opt.arch, device, [this](EmotionNet& model) { forward_fixed_sample(model, 0x5A5A5A5A5A5Aull); });
      std::swap(net, averaged);  // evaluate() runs `net`
      const EvalResult sv = evaluate(val_inputs, val_labels);
      const double swa_score = selection_score(sv, row, "swa_");
      std::swap(net, averaged);
      row["swa_models"] = swa.count();
      row["swa_val_acc"] = sv.confusion.accuracy();
      row["swa_val_macro_f1"] = sv.confusion.macro_f1();
      spdlog::info("SWA average of {} epochs: val loss {:.4f} acc {:.2f}% macro-F1 {:.4f}", swa.count(), sv.loss,
                   100 * sv.confusion.accuracy(), sv.confusion.macro_f1());
      const ModelFile swa_model = to_model_file(averaged, model_info(epoch, sv, swa.count()));
      save_model_file(swa_model, opt.out_dir / "swa.mtm");
      if (swa_score > std::max(best_val_acc, score))
        record_best(swa_model, epoch, sv, swa_score, fmt::format("SWA of epochs {}-{}", epoch - swa.count() + 1, epoch));
    }
    history.push_back(row);
    spdlog::info("epoch {}/{}: train loss {:.4f} acc {:.2f}% | val loss {:.4f} acc {:.2f}% macro-F1 {:.4f} | {:.0f} img/s, {}",
                 epoch, opt.epochs, row["train_loss"].get<double>(), 100 * row["train_acc"].get<double>(), v.loss,
                 100 * v.confusion.accuracy(), v.confusion.macro_f1(), images_per_s, format_duration(seconds));
    reset_epoch_stats();

    if (score > best_val_acc)
      record_best(to_model_file(net, model_info(epoch, v)), epoch, v, score, fmt::format("epoch {}", epoch));
    write_metrics();
    save_checkpoint(checkpoint_path());
  }

  void write_metrics() const {
    {
      std::ofstream out(opt.out_dir / "metrics.jsonl", std::ios::trunc);
      for (const auto& row : history) out << row.dump() << '\n';
    }
    Series tl{"train loss", {}}, vl{"val loss", {}}, ta{"train acc", {}}, va{"val acc", {}}, vf{"val macro-F1", {}};
    for (const auto& row : history) {
      tl.values.push_back(row["train_loss"]);
      vl.values.push_back(row["val_loss"]);
      ta.values.push_back(row["train_acc"]);
      va.values.push_back(row["val_acc"]);
      vf.values.push_back(row["val_macro_f1"]);
    }
    plot_curves({tl, vl}, "loss", opt.out_dir / "loss.png");
    plot_curves({ta, va, vf}, "accuracy", opt.out_dir / "accuracy.png");
  }

  double run() {
    const fs::path ckpt = checkpoint_path();
    if (resuming()) {
      load_checkpoint(ckpt);
      spdlog::info("resumed from {} at step {} (epoch {})", ckpt.string(), step, step / steps_per_epoch);
    } else if (opt.resume) {
      spdlog::warn("--resume: no checkpoint at {}, starting fresh", ckpt.string());
    }
    spdlog::info("net: {:.3f} GFLOP/face, {} parameters; {} steps/epoch of {}; device {}", opt.arch.gflops(),
                 opt.arch.parameter_count(), steps_per_epoch, opt.batch_size, device.str());
    const bool tty = isatty(STDERR_FILENO);
    const std::int64_t end = total_steps();
    while (step < end) {
      const int epoch = static_cast<int>(step / steps_per_epoch) + 1;
      const auto t0 = std::chrono::steady_clock::now();
      const double paused_at_start = pause_clock.paused_seconds();
      // Seconds since t0 the process could run (suspensions left out).
      const auto running_seconds = [&](std::chrono::steady_clock::time_point now) {
        const double wall = std::chrono::duration<double>(now - t0).count();
        return std::max(1e-9, wall - (pause_clock.paused_seconds() - paused_at_start));
      };
      auto last_print = t0;
      const std::int64_t first = step;
      int last_decile = -1;
      while (step < end && (step == first || step % steps_per_epoch != 0)) {
        if (step % 20 == 0) governor->update();
        do_step();
        const auto now = std::chrono::steady_clock::now();
        const double elapsed = running_seconds(now);
        const std::int64_t done = step - first, pos = (step - 1) % steps_per_epoch + 1;
        const double ips = double(done * opt.batch_size) / std::max(1e-9, elapsed);
        const int decile = static_cast<int>(10 * pos / steps_per_epoch);
        const bool due = tty ? std::chrono::duration<double>(now - last_print).count() > 0.5 : decile != last_decile;
        if (opt.progress && (due || pos == steps_per_epoch)) {
          last_print = now;
          last_decile = decile;
          const int width = 30, filled = static_cast<int>(width * pos / steps_per_epoch);
          const double eta = double(steps_per_epoch - pos) * opt.batch_size / std::max(1e-9, ips);
          fmt::print(stderr, "{}epoch {}/{} [{}{}] {}/{} loss {:.4f} acc {:.2f}% {:.0f} img/s ({}t) ETA {}{}",
                       tty ? "\r" : "", epoch, opt.epochs, std::string(filled, '=').c_str(),
                       std::string(width - filled, ' ').c_str(), static_cast<long>(pos), static_cast<long>(steps_per_epoch),
                       epoch_loss(), 100.0 * epoch_acc(), ips,
                       governor->threads(), format_duration(eta).c_str(), tty ? "   " : "\n");
        }
      }
      if (tty && opt.progress) std::fputc('\n', stderr);
      if (device.is_cuda()) torch::cuda::synchronize();  // the epoch's queued GPU work belongs to its time
      const double seconds = running_seconds(std::chrono::steady_clock::now());
      train_seconds += seconds;
      if (step % steps_per_epoch == 0) end_of_epoch(epoch, seconds, double((step - first) * opt.batch_size) / seconds);
    }
    spdlog::info("done: best {} {:.2f}% at epoch {}; model {}",
                 extra_val_inputs.defined() ? "mean of val and extra val accuracy" : "val accuracy", 100 * best_val_acc, best_epoch,
                 (opt.out_dir / "best.mtm").string());
    return best_val_acc;
  }
};

Trainer::Trainer(TrainOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Trainer::~Trainer() = default;
double Trainer::run() { return impl_->run(); }
double Trainer::step() { return impl_->do_step().item<double>(); }
std::int64_t Trainer::global_step() const { return impl_->step; }
int Trainer::epoch() const { return static_cast<int>(impl_->step / impl_->steps_per_epoch); }
const FerDataset& Trainer::val_data() const { return impl_->val; }
void Trainer::save_checkpoint(const fs::path& path) const { impl_->save_checkpoint(path); }
void Trainer::load_checkpoint(const fs::path& path) { impl_->load_checkpoint(path); }
void Trainer::export_model(const fs::path& mtm, const nlohmann::json& info) const {
  save_model_file(to_model_file(impl_->net, info), mtm);
}

EvalResult Trainer::evaluate(const FerDataset& data) { return impl_->evaluate(inference_inputs(data), label_tensor(data)); }
EvalResult Trainer::evaluate_in_training_mode(const FerDataset& data) {
  return impl_->evaluate(inference_inputs(data), label_tensor(data), /*training_mode=*/true);
}

std::vector<float> Trainer::augmented_batch(std::int64_t step) {
  const auto inputs = impl_->inputs_of_step(step).contiguous();
  return {inputs.data_ptr<float>(), inputs.data_ptr<float>() + inputs.numel()};
}

double Trainer::weights_checksum() const {
  torch::NoGradGuard no_grad;
  double sum = 0;
  for (const auto& p : impl_->net->parameters()) sum += p.abs().sum().item<double>();
  return sum;
}

}  // namespace moodtunes
