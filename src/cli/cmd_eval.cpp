// `moodtunes eval` (metrics of a model on a labelled FER set) and `moodtunes classify`
// (emotion of pre-cropped face images).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>

#include <fmt/core.h>
#include <fmt/format.h>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>

#include "cli/commands.hpp"
#include "cli/validators.hpp"
#include "data/fer_dataset.hpp"
#include "model/blend.hpp"
#include "model/class_prior.hpp"
#include "model/classifier.hpp"
#include "model/metrics.hpp"
#include "model/model_file.hpp"
#include "model/plots.hpp"
#include "vision/image_io.hpp"
#if MOODTUNES_WITH_VISION
#include "vision/face_detector.hpp"
#include "vision/pipeline.hpp"
#endif

namespace moodtunes::cli {

namespace {
// One group of eval results: a confusion matrix over the faces read, and per class the images in
// which no face was found (end-to-end mode), which count as wrong.
struct Tally {
  ConfusionMatrix cm;
  std::array<std::int64_t, kNumEmotions> missed{};

  void add(int truth, std::optional<int> predicted) {
    if (predicted) cm.add(truth, *predicted);
    else ++missed[static_cast<std::size_t>(truth)];
  }
  std::int64_t missed_total() const { return std::accumulate(missed.begin(), missed.end(), std::int64_t{0}); }
  std::int64_t images() const { return cm.count() + missed_total(); }
  std::int64_t support(int c) const {
    std::int64_t n = missed[static_cast<std::size_t>(c)];
    for (std::size_t p = 0; p < kNumEmotions; ++p) n += cm.at(c, static_cast<int>(p));
    return n;
  }
  double accuracy() const {
    std::int64_t right = 0;
    for (int c = 0; c < static_cast<int>(kNumEmotions); ++c) right += cm.at(c, c);
    return images() ? double(right) / double(images()) : 0.0;
  }
  double recall(int c) const { return support(c) ? double(cm.at(c, c)) / double(support(c)) : 0.0; }
  double f1(int c) const {
    const double p = cm.precision(c), r = recall(c);
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
  }
  // Over the classes that occur (a source may lack some: realfaces' lfw_ has no fear or disgust).
  double macro_f1() const {
    double sum = 0;
    int present = 0;
    for (int c = 0; c < static_cast<int>(kNumEmotions); ++c)
      if (support(c) > 0) {
        sum += f1(c);
        ++present;
      }
    return present ? sum / present : 0.0;
  }
  // ConfusionMatrix::to_json()'s shape, with missed faces counted wrong, plus "missed".
  nlohmann::json to_json() const {
    nlohmann::json j = cm.to_json();
    j["accuracy"] = accuracy();
    j["macro_f1"] = macro_f1();
    j["count"] = images();
    for (std::size_t c = 0; c < kNumEmotions; ++c) {
      auto& pc = j["per_class"][std::string(kEmotionNames[c])];
      pc["recall"] = recall(static_cast<int>(c));
      pc["f1"] = f1(static_cast<int>(c));
      pc["support"] = support(static_cast<int>(c));
    }
    if (missed_total() > 0) j["missed"] = missed;
    return j;
  }
};

void print_report(const Tally& t) {
  const ConfusionMatrix& cm = t.cm;
  const bool misses = t.missed_total() > 0;
  fmt::print("accuracy  {:.2f}%   macro-F1 {:.4f}   ({} images{})\n", 100 * t.accuracy(), t.macro_f1(),
              static_cast<long long>(t.images()),
              misses ? (", no face found in " + std::to_string(t.missed_total()) + ": counted wrong").c_str() : "");
  fmt::print("{:<9} {:>9} {:>9} {:>9} {:>8}\n", "class", "precision", "recall", "F1", "support");
  for (std::size_t c = 0; c < kNumEmotions; ++c) {
    const int ci = static_cast<int>(c);
    fmt::print("{:<9} {:8.2f}% {:8.2f}% {:9.4f} {:8}\n", std::string(kEmotionNames[c]).c_str(), 100 * cm.precision(ci),
                100 * t.recall(ci), t.f1(ci), static_cast<long long>(t.support(ci)));
  }
  fmt::print("confusion (rows true, columns predicted):\n{:>9}", "");
  for (auto n : kEmotionNames) fmt::print(" {:>8.8}", std::string(n).c_str());
  if (misses) fmt::print(" {:>8}", "no face");
  fmt::print("\n");
  for (std::size_t row = 0; row < kNumEmotions; ++row) {
    fmt::print("{:<9}", std::string(kEmotionNames[row]).c_str());
    for (std::size_t p = 0; p < kNumEmotions; ++p) fmt::print(" {:8}", static_cast<long long>(cm.at(static_cast<int>(row), static_cast<int>(p))));
    if (misses) fmt::print(" {:8}", static_cast<long long>(t.missed[row]));
    fmt::print("\n");
  }
}

// The predicted class of each labelled file: the crop read as a face (crops), or the largest face
// the photo path finds in it (end to end; nullopt when it finds none).
using Predictions = std::vector<std::optional<int>>;

#if MOODTUNES_WITH_VISION
// As `moodtunes detect` reads a photo: the guarded decoder, the default photo detector, the FER
// crop and `clf` (loaded on the photo engine) with `tta`; the largest face is the photo's reading.
Predictions predict_end_to_end(const EmotionClassifier& clf, const std::vector<LabelledFile>& files,
                               TestTimeAugmentation tta) {
  const auto detector = vision::make_detector(vision::kDefaultDetector);
  vision::ImageAnalysisOptions options;
  options.tta = tta;
  Predictions out;
  std::size_t done = 0;
  for (const auto& f : files) {
    std::optional<int> predicted;
    try {
      const vision::FrameReading r = vision::analyse_image(vision::read_image(f.path).bgr, *detector, clf, options);
      const auto largest = std::max_element(r.faces.begin(), r.faces.end(),
                                            [](const auto& a, const auto& b) { return a.box.area() < b.box.area(); });
      if (largest != r.faces.end()) predicted = static_cast<int>(largest->emotion);
    } catch (const vision::ImageError& e) {
      fmt::print(stderr, "{}: {} (counted as no face)\n", f.path.string().c_str(), e.what());
    }
    out.push_back(predicted);
    if (++done % 200 == 0) fmt::print(stderr, "end to end: {}/{} images\n", done, files.size());
  }
  return out;
}
#endif
}  // namespace

void add_eval_command(CLI::App& app) {
  struct Args {
    std::string data, model, usage = "PublicTest", tta, png, engine, record;
    bool json = false, end_to_end = false;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("eval", "Accuracy, macro-F1, per-class precision/recall and confusion of a model on labelled faces");
  cmd->add_option("data", a->data,
                  "Folder layout <root>/<class>/*.jpg (FER-2013, or real photos such as realfaces/val: classes other "
                  "than the 7 are left out, and file-name prefixes before '_' are reported as sources), or fer2013.csv")
      ->required();
  cmd->add_option("-m,--model", a->model, model_option_help());
  cmd->add_option("--usage", a->usage, "fer2013.csv rows to use")->capture_default_str()->check(CLI::IsMember({"Training", "PublicTest", "PrivateTest"}));
  cmd->add_option("--tta", a->tta,
                  "Test-time augmentation: none | flip (average with the mirror image) | ten-crop (5 crops x mirror); "
                  "default none, or with --end-to-end the photo path's (ten-crop)")
      ->check(CLI::IsMember(tta_names()));
  cmd->add_flag("--end-to-end", a->end_to_end,
                "Read each image as `moodtunes detect` reads a photo (detect, FER crop, classify the largest face); "
                "an image with no face found counts wrong");
  cmd->add_option("--confusion-png", a->png, "Also write the confusion matrix as a PNG");
  cmd->add_option("--threads", a->threads, "CPU threads for inference (0 = OpenCV default)");
  cmd->add_option("--engine", a->engine, "Inference engine (default: the fastest this model and CPU allow)")
      ->check(CLI::IsMember(engine_names()));
  cmd->add_flag("--json", a->json, "Print one JSON object (accuracy, macro_f1, per_class, confusion, count, sources)");
  cmd->add_option("--record", a->record,
                  "Store the result in the model file's info under this key (val, realfaces_val, "
                  "realfaces_val_end_to_end: the model card's table of domains reads them)")
      ->check(CLI::IsMember({"val", "realfaces_val", "realfaces_val_end_to_end"}));
  cmd->callback([a] {
    if (a->threads > 0) cv::setNumThreads(a->threads);
    const std::string model = model_path(a->model);
    const FerLoadOptions load{a->usage, 0, /*skip_unknown_classes=*/true};
    std::vector<std::string> skipped;
    std::vector<int> labels;
    std::vector<std::string> sources;
    Predictions predicted;
    std::string engine, tta = a->tta;
    std::size_t networks = 0;
    if (a->end_to_end) {
#if MOODTUNES_WITH_VISION
      if (a->data.ends_with(".csv")) throw CliExit(kExitUsage, "--end-to-end reads photos: give a folder, not a CSV");
      if (!a->engine.empty()) throw CliExit(kExitUsage, "--end-to-end uses the photo engine, as detect does: drop --engine");
      if (tta.empty()) tta = tta_name(vision::ImageAnalysisOptions{}.tta);
      const auto files = list_labelled_files(a->data, load, &skipped);
      fmt::print(stderr, "end to end: {} images\n", files.size());
      const auto clf = EmotionClassifier::load(model, kPhotoEngine);
      predicted = predict_end_to_end(clf, files, parse_tta(tta));
      for (const auto& f : files) {
        labels.push_back(f.label);
        sources.push_back(source_prefix(f.path));
      }
      engine = engine_name(clf.engine());
      networks = clf.network_count();
#else
      throw CliExit(kExitUsage, "--end-to-end needs the vision library, which this build lacks");
#endif
    } else {
      if (tta.empty()) tta = "none";
      const auto clf = EmotionClassifier::load(model, a->engine.empty() ? std::nullopt : std::optional(parse_engine(a->engine)));
      const FerDataset data = load_fer(a->data, load);
      skipped = data.skipped;
      fmt::print(stderr, "loaded {} images ({}){}\n", data.size(), data.counts_summary().c_str(),
                   data.resized ? (", " + std::to_string(data.resized) + " resized to 48x48").c_str() : "");
      for (const int p : predict(clf, data.images, parse_tta(tta))) predicted.push_back(p);
      labels = data.labels;
      for (const auto& src : data.sources) sources.push_back(source_prefix(src));
      engine = engine_name(clf.engine());
      networks = clf.network_count();
    }
    for (const auto& s : skipped) fmt::print(stderr, "left out: {} (the model reads 7 classes)\n", s.c_str());

    Tally all;
    std::map<std::string, Tally> by_source;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      all.add(labels[i], predicted[i]);
      by_source[sources[i]].add(labels[i], predicted[i]);
    }
    // Per source only where the names carry more than one (realfaces' web_ and lfw_).
    if (by_source.size() < 2) by_source.clear();
    if (!a->png.empty()) plot_confusion(all.cm, "confusion: " + a->data, a->png);
    auto j = all.to_json();
    j["data"] = a->data;
    j["tta"] = tta;
    j["engine"] = engine;
    j["networks"] = networks;
    j["mode"] = a->end_to_end ? "end-to-end" : "crops";
    if (!skipped.empty()) j["skipped"] = skipped;
    if (!by_source.empty()) {
      j["sources"] = nlohmann::json::object();
      for (const auto& [name, t] : by_source) j["sources"][name] = t.to_json();
    }
    if (!a->record.empty()) {
      if ((a->record == "realfaces_val_end_to_end") != a->end_to_end)
        throw CliExit(kExitUsage, "--record " + a->record + (a->end_to_end ? " is not an end-to-end reading" : " needs --end-to-end"));
      ModelEnsemble file = load_ensemble_file(model);
      auto record = j;  // a data folder named by its last two parts, not by this machine's path
      const std::filesystem::path folder = std::filesystem::path(a->data).lexically_normal();
      record["data"] = (folder.parent_path().filename() / folder.filename()).string();
      (file.single_network_file ? file.members.front().info : file.info)[a->record] = record;
      if (file.single_network_file) save_model_file(file.members.front(), model);
      else save_ensemble_file(file, model);
      fmt::print(stderr, "recorded as {} in {}\n", a->record.c_str(), model.c_str());
    }
    if (a->json) {
      fmt::print("{}\n", j.dump());
    } else {
      print_report(all);
      for (const auto& [name, t] : by_source) {
        fmt::print("\nsource {}:\n", name.empty() ? "(no prefix)" : name.c_str());
        print_report(t);
      }
    }
  });
}

namespace {
// The architecture and training sections of one network's card, under headings of level `h`.
void describe_network(std::ostringstream& md, const nlohmann::json& info, const ArchSpec& arch, const std::string& h,
                      InferenceEngine engine) {
  const std::string command = info.value("command", std::string());
  const bool warm_started = command.find(" --init ") != std::string::npos;
  md << h << " Architecture\n\n";
  md << "- Small ResNet on 1x48x48 grayscale, per-image standardised (preprocess/preprocess.hpp, id `" << kPreprocessId << "`)\n";
  md << "- stem conv3x3 " << arch.stem << "; stages (channels x residual blocks, each followed by 2x2 max-pool):";
  for (const auto& s : arch.stages) md << " " << s.channels << "x" << s.blocks;
  md << "; head: flatten, dropout " << arch.dropout << ", FC " << arch.fc_hidden << ", ReLU, dropout, FC 7\n";
  md << fmt::format("- {} parameters, {:.3f} GFLOP per face (multiply-adds x 2)\n", arch.parameter_count(), arch.gflops());
  md << "- BatchNorm folded into the convolutions at export; inference runs on XNNPACK, OpenCV DNN as the fallback (no LibTorch needed)\n";
  if (info.contains("int8"))
    md << "- int8 inference calibrated on " << info["int8"].value("faces", std::size_t{0})
       << " training faces (`moodtunes quantize`); engine: " << engine_name(engine) << "\n";
  md << "\n";
  md << h << " Training\n\n";
  md << "- " << (warm_started ? "fine-tuned from an earlier model's weights (`--init`, see the run history)" : "trained from scratch")
     << "\n";
  if (info.contains("command")) md << "- command: `" << info["command"].get<std::string>() << "`\n";
  if (info.contains("trained_epochs"))
    md << "- epochs: " << info["trained_epochs"] << " of a " << info.value("planned_epochs", 0) << "-epoch schedule\n";
  if (info.contains("train_seconds")) {
    const double seconds = info["train_seconds"].get<double>();
    const char* what = warm_started ? "training wall time of this run" : "training wall time";
    if (seconds < 3600) md << fmt::format("- {}: {:.0f} min", what, seconds / 60.0);
    else md << fmt::format("- {}: {:.1f} h", what, seconds / 3600.0);
    // Recorded by trainers since the --device option; older models do not say where they ran.
    if (info.contains("device"))
      md << " on " << (info["device"] == "cpu" ? "the CPU" : info["device"] == "cuda" ? "a CUDA GPU" : "the CPU and a CUDA GPU")
         << " (LibTorch "
         << info.value("libtorch", std::string("?")) << ")";
    md << "\n";
  }
  if (info.contains("hyper")) md << "- hyper-parameters: `" << info["hyper"].dump() << "`\n";
  const nlohmann::json hyper = info.value("hyper", nlohmann::json::object());  // absent in the oldest models
  if (info.contains("swa_models"))
    md << "- weights: the mean of " << info["swa_models"] << " epochs' end weights (stochastic weight averaging, "
       << (hyper.value("swa_schedule", std::string("constant")) == "cyclic"
               ? "each epoch one cosine cycle from `swa_lr` down to 1/100 of it"
               : "at the constant `swa_lr`")
       << "), BatchNorm statistics recomputed on training faces\n";
  if (hyper.contains("mix_repeat"))
    md << "- data: FER-2013 Training plus the `--mix` set of the command (real photos), seen " << hyper["mix_repeat"]
       << " times per epoch; selected on the mean of the FER val and `--extra-val` accuracies\n";
  if (info.contains("blend")) {
    const auto& b = info["blend"];
    const double w = b.value("weight", 0.0);
    if (b.contains("weight_output"))
      md << fmt::format("- weights: blended in weight space (`moodtunes blend`), `{}` toward `{}` (the run above) by a "
                        "weight going from {:.2f} at the first layer to {:.2f} at the last\n",
                        b.value("from", std::string("?")), b.value("to", std::string("?")), w,
                        b.value("weight_output", 0.0));
    else
      md << fmt::format("- weights: blended in weight space (`moodtunes blend`), {:.2f} x `{}` + {:.2f} x `{}` (the run above)\n",
                        1 - w, b.value("from", std::string("?")), w, b.value("to", std::string("?")));
  }
  if (info.contains("class_bias")) md << "- class bias (`moodtunes prior`): `" << info["class_bias"].dump() << "`\n";
  if (info.contains("distillation")) {
    const auto& d = info["distillation"];
    md << fmt::format("- distilled: {:.0f}% of the loss is cross-entropy against the {} reading (`--tta {}`) of each "
                      "training face by `{}`, the rest the labels\n",
                      100 * d.value("weight", 0.0), d.value("teacher_tta", std::string("?")),
                      d.value("teacher_tta", std::string("?")), d.value("teacher", std::string("?")));
  }
  const double jitter = hyper.value("scale_jitter", 0.12);
  md << fmt::format("- augmentation: flip, rotation +-12 deg, scale {:.2f}-{:.2f}, shift +-4.5 px, gamma, random erasing; ",
                    1 - jitter, 1 + jitter);
  if (const double resample = hyper.value("resample_prob", 0.0); resample > 0)
    md << fmt::format("resolution round trip 0.5x-5x (p = {:.2f}); ", resample);
  md << "label smoothing; class-weighted loss (count^-power)\n\n";
}

// The validation section from metrics stored as ConfusionMatrix::to_json() writes them.
void describe_validation(std::ostringstream& md, const nlohmann::json& v, const std::string& heading) {
  md << heading << "\n\n";
  md << fmt::format("- accuracy **{:.2f}%**, macro-F1 **{:.4f}**\n\n", 100 * v["accuracy"].get<double>(),
                    v["macro_f1"].get<double>());
  md << "| class | precision | recall | F1 | support |\n|---|---|---|---|---|\n";
  for (auto name : kEmotionNames) {
    const auto& c = v["per_class"][std::string(name)];
    md << fmt::format("| {} | {:.1f}% | {:.1f}% | {:.3f} | {} |\n", name, 100 * c["precision"].get<double>(),
                      100 * c["recall"].get<double>(), c["f1"].get<double>(), c["support"].get<std::int64_t>());
  }
  md << "\nConfusion matrix (rows true, columns predicted):\n\n| |";
  for (auto name : kEmotionNames) md << " " << name << " |";
  md << "\n|---|---|---|---|---|---|---|---|\n";
  for (std::size_t t = 0; t < kNumEmotions; ++t) {
    md << "| " << kEmotionNames[t] << " |";
    for (std::size_t p = 0; p < kNumEmotions; ++p) md << " " << v["confusion"][t][p] << " |";
    md << "\n";
  }
  md << "\n";
}

// One table of the readings `eval --record` stored: the FER domain and the real-photo domain.
void describe_domains(std::ostringstream& md, const nlohmann::json& info) {
  struct Row {
    const char* key;
    const char* what;
    const char* command;
  };
  static constexpr Row kRows[] = {
      {"val", "FER-2013 val (PublicTest), face crops", "moodtunes eval $MOODTUNES_DATA/fer2013/val -m M"},
      {"realfaces_val", "realfaces val, face crops", "moodtunes eval $MOODTUNES_DATA/realfaces/val -m M"},
      {"realfaces_val_end_to_end", "realfaces val, end to end (detect, FER crop, classify; no face = wrong)",
       "moodtunes eval $MOODTUNES_DATA/realfaces/val --end-to-end -m M"}};
  bool any = false;
  for (const auto& r : kRows) any = any || (info.contains(r.key) && r.key != std::string("val"));
  if (!any) return;
  md << "## Readings by domain\n\n| set | views | accuracy | macro-F1 | lowest class recall | command |\n|---|---|---|---|---|---|\n";
  for (const auto& r : kRows) {
    if (!info.contains(r.key)) continue;
    const auto& v = info[r.key];
    std::string lowest = "?";
    double low = 2;
    for (const auto& [name, c] : v["per_class"].items())
      if (c.value("support", 0) > 0 && c["recall"].get<double>() < low) low = c["recall"].get<double>(), lowest = name;
    md << fmt::format("| {} | {} ({}) | {:.2f}% | {:.4f} | {} {:.1f}% | `{}` |\n", r.what, v.value("tta", std::string("none")),
                      v.value("engine", std::string("?")), 100 * v["accuracy"].get<double>(), v["macro_f1"].get<double>(),
                      lowest, 100 * low, r.command);
  }
  md << "\n";
}

// The class prior `moodtunes prior` stored (model/class_prior.hpp): a reader of the card must know
// that every reading is weighted, by what, and what it was fitted on.
void describe_class_bias(std::ostringstream& md, const nlohmann::json& info) {
  if (!info.contains("class_bias")) return;
  md << "- every reading weighted by a class prior (`moodtunes prior`): " << info["class_bias"].dump() << " ("
     << fmt::format("{}", fmt::join(kEmotionNames, ", ")) << ")";
  const auto fit = info.value("class_bias_fit", nlohmann::json::object());
  const auto accuracy = [&](const char* key) { return 100 * fit.value(key, nlohmann::json::object()).value("accuracy", 0.0); };
  if (fit.contains("data") && fit.contains("guard"))
    md << fmt::format(", fitted for macro-F1 on `{}` (accuracy there {:.2f}% -> {:.2f}%) while `{}` held ({:.2f}% -> {:.2f}%)",
                      fit["data"].get<std::string>(), accuracy("data_before"), accuracy("data_after"),
                      fit["guard"].get<std::string>(), accuracy("guard_before"), accuracy("guard_after"));
  md << "\n";
}

// Markdown model card from the metadata the trainer (and `moodtunes ensemble`) stored in the file.
std::string model_card(const std::string& path, const EmotionClassifier& clf) {
  std::ostringstream md;
  md << "# Model card: " << std::filesystem::path(path).filename().string() << "\n\n";
  const std::size_t networks = clf.network_count();
  md << "FER-2013 facial-expression classifier (7 classes: angry, disgust, fear, happy, neutral, sad, surprise)";
  if (networks > 1)
    md << ": an ensemble of " << networks
       << " networks trained apart, which each read the face; the classifier averages their probabilities";
  md << ". Trained with `moodtunes train` on the Training split (28,709 faces) and selected on "
        "PublicTest (\"val\", 3,589 faces). PrivateTest was never used.\n\n";
  describe_domains(md, clf.info());
  if (networks == 1) {
    describe_class_bias(md, clf.info());
    describe_network(md, clf.info(), clf.arch(), "##", clf.engine());
    if (clf.info().contains("val")) describe_validation(md, clf.info()["val"], "## Validation (FER-2013 PublicTest, 3,589 faces)");
    return md.str();
  }
  const auto& info = clf.info();
  if (info.contains("command")) md << "- built by: `" << info["command"].get<std::string>() << "`\n";
  describe_class_bias(md, info);
  md << fmt::format("- {} parameters in all, {:.3f} GFLOP per face (multiply-adds x 2); engine: {}\n\n",
                    clf.parameter_count(), clf.gflops(), engine_name(clf.engine()));
  if (info.contains("val"))
    describe_validation(md, info["val"], "## Validation of the ensemble (FER-2013 PublicTest, 3,589 faces)");
  const auto sources = info.value("members", nlohmann::json::array());
  for (std::size_t k = 0; k < networks; ++k) {
    md << "## Network " << k + 1;
    if (k < sources.size()) md << ": `" << sources[k].get<std::string>() << "`";
    md << "\n\n";
    describe_network(md, clf.network_info(k), clf.arch(k), "###", clf.engine());
    if (clf.network_info(k).contains("val"))
      describe_validation(md, clf.network_info(k)["val"], "### Validation of this network alone (as its trainer recorded it)");
  }
  return md.str();
}
}  // namespace

void add_model_card_command(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("model-card", "Print a Markdown model card from the metadata stored in a .mtm model");
  cmd->add_option("model", *model, model_option_help());
  cmd->callback([model] {
    const std::string path = model_path(*model);
    fmt::print("{}", model_card(path, EmotionClassifier::load(path)));
  });
}

void add_prior_command(CLI::App& app) {
  struct Args {
    std::string model, data, guard, out;
    double max_guard_loss = 0.1;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "prior", "Fit a per-class weight on a model's readings (model/class_prior.hpp) that maximises macro-F1 on --data "
               "while --guard keeps its accuracy, and store it in the model");
  cmd->add_option("model", a->model, "Model file (.mtm)")->required();
  cmd->add_option("--data", a->data, "Labelled faces to fit on (folder layout, e.g. realfaces/val; never the test set)")
      ->required();
  cmd->add_option("--guard", a->guard, "Labelled faces whose accuracy must hold (e.g. fer2013/val)")->required();
  cmd->add_option("--max-guard-loss", a->max_guard_loss, "Accuracy points --guard may lose")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 5.0));
  cmd->add_option("-o,--out", a->out, "Write the model with its class_bias here (default: replace MODEL)");
  cmd->callback([a] {
    ModelEnsemble model = load_ensemble_file(a->model);
    ModelEnsemble plain = model;  // read without any bias the file already has
    plain.info.erase("class_bias");
    for (auto& member : plain.members) member.info.erase("class_bias");
    const auto clf = EmotionClassifier::from_model(std::move(plain), std::nullopt, a->model);
    auto read = [&](const std::string& path) {
      const FerDataset data = load_fer(path, FerLoadOptions{"PublicTest", 0, /*skip_unknown_classes=*/true});
      return LabelledReadings{clf.classify_batch(data.images), data.labels};
    };
    const ClassBiasFit fit = fit_class_bias(read(a->data), read(a->guard), {.max_guard_loss = a->max_guard_loss / 100});
    nlohmann::json bias = nlohmann::json::array();
    for (float b : fit.bias) bias.push_back(std::round(double(b) * 1000) / 1000);
    const nlohmann::json record = {
        {"data", a->data},
        {"guard", a->guard},
        {"engine", engine_name(clf.engine())},
        {"data_before", {{"accuracy", fit.tune_before.accuracy()}, {"macro_f1", fit.tune_before.macro_f1()}}},
        {"data_after", {{"accuracy", fit.tune_after.accuracy()}, {"macro_f1", fit.tune_after.macro_f1()}}},
        {"guard_before", {{"accuracy", fit.guard_before.accuracy()}, {"macro_f1", fit.guard_before.macro_f1()}}},
        {"guard_after", {{"accuracy", fit.guard_after.accuracy()}, {"macro_f1", fit.guard_after.macro_f1()}}}};
    auto& info = model.single_network_file ? model.members.front().info : model.info;
    info["class_bias"] = bias;
    info["class_bias_fit"] = record;
    const std::string out = a->out.empty() ? a->model : a->out;
    if (model.single_network_file) save_model_file(model.members.front(), out);
    else save_ensemble_file(model, out);
    fmt::print("class bias {}\n", bias.dump().c_str());
    fmt::print("{}: accuracy {:.2f}% -> {:.2f}%, macro-F1 {:.4f} -> {:.4f}\n", a->data.c_str(), 100 * fit.tune_before.accuracy(),
                100 * fit.tune_after.accuracy(), fit.tune_before.macro_f1(), fit.tune_after.macro_f1());
    fmt::print("{}: accuracy {:.2f}% -> {:.2f}%, macro-F1 {:.4f} -> {:.4f}\n", a->guard.c_str(), 100 * fit.guard_before.accuracy(),
                100 * fit.guard_after.accuracy(), fit.guard_before.macro_f1(), fit.guard_after.macro_f1());
    fmt::print(stderr, "wrote {}\n", out.c_str());
  });
}

