// Emotion-model figures: per-face latency at batch 1 on one core and batched throughput, each
// against XNNPACK float and OpenCV DNN in the same run, val accuracy (plain, flip and ten-crop TTA),
// and — with LibTorch — the eager LibTorch forward of the same
// architecture as a baseline in the same run, plus training throughput at 1 and 2 threads.
//
//   bench_model [--model M] [--data DIR] [--iters N] [--no-train]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <opencv2/core/utility.hpp>

#include "app/model_path.hpp"
#include "data/fer_dataset.hpp"
#include "model/classifier.hpp"
#include "model/metrics.hpp"
#ifdef MOODTUNES_WITH_TORCH
#include "support/torch_bench.hpp"
#endif

using namespace moodtunes;

namespace {
double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * double(v.size())))];
}

template <class F>
std::vector<double> time_calls(int iters, F&& f) {
  for (int i = 0; i < 5; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return ms;
}

void report(const char* what, const std::vector<double>& ms, int batch) {
  fmt::print("{:<44} p50 {:7.3f} ms  p99 {:7.3f} ms  -> {:8.0f} faces/s\n", what, percentile(ms, 0.5), percentile(ms, 0.99),
              1000.0 * batch / percentile(ms, 0.5));
}
}  // namespace

// A missing or corrupt model file is a message and exit status 1, not an abort.
int main(int argc, char** argv) try {
  CLI::App app{"moodtunes emotion-model benchmark"};
  std::string model;
  std::string data = std::getenv("MOODTUNES_DATA") ? std::string(std::getenv("MOODTUNES_DATA")) : MOODTUNES_DATA_DIR;
  int iters = 300;
  bool no_train = false;
  std::string baseline_model;
  app.add_option("--model", model, moodtunes::app::model_option_help());
  app.add_option("--baseline-model", baseline_model,
                 "Another model (a .mtm file or a shipped name), timed at batch 1 in the same rounds on its default "
                 "engine (e.g. the accurate model against the fast one)");
  app.add_option("--data", data, "Data root holding fer2013/{train,val}");
  app.add_option("--iters", iters, "Timed calls per figure");
  app.add_flag("--no-train", no_train, "Skip the LibTorch training-throughput figures");
  CLI11_PARSE(app, argc, argv);
  model = moodtunes::app::model_path(model);
  if (!baseline_model.empty()) baseline_model = moodtunes::app::model_path(baseline_model);

  const auto clf = EmotionClassifier::load(model);  // the default engine: int8 for a calibrated model
  const auto fp32 = EmotionClassifier::load(model, InferenceEngine::kXnnpack);
  const auto reference = EmotionClassifier::load(model, InferenceEngine::kOpenCvDnn);
  const auto networks = static_cast<int>(clf.network_count());
  fmt::print("model {}: {} network(s), {:.3f} GFLOP/face, {} parameters; engine {}, baselines {} and {}\n", model.c_str(),
              networks, clf.gflops(), static_cast<long long>(clf.parameter_count()), std::string(engine_name(clf.engine())).c_str(),
              std::string(engine_name(fp32.engine())).c_str(), std::string(engine_name(reference.engine())).c_str());
  const FerDataset val = load_fer(data + "/fer2013/val");

  // Latency and throughput of the default engine against XNNPACK in float and OpenCV DNN,
  // alternated (two rounds at batch 1) so that all see the same machine; one core, then all cores.
  const cv::Mat face = val.images[0];
  const std::vector<cv::Mat> batch64(val.images.begin(), val.images.begin() + 64);
  const std::string default_label = "engine (" + std::string(engine_name(clf.engine())) + ")";
  const std::pair<std::string, const EmotionClassifier*> engines[] = {
      {default_label, &clf}, {"baseline: XNNPACK float", &fp32}, {"baseline: OpenCV DNN", &reference}};
  std::vector<std::pair<std::string, const EmotionClassifier*>> batch1 = {std::begin(engines), std::end(engines)};
  std::optional<EmotionClassifier> other;
  if (!baseline_model.empty()) {
    other.emplace(EmotionClassifier::load(baseline_model));
    fmt::print("baseline model {}: {} network(s), {:.3f} GFLOP/face; engine {}\n", baseline_model.c_str(),
                other->network_count(), other->gflops(), std::string(engine_name(other->engine())).c_str());
    batch1.emplace_back("baseline model (" + std::string(engine_name(other->engine())) + ")", &*other);
  }
  std::vector<std::vector<double>> batch1_ms(batch1.size());
  cv::setNumThreads(1);
  for (int round = 0; round < 2; ++round)
    for (std::size_t e = 0; e < batch1.size(); ++e) {
      const auto ms = time_calls(iters, [&] { batch1[e].second->classify(face); });
      report((batch1[e].first + ", batch 1, 1 core").c_str(), ms, 1);
      batch1_ms[e].insert(batch1_ms[e].end(), ms.begin(), ms.end());
    }
  fmt::print("engine at batch 1, 1 core (p50 of both rounds): {:.2f}x faster than XNNPACK float, {:.2f}x faster than OpenCV DNN\n",
              percentile(batch1_ms[1], 0.5) / percentile(batch1_ms[0], 0.5),
              percentile(batch1_ms[2], 0.5) / percentile(batch1_ms[0], 0.5));
  if (other)
    fmt::print("this model at batch 1, 1 core (p50 of both rounds): {:.2f}x faster than the baseline model\n",
                percentile(batch1_ms[3], 0.5) / percentile(batch1_ms[0], 0.5));
  for (int threads : {1, -1})
    for (const auto& [name, c] : engines) {
      cv::setNumThreads(threads);
      report((name + ", batch 64, " + (threads == 1 ? "1 core" : "all cores")).c_str(),
             time_calls(std::max(10, iters / 20), [&] { c->classify_batch(batch64); }), 64);
    }

#ifdef MOODTUNES_WITH_TORCH
  // LibTorch times the first network; an ensemble of N such networks costs N times as much.
  auto torch1 = time_torch_forward(clf.arch(), 1, iters, 1);
  for (auto& ms : torch1) ms *= networks;
  report(networks == 1 ? "baseline: LibTorch eager, batch 1, 1 thread" : "baseline: LibTorch eager, b1, 1 thread, x networks",
         torch1, 1);
  cv::setNumThreads(1);
  const auto engine1 = time_calls(iters, [&] { clf.classify(face); });
  fmt::print("engine vs LibTorch at batch 1 (p50): {:.2f}x faster\n", percentile(torch1, 0.5) / percentile(engine1, 0.5));
  auto torch64 = time_torch_forward(clf.arch(), 64, std::max(10, iters / 20), 1);
  for (auto& ms : torch64) ms *= networks;
  report(networks == 1 ? "baseline: LibTorch eager, batch 64, 1 thread" : "baseline: LibTorch eager, b64, 1 thread, x networks",
         torch64, 64);
#endif

  // Accuracy on val, plain and with test-time augmentation; the baseline engine's plain reading
  // checks that the engines agree.
  cv::setNumThreads(-1);
  for (const auto* baseline : {&fp32, &reference}) {
    const ConfusionMatrix cm = score(*baseline, val.images, val.labels);
    fmt::print("val, baseline {}, TTA none: accuracy {:.2f}%, macro-F1 {:.4f}\n", std::string(engine_name(baseline->engine())).c_str(),
                100 * cm.accuracy(), cm.macro_f1());
  }
  for (auto tta : {TestTimeAugmentation::kNone, TestTimeAugmentation::kFlip, TestTimeAugmentation::kTenCrop}) {
    const auto t0 = std::chrono::steady_clock::now();
    const ConfusionMatrix cm = score(clf, val.images, val.labels, tta);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fmt::print("val, TTA {}: accuracy {:.2f}%, macro-F1 {:.4f} ({} faces in {:.2f} s)\n",
                std::string(tta_name(tta)).c_str(), 100 * cm.accuracy(), cm.macro_f1(),
                val.size(), s);
  }

#ifdef MOODTUNES_WITH_TORCH
  if (!no_train) {
    for (int threads : {1, 2}) {
      TrainOptions o;
      o.train_dir = data + "/fer2013/train";
      o.val_dir = data + "/fer2013/val";
      o.out_dir = "/tmp/moodtunes-bench-train";
      o.arch = clf.arch();
      o.max_per_class = 200;
      o.threads = threads;
      o.progress = false;
      fmt::print("training throughput, {} thread(s): {:.0f} images/s\n", threads, time_training_throughput(o, 20));
    }
  }
#endif
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "bench_model: {}\n", e.what());
  return 1;
}
