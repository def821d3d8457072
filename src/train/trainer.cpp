#include "train/trainer.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <thread>

#include <opencv2/imgproc.hpp>
#include <opencv2/imgcodecs.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "train/pause_clock.hpp"
#include "preprocess/preprocess.hpp"
#ifndef MOODTUNES_TRAINER_ONLY  // the GPU build (scripts/device) carries no OpenCV DNN
#include "model/classifier.hpp"
#endif
#include "model/model_file.hpp"
#include "model/plots.hpp"
#include "model/slim.hpp"
#include "train/multi_tensor_adamw.hpp"

namespace fs = std::filesystem;

namespace moodtunes {

namespace {

// SplitMix64: turns (seed, counter) into independent, well-mixed stream seeds.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t counter) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (counter + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// conv (no bias) + BatchNorm, the unit that export folds into one biased conv.
struct ConvBnImpl : torch::nn::Module {
  ConvBnImpl(int in, int out, int kernel)
      : conv(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).padding(kernel / 2).bias(false)))),
        bn(register_module("bn", torch::nn::BatchNorm2d(out))) {
    torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto z = conv->forward(x);
    if (calibrating) {  // per-channel moments of the conv output (see calibrate_batch_norm())
      auto z64 = z.detach().to(torch::kFloat64);
      moment1 = moment1.defined() ? moment1 + z64.sum({0, 2, 3}) : z64.sum({0, 2, 3});
      moment2 = moment2.defined() ? moment2 + (z64 * z64).sum({0, 2, 3}) : (z64 * z64).sum({0, 2, 3});
      moment_count += z.numel() / z.size(1);
    }
    return bn->forward(z);
  }
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d bn;
  bool calibrating = false;
  torch::Tensor moment1, moment2;
  std::int64_t moment_count = 0;
};
TORCH_MODULE(ConvBn);

struct EmotionNetImpl : torch::nn::Module {
  explicit EmotionNetImpl(const ArchSpec& spec) : arch(spec) {
    // Registered in ArchSpec::convs() order with the same names, so export is a lookup.
    for (const auto& c : arch.convs()) {
      std::string key = c.name;
      std::replace(key.begin(), key.end(), '.', '_');
      units.emplace(c.name, register_module(key, ConvBn(c.in, c.out, c.kernel)));
    }
    // Zero-init the last BN of each block so every block starts as identity: deep nets take
    // off from the first steps instead of idling near chance.
    for (std::size_t s = 0; s < arch.stages.size(); ++s)
      for (int b = 0; b < arch.stages[s].blocks; ++b) torch::nn::init::zeros_(units.at(block_name(s, b) + ".conv2")->bn->weight);
    const int flat = arch.final_channels() * arch.final_spatial() * arch.final_spatial();
    fc1 = register_module("fc1", torch::nn::Linear(flat, arch.fc_hidden));
    fc2 = register_module("fc2", torch::nn::Linear(arch.fc_hidden, static_cast<int>(kNumEmotions)));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(units.at("stem")->forward(x));
    for (std::size_t s = 0; s < arch.stages.size(); ++s) {
      for (int b = 0; b < arch.stages[s].blocks; ++b) {
        const std::string name = block_name(s, b);
        auto y = torch::relu(units.at(name + ".conv1")->forward(x));
        y = units.at(name + ".conv2")->forward(y);
        auto proj = units.find(name + ".proj");
        x = torch::relu(y + (proj != units.end() ? proj->second->forward(x) : x));
      }
      x = torch::max_pool2d(x, 2);
    }
    x = x.flatten(1);
    x = torch::dropout(x, arch.dropout, is_training());
    x = torch::relu(fc1->forward(x));
    x = torch::dropout(x, arch.dropout, is_training());
    return fc2->forward(x);
  }