void add_quantize_command(CLI::App& app) {
  struct Args {
    std::string model, data, usage = "Training", out;
    std::size_t faces = 2000;
    unsigned seed = 1;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "quantize", "Calibrate a model for int8 inference (activation ranges measured on training faces)");
  cmd->add_option("model", a->model, "Model file (.mtm) to calibrate")->required();
  cmd->add_option("--data", a->data, "Training faces: FER folder layout or fer2013.csv (never the faces you judge on)")
      ->required();
  cmd->add_option("--usage", a->usage, "fer2013.csv rows to use")->capture_default_str()->check(CLI::IsMember({"Training", "PublicTest", "PrivateTest"}));
  cmd->add_option("--faces", a->faces, "How many faces, drawn at random")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--seed", a->seed, "Seed of the draw")->capture_default_str()->check(seed_check());
  cmd->add_option("-o,--out", a->out, "Write the calibrated model here (default: replace MODEL)");
  cmd->callback([a] {
    ModelEnsemble model = load_ensemble_file(a->model);
    const FerDataset data = load_fer(a->data, FerLoadOptions{a->usage, 0});
    if (data.size() == 0) throw CliExit(kExitError, "no faces in " + a->data);
    std::mt19937 rng(a->seed);
    std::vector<std::size_t> order(data.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<cv::Mat> faces;
    for (std::size_t i = 0; i < std::min(a->faces, data.size()); ++i) faces.push_back(data.images[order[i]]);
    calibrate_int8(model, faces);
    std::size_t ranges = 0;
    for (auto& member : model.members) {
      member.info["int8"]["data"] = a->data;
      member.info["int8"]["seed"] = a->seed;
      ranges += member.info["int8"]["ranges"].size();
    }
    const std::string out = a->out.empty() ? a->model : a->out;
    if (model.single_network_file) save_model_file(model.members.front(), out);
    else save_ensemble_file(model, out);
    fmt::print(stderr, "calibrated {} activation ranges ({} network{}) on {} faces of {}; wrote {}\n", ranges,
                 model.members.size(), model.members.size() == 1 ? "" : "s", faces.size(), a->data.c_str(), out.c_str());
  });
}

void add_ensemble_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> members;
    std::string out, val;
    bool float32 = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "ensemble", "Join networks trained apart into one model file whose reading is the mean of theirs");
  cmd->add_option("members", a->members, "Model files (.mtm) of single networks, two or more")->required()->expected(2, -1);
  cmd->add_option("-o,--out", a->out, "The ensemble model file to write")->required();
  cmd->add_flag("--float32", a->float32, "Store the weights as float32 (default float16: half the size)");
  cmd->add_option("--val", a->val, "Labelled faces to measure the ensemble on and record in the file (the model card shows it)");
  cmd->callback([a] {
    ModelEnsemble ensemble;
    ensemble.storage = a->float32 ? TensorStorage::kFloat32 : TensorStorage::kFloat16;
    std::string command = "moodtunes ensemble";
    for (const auto& path : a->members) {
      ensemble.members.push_back(load_model_file(path));  // a clear error for a missing file or a nested ensemble
      ensemble.info["members"].push_back(std::filesystem::path(path).filename().string());
      command += " " + std::filesystem::path(path).filename().string();
    }
    command += std::string(a->float32 ? " --float32" : "") + " -o " + std::filesystem::path(a->out).filename().string();
    ensemble.info["command"] = command;
    ensemble.info["combine"] = "mean of the networks' probabilities";
    if (!a->val.empty()) {
      const FerDataset data = load_fer(a->val, FerLoadOptions{"PublicTest", 0});
      if (data.size() == 0) throw CliExit(kExitError, "no faces in " + a->val);
      round_to_storage(ensemble);  // measured as the file will read it (float16 rounds the weights)
      const auto clf = EmotionClassifier::from_model(ensemble, std::nullopt, a->out);
      const ConfusionMatrix cm = score(clf, data.images, data.labels);
      ensemble.info["val"] = cm.to_json();
      ensemble.info["val"]["engine"] = engine_name(clf.engine());
      fmt::print(stderr, "val ({}, {} engine): accuracy {:.2f}%, macro-F1 {:.4f}\n", a->val.c_str(),
                   std::string(engine_name(clf.engine())).c_str(), 100 * cm.accuracy(), cm.macro_f1());
    }
    save_ensemble_file(ensemble, a->out);
    fmt::print(stderr, "wrote {}: {} networks, {} weights\n", a->out.c_str(), ensemble.members.size(),
                 a->float32 ? "float32" : "float16");
  });
}

void add_blend_command(CLI::App& app) {
  struct Args {
    std::string from, to, out;
    double weight = 0.5;
    std::optional<double> weight_output;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "blend", "Blend two single networks of one architecture in weight space: (1 - w) * FROM + w * TO (model/blend.hpp), "
               "e.g. a network and its fine-tune on real photos");
  cmd->add_option("from", a->from, "Network (.mtm) at weight 0")->required()->check(CLI::ExistingFile);
  cmd->add_option("to", a->to, "Network (.mtm) at weight 1")->required()->check(CLI::ExistingFile);
  cmd->add_option("-w,--weight", a->weight,
                  "Weight of TO (at the first layer when --weight-output is given); outside [0, 1] it extrapolates: "
                  "blend FROM BLEND -w 1/w recovers the TO that BLEND was made from at w")
      ->capture_default_str()
      ->check(CLI::Range(-10.0, 10.0));
  cmd->add_option("--weight-output", a->weight_output,
                  "Weight of TO at the last layer; the layers between get weights on the line from --weight to this one, "
                  "by depth (default: --weight everywhere)")
      ->check(CLI::Range(-10.0, 10.0));
  cmd->add_option("-o,--out", a->out, "Blended network (.mtm)")->required();
  cmd->callback([a] {
    const auto name = [](const std::string& p) { return std::filesystem::path(p).filename().string(); };
    const BlendWeights w{a->weight, a->weight_output.value_or(a->weight)};
    save_model_file(blend_models(load_model_file(a->from), load_model_file(a->to), w, name(a->from), name(a->to)), a->out);
    if (w.input == w.output)
      fmt::print(stderr, "wrote {} ({:.2f} x {} + {:.2f} x {})\n", a->out.c_str(), 1 - w.input, a->from.c_str(), w.input,
                 a->to.c_str());
    else
      fmt::print(stderr, "wrote {} ({} toward {}, weight {:.2f} at the first layer to {:.2f} at the last)\n", a->out.c_str(),
                 a->from.c_str(), a->to.c_str(), w.input, w.output);
  });
}