  ArchSpec arch;
  std::map<std::string, ConvBn> units;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(EmotionNet);

// Picks the intra-op thread count from what else is running: with two threads and another
// busy process, LibTorch training on this class of machine slows ~4x, so it backs off to one.
class ThreadGovernor {
 public:
  explicit ThreadGovernor(int fixed) : fixed_(fixed), cores_(std::max(1u, std::thread::hardware_concurrency())) {
    current_ = fixed_ > 0 ? fixed_ : static_cast<int>(cores_);
    torch::set_num_threads(current_);
    sample(last_total_, last_busy_, last_self_);
  }
  int threads() const { return current_; }
  void update() {
    if (fixed_ > 0 || cores_ < 2) return;
    long long total = 0, busy = 0, self = 0;
    sample(total, busy, self);
    const long long d_total = total - last_total_;
    if (d_total <= 0) return;
    // /proc/stat sums all cores; convert the non-self busy share into "cores in use".
    const double others = double((busy - last_busy_) - (self - last_self_)) / double(d_total) * cores_;
    last_total_ = total, last_busy_ = busy, last_self_ = self;
    const int want = others > 0.4 ? 1 : static_cast<int>(cores_);
    if (want != current_) {
      current_ = want;
      torch::set_num_threads(current_);
    }
  }

 private:
  static void sample(long long& total, long long& busy, long long& self) {
    total = busy = self = 0;
    std::ifstream stat("/proc/stat");
    std::string cpu;
    long long v[8] = {};
    stat >> cpu >> v[0] >> v[1] >> v[2] >> v[3] >> v[4] >> v[5] >> v[6] >> v[7];
    for (long long x : v) total += x;
    busy = total - v[3] - v[4];
    std::ifstream me("/proc/self/stat");
    std::string field;
    for (int i = 1; i <= 15 && me >> field; ++i)
      if (i == 14 || i == 15) self += std::atoll(field.c_str());
  }
  int fixed_;
  unsigned cores_;
  int current_ = 1;
  long long last_total_ = 0, last_busy_ = 0, last_self_ = 0;
};

// A round trip through a random resolution, 0.5x to 5x (log-uniform): up with the cubic filter
// and back down with to_face_gray's area filter, as a face enlarged in a frame and cropped again
// is; or down and back up, as a small, low-resolution face is. Either loses the fine texture a
// net would otherwise learn to rely on.
cv::Mat resample_round_trip(const cv::Mat& gray48, float log_scale) {
  const int side = std::max(8, static_cast<int>(std::lround(kFaceSize * std::exp(log_scale))));
  const bool up = side >= kFaceSize;
  cv::Mat resized;
  cv::resize(gray48, resized, {side, side}, 0, 0, up ? cv::INTER_CUBIC : cv::INTER_AREA);
  return to_face_gray(resized);
}

// A camera's losses on an 8-bit face, in the order a camera adds them: low light or low
// contrast, blur (focus, motion at low light), sensor noise, then JPEG compression. Each is
// drawn independently; at least one is applied.
void camera_losses(cv::Mat& face, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> u(0.f, 1.f);
  auto uniform = [&](float lo, float hi) { return lo + (hi - lo) * u(rng); };
  bool any = false;
  const int forced = static_cast<int>(u(rng) * 4);  // the one that runs whatever the draws say
  if (forced == 0 || u(rng) < 0.4f) {  // contrast 0.35-0.9 around a darker mean
    const double gain = uniform(0.35f, 0.9f), mean = cv::mean(face)[0], target = mean * uniform(0.35f, 1.f);
    face.convertTo(face, CV_8U, gain, target - gain * mean);
    any = true;
  }
  if (forced == 1 || u(rng) < 0.4f) {
    const double sigma = uniform(0.4f, 1.3f);
    cv::GaussianBlur(face, face, {0, 0}, sigma);
    any = true;
  }
  if (forced == 2 || u(rng) < 0.4f) {
    cv::Mat noise(face.size(), CV_16S);
    cv::randn(noise, 0, uniform(2.f, 12.f));  // cv::randn draws from OpenCV's own RNG: reseeded below
    cv::Mat wide;
    face.convertTo(wide, CV_16S);
    wide += noise;
    wide.convertTo(face, CV_8U);
    any = true;
  }
  if (forced == 3 || u(rng) < 0.4f || !any) {
    std::vector<uchar> jpeg;
    cv::imencode(".jpg", face, jpeg, {cv::IMWRITE_JPEG_QUALITY, static_cast<int>(uniform(15.f, 75.f))});
    face = cv::imdecode(jpeg, cv::IMREAD_GRAYSCALE);
  }
}

// Geometric and photometric augmentation of one 8-bit 48x48 face, then the shared
// standardisation, then random erasing (in the standardised domain: 0 = the image mean).
// With resample_prob = 0 and camera_prob = 0 it draws from `rng` as it did before those options.
cv::Mat augment(const cv::Mat& gray48, double scale_jitter, double resample_prob, double camera_prob,
                std::mt19937_64& rng) {
  std::uniform_real_distribution<float> u(0.f, 1.f);
  auto uniform = [&](float lo, float hi) { return lo + (hi - lo) * u(rng); };
  cv::Mat img = gray48;
  if (u(rng) < 0.5f) {
    img = cv::Mat();  // a new buffer: flipping into a header of gray48 would alter the dataset
    cv::flip(gray48, img, 1);
  }
  if (resample_prob > 0 && u(rng) < resample_prob)
    img = resample_round_trip(img, uniform(std::log(0.5f), std::log(5.f)));
  const float angle = uniform(-12.f, 12.f), scale = uniform(1.f - float(scale_jitter), 1.f + float(scale_jitter));
  const float tx = uniform(-4.5f, 4.5f), ty = uniform(-4.5f, 4.5f);
  cv::Mat warped = warp_face(img, angle, scale, tx, ty);
  if (u(rng) < 0.5f) {  // gamma: a non-linear change that standardisation does not undo
    const float gamma = std::exp(uniform(-0.4f, 0.4f));
    cv::Mat lut(1, 256, CV_8U);
    for (int i = 0; i < 256; ++i) lut.at<uchar>(i) = cv::saturate_cast<uchar>(255.0 * std::pow(i / 255.0, gamma));
    cv::LUT(warped, lut, warped);
  }
  if (camera_prob > 0 && u(rng) < camera_prob) {
    cv::theRNG().state = rng();  // this face's noise follows its own stream, whatever the thread
    camera_losses(warped, rng);
  }
  cv::Mat f = standardize_face(warped);
  if (u(rng) < 0.5f) {  // random erasing
    const float area = uniform(0.02f, 0.2f) * kFaceSize * kFaceSize, aspect = std::exp(uniform(-1.2f, 1.2f));
    const int eh = std::clamp(static_cast<int>(std::sqrt(area * aspect)), 1, kFaceSize);
    const int ew = std::clamp(static_cast<int>(std::sqrt(area / aspect)), 1, kFaceSize);
    const int y = static_cast<int>(u(rng) * (kFaceSize - eh + 1)), x = static_cast<int>(u(rng) * (kFaceSize - ew + 1));
    f(cv::Rect(std::min(x, kFaceSize - ew), std::min(y, kFaceSize - eh), ew, eh)).setTo(0);
  }
  return f;
}

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
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  return buf;
}