void add_unpack_command(CLI::App& app) {
  struct Args {
    std::string model, out;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "unpack", "Write each network of an ensemble model to its own file (to fine-tune it with train --init, or re-join)");
  cmd->add_option("model", a->model, "Ensemble model file (.mtm)")->required();
  cmd->add_option("-o,--out", a->out, "Folder for network-1.mtm, network-2.mtm, ...")->required();
  cmd->callback([a] {
    const ModelEnsemble ensemble = load_ensemble_file(a->model);
    std::filesystem::create_directories(a->out);
    const auto sources = ensemble.info.value("members", nlohmann::json::array());
    for (std::size_t k = 0; k < ensemble.members.size(); ++k) {
      ModelFile network = ensemble.members[k];
      network.info["unpacked_from"] = std::filesystem::path(a->model).filename().string();
      if (k < sources.size()) network.info["ensemble_member"] = sources[k];
      const auto path = std::filesystem::path(a->out) / ("network-" + std::to_string(k + 1) + ".mtm");
      save_model_file(network, path);
      fmt::print(stderr, "wrote {}{}\n", path.c_str(),
                   k < sources.size() ? (" (" + sources[k].get<std::string>() + ")").c_str() : "");
    }
  });
}

void add_classify_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> images;
    std::string model, tta = "none";
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("classify", "Emotion of already-cropped face images (no detection); one JSON line each");
  cmd->add_option("images", a->images, "Face crops (any size; gray or colour)")->required();
  cmd->add_option("-m,--model", a->model, model_option_help());
  cmd->add_option("--tta", a->tta, "none | flip | ten-crop")->capture_default_str()->check(CLI::IsMember(tta_names()));
  cmd->callback([a] {
    const auto clf = EmotionClassifier::load(model_path(a->model));
    int failures = 0;
    for (const auto& path : a->images) {
      // Each image through the guarded decoder (pixel cap before decoding); one bad image is
      // reported in its own line and never costs the others their results.
      nlohmann::json j{{"image", path}};
      try {
        const vision::DecodedImage img = vision::read_image(path);
        if (img.bgr.cols < kMinFaceSide || img.bgr.rows < kMinFaceSide)
          throw vision::ImageError("too small to show a face (" + std::to_string(img.bgr.cols) + "x" +
                                   std::to_string(img.bgr.rows) + "; at least " + std::to_string(kMinFaceSide) +
                                   " px a side)");
        const auto p = clf.classify(img.bgr, parse_tta(a->tta));
        j["emotion"] = emotion_name(argmax(p));
        for (std::size_t c = 0; c < kNumEmotions; ++c) j["probabilities"][std::string(kEmotionNames[c])] = p[c];
        if (!img.warnings.empty()) j["warnings"] = img.warnings;
      } catch (const std::exception& e) {
        j["error"] = e.what();
        ++failures;
      }
      fmt::print("{}\n", j.dump());
      std::fflush(stdout);  // one line per image as it is read: a reader of the pipe sees progress
    }
    if (failures) throw CliExit(kExitError, std::to_string(failures) + " image(s) could not be read");
  });
}

}  // namespace moodtunes::cli