#ifndef MOODTUNES_TRAINER_ONLY
// FNV-1a: fingerprints of the teacher file and the training faces a target cache was computed for.
constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ull;
std::uint64_t fnv1a(std::uint64_t h, const unsigned char* bytes, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= bytes[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

std::uint64_t file_fingerprint(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::uint64_t h = kFnvOffset;
  std::vector<char> buf(1 << 16);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
    h = fnv1a(h, reinterpret_cast<const unsigned char*>(buf.data()), static_cast<std::size_t>(in.gcount()));
  return h;
}

std::uint64_t data_fingerprint(const FerDataset& data) {
  std::uint64_t h = kFnvOffset;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const cv::Mat& image = data.images[i];
    for (int r = 0; r < image.rows; ++r) h = fnv1a(h, image.ptr<unsigned char>(r), static_cast<std::size_t>(image.cols));
    h = fnv1a(h, reinterpret_cast<const unsigned char*>(&data.labels[i]), sizeof(data.labels[i]));
  }
  return h;
}

// The teacher's reading of every training face (N x 7 probabilities), from the cache when it
// was computed with the same teacher file, views and data; computed and cached otherwise.
torch::Tensor teacher_targets(const FerDataset& train, const fs::path& teacher, const std::string& tta_name,
                              const fs::path& cache) {
  const TestTimeAugmentation tta = parse_tta(tta_name);
  const std::string key = fmt::format("moodtunes-teacher-v2 {:016x} {} {} {:016x}", file_fingerprint(teacher), tta_name,
                                      train.size(), data_fingerprint(train));
  const auto n = static_cast<long>(train.size());
  auto targets = torch::empty({n, static_cast<long>(kNumEmotions)});
  const auto bytes = static_cast<std::streamsize>(targets.numel() * static_cast<long>(sizeof(float)));
  if (std::ifstream in(cache, std::ios::binary); in) {
    std::string header;
    std::getline(in, header);
    if (header == key && in.read(reinterpret_cast<char*>(targets.data_ptr<float>()), bytes) && in.gcount() == bytes) {
      spdlog::info("teacher targets: {} ({} views) read from {}", teacher.string(), tta_name, cache.string());
      return targets;
    }
    spdlog::info("teacher targets: {} is for another teacher or data; recomputing", cache.string());
  }
  const auto classifier = EmotionClassifier::load(teacher);
  const auto started = std::chrono::steady_clock::now();
  constexpr long kChunk = 512;
  for (long start = 0; start < n; start += kChunk) {
    const long end = std::min(n, start + kChunk);
    const std::vector<cv::Mat> faces(train.images.begin() + start, train.images.begin() + end);
    const auto probs = classifier.classify_batch(faces, tta);
    // Rows are contiguous floats: a copy per face, not a tensor operation per element.
    for (long i = start; i < end; ++i)
      std::copy(probs[static_cast<std::size_t>(i - start)].begin(), probs[static_cast<std::size_t>(i - start)].end(),
                targets.data_ptr<float>() + i * static_cast<long>(kNumEmotions));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    spdlog::info("teacher targets: {}/{} faces ({} views), {:.0f} faces/s", end, n, tta_name, double(end) / secs);
  }
  fs::create_directories(cache.parent_path());
  std::ofstream out(cache, std::ios::binary | std::ios::trunc);
  out << key << '\n';
  out.write(reinterpret_cast<const char*>(targets.data_ptr<float>()), bytes);
  if (!out) throw std::runtime_error("cannot write " + cache.string());
  return targets;
}
#else
torch::Tensor teacher_targets(const FerDataset&, const fs::path&, const std::string&, const fs::path&) {
  throw std::invalid_argument(
      "distillation (--teacher) needs the full build: the trainer-only GPU build has no OpenCV DNN to read the teacher");
}
#endif

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
  // SWA: running mean of the parameters at the end of each SWA epoch (on the device).
  std::vector<torch::Tensor> swa_average;
  int swa_count = 0;

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

  ModelFile to_model_file(const EmotionNet& source, const nlohmann::json& info) const {
    torch::NoGradGuard no_grad;
    ModelFile m;
    m.arch = opt.arch;
    m.info = info;
    auto put = [&](const std::string& name, const torch::Tensor& t) {
      auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
      NamedTensor nt{name, {}, std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel())};
      for (auto d : c.sizes()) nt.shape.push_back(static_cast<int>(d));
      m.tensors.push_back(std::move(nt));
    };
    for (const auto& [name, unit] : source->units) {
      const auto& bn = unit->bn;
      auto scale = bn->weight / torch::sqrt(bn->running_var + bn->options.eps());
      put(name + ".weight", unit->conv->weight * scale.view({-1, 1, 1, 1}));
      put(name + ".bias", bn->bias - bn->running_mean * scale);
    }
    put("fc1.weight", source->fc1->weight);
    put("fc1.bias", source->fc1->bias);
    put("fc2.weight", source->fc2->weight);
    put("fc2.bias", source->fc2->bias);
    return m;
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
    torch::NoGradGuard no_grad;
    auto load = [&](torch::Tensor dst, const std::string& name) {
      const auto& t = m.tensor(name);
      if (static_cast<std::size_t>(dst.numel()) != t.data.size()) throw ModelError("shape mismatch for " + name);
      dst.copy_(torch::from_blob(const_cast<float*>(t.data.data()), dst.sizes()));
    };
    // The file holds BN folded into the convs: restore it as conv + identity BN.
    for (auto& [name, unit] : net->units) {
      load(unit->conv->weight, name + ".weight");
      load(unit->bn->bias, name + ".bias");
      unit->bn->weight.fill_(1.0);
      unit->bn->running_mean.zero_();
      unit->bn->running_var.fill_(1.0 - unit->bn->options.eps());
    }
    load(net->fc1->weight, "fc1.weight");
    load(net->fc1->bias, "fc1.bias");
    load(net->fc2->weight, "fc2.weight");
    load(net->fc2->bias, "fc2.bias");
    calibrate_batch_norm();
    spdlog::info("warm start from {}{}", mtm.string(), narrowed ? " (narrowed to this architecture: its strongest channels)" : "");
  }

  // Folded weights under an identity BatchNorm reproduce the model in eval mode only: in training
  // mode BN divides each conv's output by its batch statistics, which throws the warm start away
  // (a 69% model trained on at 41% training accuracy). So each conv's per-channel output mean m
  // and variance v are measured on a fixed augmented sample of training faces (in eval mode, i.e.
  // through the folded model), and BN is set to undo that normalisation: weight sqrt(v + eps),
  // bias m + the folded bias, running statistics m and v. Eval mode then computes the folded
  // model exactly, and training mode computes it up to the batch statistics' noise.
  void calibrate_batch_norm() {
    torch::NoGradGuard no_grad;
    for (auto& [name, unit] : net->units) {
      unit->calibrating = true;
      unit->moment1 = unit->moment2 = torch::Tensor();
      unit->moment_count = 0;
    }
    net->eval();
    forward_fixed_sample(net, 0xCA11B4A7Eull);
    net->train();
    for (auto& [name, unit] : net->units) {
      unit->calibrating = false;
      const double count = static_cast<double>(std::max<std::int64_t>(1, unit->moment_count));
      auto mean = unit->moment1 / count;
      auto var = (unit->moment2 / count - mean * mean).clamp_min(0);
      auto& bn = unit->bn;
      const double eps = bn->options.eps();
      bn->weight.copy_((var + eps).sqrt());
      bn->bias.copy_(bn->bias.to(torch::kFloat64) + mean);
      bn->running_mean.copy_(mean);
      bn->running_var.copy_(var);
      unit->moment1 = unit->moment2 = torch::Tensor();
    }
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
            {"swa_count", swa_count}};
  }

  void save_checkpoint(const fs::path& path) const {
    torch::serialize::OutputArchive archive, model_archive, optim_archive;
    net->save(model_archive);
    optimizer->save(optim_archive);
    archive.write("model", model_archive);
    archive.write("optimizer", optim_archive);
    archive.write("state", c10::IValue(state_json().dump()));
    if (swa_count > 0) {
      torch::serialize::OutputArchive swa_archive;
      for (std::size_t i = 0; i < swa_average.size(); ++i) swa_archive.write(std::to_string(i), swa_average[i]);
      archive.write("swa", swa_archive);
    }
    if (!path.parent_path().empty()) fs::create_directories(path.parent_path());
    const fs::path tmp = path.string() + ".tmp";
    archive.save_to(tmp.string());
    fs::rename(tmp, path);  // a crash mid-write never destroys the last good checkpoint
  }

  // Opens a checkpoint written by save_checkpoint() and returns its "state" record (step, arch,
  // seed, history...); the archive stays open for reading "model" and "optimizer".
  // Tensors land on `device` whatever device wrote them.
  static nlohmann::json read_checkpoint_state(torch::serialize::InputArchive& archive, const fs::path& path,
                                              torch::Device device) {
    archive.load_from(path.string(), device);
    c10::IValue state_value;
    archive.read("state", state_value);
    return nlohmann::json::parse(state_value.toStringRef());
  }

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
    swa_count = state.value("swa_count", 0);
    swa_average.clear();
    if (swa_count > 0) {
      torch::serialize::InputArchive swa_archive;
      archive.read("swa", swa_archive);
      for (const auto& p : net->parameters()) {
        torch::Tensor t;
        swa_archive.read(std::to_string(swa_average.size()), t);
        if (t.sizes() != p.sizes()) throw std::invalid_argument("checkpoint " + path.string() + ": corrupt SWA average");
        swa_average.push_back(t.to(device));
      }
    }
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

  // Adds this epoch's weights to the SWA average.
  void accumulate_swa() {
    torch::NoGradGuard no_grad;
    const auto params = net->parameters();
    if (swa_count == 0) {
      swa_average.clear();
      for (const auto& p : params) swa_average.push_back(p.detach().clone());
    } else {
      for (std::size_t i = 0; i < params.size(); ++i)
        swa_average[i].add_(params[i].detach() - swa_average[i], 1.0 / double(swa_count + 1));
    }
    ++swa_count;
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

  // The SWA average as a net of its own. Averaged weights do not match any epoch's BatchNorm
  // statistics, so they are recomputed: cumulative mean over a fixed, augmented sample of the
  // training set (the same sample every time: equal weights give equal statistics).
  EmotionNet swa_net() {
    torch::NoGradGuard no_grad;
    EmotionNet averaged(opt.arch);
    averaged->to(device);
    auto params = averaged->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(swa_average[i]);
    for (auto& [name, unit] : averaged->units) {
      unit->bn->reset_running_stats();
      unit->bn->options.momentum(c10::nullopt);  // cumulative average over all batches
    }
    averaged->train();
    forward_fixed_sample(averaged, 0x5A5A5A5A5A5Aull);
    averaged->eval();
    return averaged;
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
      accumulate_swa();
      EmotionNet averaged = swa_net();
      std::swap(net, averaged);  // evaluate() runs `net`
      const EvalResult sv = evaluate(val_inputs, val_labels);
      const double swa_score = selection_score(sv, row, "swa_");
      std::swap(net, averaged);
      row["swa_models"] = swa_count;
      row["swa_val_acc"] = sv.confusion.accuracy();
      row["swa_val_macro_f1"] = sv.confusion.macro_f1();
      spdlog::info("SWA average of {} epochs: val loss {:.4f} acc {:.2f}% macro-F1 {:.4f}", swa_count, sv.loss,
                   100 * sv.confusion.accuracy(), sv.confusion.macro_f1());
      const ModelFile swa_model = to_model_file(averaged, model_info(epoch, sv, swa_count));
      save_model_file(swa_model, opt.out_dir / "swa.mtm");
      if (swa_score > std::max(best_val_acc, score))
        record_best(swa_model, epoch, sv, swa_score, fmt::format("SWA of epochs {}-{}", epoch - swa_count + 1, epoch));
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
          std::fprintf(stderr, "%sepoch %d/%d [%s%s] %ld/%ld loss %.4f acc %.2f%% %.0f img/s (%dt) ETA %s%s",
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
  save_model_file(impl_->to_model_file(impl_->net, info), mtm);
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
