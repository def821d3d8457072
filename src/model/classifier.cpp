#include "model/classifier.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "preprocess/preprocess.hpp"
#include "model/class_prior.hpp"
#include "model/model_file.hpp"
#include "model/xnnpack_net.hpp"

namespace moodtunes {

namespace {

// Enum <-> name tables (test-time augmentations, inference engines): one lookup for each.
template <class E, std::size_t N>
using NameTable = std::array<std::pair<E, std::string_view>, N>;

template <class E, std::size_t N>
E parse_name(const NameTable<E, N>& table, std::string_view name, const char* what) {
  std::string known;
  for (const auto& [value, value_name] : table) {
    if (name == value_name) return value;
    known += (known.empty() ? "" : " | ") + std::string(value_name);
  }
  throw std::invalid_argument("unknown " + std::string(what) + " '" + std::string(name) + "' (" + known + ")");
}

template <class E, std::size_t N>
std::optional<std::string_view> name_of(const NameTable<E, N>& table, E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return std::nullopt;
}

template <class E, std::size_t N>
std::vector<std::string> names_of(const NameTable<E, N>& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.emplace_back(entry.second);
  return names;
}

constexpr NameTable<InferenceEngine, 3> kEngineNames = {{{InferenceEngine::kXnnpackInt8, "xnnpack-int8"},
                                                         {InferenceEngine::kXnnpack, "xnnpack"},
                                                         {InferenceEngine::kOpenCvDnn, "opencv-dnn"}}};

cv::Mat tensor_mat(const NamedTensor& t) {
  std::vector<int> dims(t.shape.begin(), t.shape.end());
  if (dims.size() == 1) dims = {1, dims[0]};  // OpenCV Mats are at least 2-D
  cv::Mat m(static_cast<int>(dims.size()), dims.data(), CV_32F);
  std::copy(t.data.begin(), t.data.end(), m.ptr<float>());
  return m;
}

// Builds the inference graph described in arch.hpp: BN is already folded into each conv.
class GraphBuilder {
 public:
  explicit GraphBuilder(const ModelFile& model) : model_(model) {}

  cv::dnn::Net build() {
    int x = relu(conv("stem", 0));
    for (std::size_t s = 0; s < model_.arch.stages.size(); ++s) {
      for (int b = 0; b < model_.arch.stages[s].blocks; ++b) {
        const std::string name = block_name(s, b);
        const int y = conv(name + ".conv2", relu(conv(name + ".conv1", x)));
        const bool has_proj = has_tensor(name + ".proj.weight");
        const int shortcut = has_proj ? conv(name + ".proj", x) : x;
        cv::dnn::LayerParams sum;
        sum.set("operation", "sum");
        const int id = net_.addLayer(name + ".add", "Eltwise", sum);
        net_.connect(y, 0, id, 0);
        net_.connect(shortcut, 0, id, 1);
        x = relu(id);
      }
      cv::dnn::LayerParams pool;
      pool.set("pool", "max");
      pool.set("kernel_size", 2);
      pool.set("stride", 2);
      x = add("pool" + std::to_string(s), "Pooling", pool, x);
    }
    x = relu(fc("fc1", x));
    fc("fc2", x);
    net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return net_;
  }

 private:
  bool has_tensor(const std::string& name) const {
    for (const auto& t : model_.tensors)
      if (t.name == name) return true;
    return false;
  }
  int add(const std::string& name, const std::string& type, cv::dnn::LayerParams& params, int input) {
    const int id = net_.addLayer(name, type, params);
    net_.connect(input, 0, id, 0);
    return id;
  }
  int relu(int input) {
    cv::dnn::LayerParams p;
    return add("relu" + std::to_string(counter_++), "ReLU", p, input);
  }
  int conv(const std::string& name, int input) {
    const auto& w = model_.tensor(name + ".weight");
    cv::dnn::LayerParams p;
    p.set("kernel_size", w.shape.at(2));
    p.set("pad", w.shape.at(2) / 2);
    p.set("stride", 1);
    p.set("num_output", w.shape.at(0));
    p.set("bias_term", true);
    p.blobs = {tensor_mat(w), tensor_mat(model_.tensor(name + ".bias"))};
    return add(name, "Convolution", p, input);
  }
  int fc(const std::string& name, int input) {
    const auto& w = model_.tensor(name + ".weight");
    cv::dnn::LayerParams p;
    p.set("num_output", w.shape.at(0));
    p.set("bias_term", true);
    p.set("axis", 1);
    p.blobs = {tensor_mat(w), tensor_mat(model_.tensor(name + ".bias"))};
    return add(name, "InnerProduct", p, input);
  }

  const ModelFile& model_;
  cv::dnn::Net net_;
  int counter_ = 0;
};

cv::dnn::Net build_net(const ModelFile& model) { return GraphBuilder(model).build(); }

EmotionProbs softmax(const float* logits) {
  EmotionProbs p{};
  const float top = *std::max_element(logits, logits + kNumEmotions);
  float sum = 0;
  for (std::size_t c = 0; c < kNumEmotions; ++c) sum += p[c] = std::exp(logits[c] - top);
  for (auto& v : p) v /= sum;
  return p;
}

// Views per network pass: bounds the views' and the activations' memory (~1 MB per view) however
// many faces a caller passes.
constexpr std::size_t kMaxViewsPerPass = 256;

// The views a test-time augmentation averages over, all kFaceSize x kFaceSize. TenCrop takes the
// four corner and the centre crops of side kFaceSize - kTenCropMargin, scaled back to kFaceSize
// (a 9% zoom and a 2 px shift: inside the training augmentation's range), and their mirrors.
constexpr int kTenCropMargin = 4;
const std::array<cv::Point, 5> kTenCropCorners = {cv::Point(kTenCropMargin / 2, kTenCropMargin / 2), cv::Point(0, 0),
                                                  cv::Point(kTenCropMargin, 0), cv::Point(0, kTenCropMargin),
                                                  cv::Point(kTenCropMargin, kTenCropMargin)};

}  // namespace

std::size_t tta_view_count(TestTimeAugmentation tta) {
  const std::size_t mirrors = tta == TestTimeAugmentation::kNone ? 1 : 2;
  return (tta == TestTimeAugmentation::kTenCrop ? kTenCropCorners.size() : 1) * mirrors;
}

cv::Mat tta_view(const cv::Mat& input, TestTimeAugmentation tta, std::size_t index) {
  if (input.type() != CV_32FC1 || input.rows != kFaceSize || input.cols != kFaceSize)
    throw std::invalid_argument("classify_preprocessed: expected CV_32FC1 48x48 inputs");
  if (index >= tta_view_count(tta)) throw std::invalid_argument("tta_view: no view " + std::to_string(index));
  const bool mirrored = tta != TestTimeAugmentation::kNone && index % 2 == 1;
  cv::Mat view;  // a new buffer for a crop: resizing into a header of `input` would overwrite it
  if (tta == TestTimeAugmentation::kTenCrop) {
    const int side = kFaceSize - kTenCropMargin;
    cv::resize(input(cv::Rect(kTenCropCorners[index / 2], cv::Size(side, side))), view, cv::Size(kFaceSize, kFaceSize), 0, 0,
               cv::INTER_LINEAR);
  } else {
    view = plain_view(input);  // preprocess/preprocess.hpp: resampled once, as training resamples
  }
  if (!mirrored) return view;
  cv::Mat m;
  cv::flip(view, m, 1);
  return m;
}

std::vector<cv::Mat> tta_views(const cv::Mat& input, TestTimeAugmentation tta) {
  std::vector<cv::Mat> views;
  for (std::size_t i = 0; i < tta_view_count(tta); ++i) views.push_back(tta_view(input, tta, i));
  return views;
}

namespace {
// One network of the model, on one engine: exactly one of xnnpack and net (OpenCV DNN) is set.
struct NetworkEngine {
  std::unique_ptr<XnnpackNet> xnnpack;
  cv::dnn::Net net;

  // Logits (rows x kNumEmotions) for a blob of n views (n x 1 x kFaceSize x kFaceSize).
  cv::Mat forward(cv::Mat& blob, int n) {
    if (xnnpack) {
      cv::Mat logits(n, static_cast<int>(kNumEmotions), CV_32F);
      xnnpack->forward(blob.ptr<float>(), static_cast<std::size_t>(n), logits.ptr<float>(), cv::getNumThreads());
      return logits;
    }
    net.setInput(blob);
    return net.forward().clone();
  }
};
}  // namespace

struct EmotionClassifier::Impl {
  ModelEnsemble model;  // the file's metadata; the tensors are dropped once the engines hold them
  nlohmann::json info;  // a single network's own info, or the ensemble's
  mutable std::vector<NetworkEngine> networks;
  mutable std::mutex mutex;
  std::optional<ClassBias> bias;  // info's class_bias (model/class_prior.hpp), applied to every reading

  // Probabilities for a batch of views from tta_views() (continuous CV_32FC1 kFaceSize x
  // kFaceSize): each network's softmax, averaged over the networks.
  std::vector<EmotionProbs> probabilities(const std::vector<cv::Mat>& inputs) const {
    const int n = static_cast<int>(inputs.size());
    const int dims[] = {n, 1, kFaceSize, kFaceSize};
    cv::Mat blob(4, dims, CV_32F);
    for (int i = 0; i < n; ++i) {
      const cv::Mat& in = inputs[static_cast<std::size_t>(i)];
      std::copy(in.ptr<float>(), in.ptr<float>() + kFaceSize * kFaceSize, blob.ptr<float>(i));
    }
    std::vector<EmotionProbs> out(inputs.size(), EmotionProbs{});
    const float share = 1.0f / static_cast<float>(networks.size());
    std::lock_guard lock(mutex);
    for (auto& network : networks) {
      const cv::Mat logits = network.forward(blob, n);
      for (int r = 0; r < n; ++r) {
        const EmotionProbs p = softmax(logits.ptr<float>(r));
        for (std::size_t c = 0; c < kNumEmotions; ++c) out[static_cast<std::size_t>(r)][c] += share * p[c];
      }
    }
    if (bias)
      for (auto& p : out) p = apply_class_bias(p, *bias);
    return out;
  }
};

EmotionClassifier::EmotionClassifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EmotionClassifier::EmotionClassifier(EmotionClassifier&&) noexcept = default;
EmotionClassifier& EmotionClassifier::operator=(EmotionClassifier&&) noexcept = default;
EmotionClassifier::~EmotionClassifier() = default;

namespace {
// The activation ranges calibrate_int8() stored, or nullopt for an uncalibrated model.
std::optional<std::vector<float>> int8_ranges(const ModelFile& model) {
  if (!model.info.contains("int8")) return std::nullopt;
  try {
    return model.info.at("int8").at("ranges").get<std::vector<float>>();
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(std::string("corrupt int8 calibration: ") + e.what());
  }
}
}  // namespace

std::string_view engine_name(InferenceEngine engine) { return name_of(kEngineNames, engine).value_or("xnnpack"); }

InferenceEngine parse_engine(std::string_view name) { return parse_name(kEngineNames, name, "inference engine"); }

std::vector<std::string> engine_names() { return names_of(kEngineNames); }

void calibrate_int8(ModelFile& model, const std::vector<cv::Mat>& faces) {
  if (faces.empty()) throw std::invalid_argument("calibrate_int8: no faces");
  if (!XnnpackNet::available()) throw ModelError("int8 calibration needs XNNPACK, which cannot run on this CPU");
  constexpr std::size_t kViewFloats = static_cast<std::size_t>(kFaceSize) * kFaceSize;
  std::vector<float> views;
  views.reserve(faces.size() * kViewFloats);
  for (const auto& face : faces) {
    const cv::Mat view = tta_view(preprocess_face(face), TestTimeAugmentation::kNone, 0);
    views.insert(views.end(), view.ptr<float>(), view.ptr<float>() + kViewFloats);
  }
  XnnpackNet net(model);
  // The largest activation seen, not a percentile: nothing clips on faces like the calibration's.
  model.info["int8"] = {{"ranges", net.activation_ranges(views.data(), faces.size(), 1.0)},
                        {"faces", faces.size()},
                        {"statistic", "largest |activation| over the faces"}};
}

void calibrate_int8(ModelEnsemble& ensemble, const std::vector<cv::Mat>& faces) {
  for (auto& member : ensemble.members) calibrate_int8(member, faces);
}

EmotionClassifier EmotionClassifier::load(const std::filesystem::path& mtm, std::optional<InferenceEngine> engine) {
  return from_model(load_ensemble_file(mtm), engine, mtm.string());
}

EmotionClassifier EmotionClassifier::from_model(ModelEnsemble model, std::optional<InferenceEngine> engine,
                                                const std::string& name) {
  if (model.members.empty()) throw ModelError(name + ": no networks");
  auto impl = std::make_unique<Impl>();
  impl->model = std::move(model);
  auto& members = impl->model.members;
  impl->info = members.size() == 1 ? members.front().info : impl->model.info;
  if (impl->info.contains("class_bias")) {
    try {
      const auto values = impl->info.at("class_bias").get<std::vector<float>>();
      if (values.size() != kNumEmotions) throw ModelError("expected " + std::to_string(kNumEmotions) + " numbers");
      ClassBias bias{};
      for (std::size_t c = 0; c < kNumEmotions; ++c) {
        if (!std::isfinite(values[c]) || std::abs(values[c]) > 10) throw ModelError("a value outside -10..10");
        bias[c] = values[c];
      }
      impl->bias = bias;
    } catch (const nlohmann::json::exception& e) {
      throw ModelError(name + ": corrupt class_bias: " + e.what());
    } catch (const ModelError& e) {
      throw ModelError(name + ": corrupt class_bias: " + e.what());
    }
  }
  std::vector<std::optional<std::vector<float>>> ranges;
  ranges.reserve(members.size());
  for (const auto& member : members) ranges.push_back(int8_ranges(member));
  const bool calibrated = std::all_of(ranges.begin(), ranges.end(), [](const auto& r) { return r.has_value(); });
  if (engine == InferenceEngine::kXnnpackInt8 && !calibrated)
    throw ModelError(name + ": no int8 calibration in this model (moodtunes quantize adds one)");
  if (!engine) engine = calibrated ? InferenceEngine::kXnnpackInt8 : InferenceEngine::kXnnpack;
  try {
    for (std::size_t i = 0; i < members.size(); ++i) {
      NetworkEngine network;
      if (engine != InferenceEngine::kOpenCvDnn && XnnpackNet::available())
        network.xnnpack = std::make_unique<XnnpackNet>(members[i], engine == InferenceEngine::kXnnpackInt8 ? &*ranges[i] : nullptr);
      else
        network.net = build_net(members[i]);
      impl->networks.push_back(std::move(network));
    }
    // One dry run so shape errors surface at load time, not on the first face.
    impl->probabilities({cv::Mat::zeros(kFaceSize, kFaceSize, CV_32F)});
    // Either engine holds its own copy of the weights; the file's copy would only double memory.
    for (auto& member : members) member.tensors = {};
  } catch (const cv::Exception& e) {
    throw ModelError(name + ": cannot build network: " + e.what());
  } catch (const ModelError& e) {
    throw ModelError(name + ": cannot build network: " + e.what());
  }
  return EmotionClassifier(std::move(impl));
}

std::vector<EmotionProbs> EmotionClassifier::classify_preprocessed(const std::vector<cv::Mat>& inputs,
                                                                   TestTimeAugmentation tta) const {
  std::vector<EmotionProbs> out(inputs.size(), EmotionProbs{});
  // The faces go through the network in chunks whose views (every TTA view of every face) fill at
  // most kMaxViewsPerPass rows. Each face gets the mean of its views' probabilities.
  const std::size_t per_face = tta_view_count(tta);
  const std::size_t faces_per_pass = std::max<std::size_t>(1, kMaxViewsPerPass / per_face);
  std::vector<cv::Mat> views;
  for (std::size_t first = 0; first < inputs.size(); first += faces_per_pass) {
    views.clear();
    for (std::size_t i = first; i < std::min(inputs.size(), first + faces_per_pass); ++i) {
      auto v = tta_views(inputs[i], tta);
      views.insert(views.end(), std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
    }
    const auto probs = classify_views(views);  // one network pass: views.size() <= kMaxViewsPerPass
    for (std::size_t r = 0; r < probs.size(); ++r) {
      auto& acc = out[first + r / per_face];
      for (std::size_t c = 0; c < kNumEmotions; ++c) acc[c] += probs[r][c] / static_cast<float>(per_face);
    }
  }
  return out;
}

std::vector<EmotionProbs> EmotionClassifier::classify_views(const std::vector<cv::Mat>& views) const {
  for (const auto& v : views)
    if (v.type() != CV_32FC1 || v.rows != kFaceSize || v.cols != kFaceSize)
      throw std::invalid_argument("classify_views: expected CV_32FC1 48x48 views");
  std::vector<EmotionProbs> out;
  out.reserve(views.size());
  for (std::size_t first = 0; first < views.size(); first += kMaxViewsPerPass) {
    std::vector<cv::Mat> chunk;
    for (std::size_t i = first; i < std::min(views.size(), first + kMaxViewsPerPass); ++i)
      chunk.push_back(views[i].isContinuous() ? views[i] : views[i].clone());
    for (const auto& p : impl_->probabilities(chunk)) out.push_back(p);
  }
  return out;
}

std::vector<EmotionProbs> EmotionClassifier::classify_batch(const std::vector<cv::Mat>& faces,
                                                            TestTimeAugmentation tta) const {
  std::vector<cv::Mat> inputs;
  inputs.reserve(faces.size());
  for (const auto& f : faces) inputs.push_back(preprocess_face(f));
  return classify_preprocessed(inputs, tta);
}

EmotionProbs EmotionClassifier::classify(const cv::Mat& face, TestTimeAugmentation tta) const {
  return classify_batch({face}, tta).front();
}

TestTimeAugmentation parse_tta(std::string_view name) {
  return parse_name(kTestTimeAugmentations, name, "test-time augmentation");
}

std::string_view tta_name(TestTimeAugmentation tta) { return name_of(kTestTimeAugmentations, tta).value_or("none"); }

std::vector<std::string> tta_names() { return names_of(kTestTimeAugmentations); }

const ArchSpec& EmotionClassifier::arch(std::size_t network) const { return impl_->model.members.at(network).arch; }
std::size_t EmotionClassifier::network_count() const { return impl_->networks.size(); }
InferenceEngine EmotionClassifier::engine() const {
  const auto& first = impl_->networks.front();  // every network runs on the same engine
  if (!first.xnnpack) return InferenceEngine::kOpenCvDnn;
  return first.xnnpack->is_int8() ? InferenceEngine::kXnnpackInt8 : InferenceEngine::kXnnpack;
}
double EmotionClassifier::gflops() const {
  double sum = 0;
  for (const auto& member : impl_->model.members) sum += member.arch.gflops();
  return sum;
}
std::int64_t EmotionClassifier::parameter_count() const {
  std::int64_t sum = 0;
  for (const auto& member : impl_->model.members) sum += member.arch.parameter_count();
  return sum;
}
const nlohmann::json& EmotionClassifier::info() const { return impl_->info; }
const nlohmann::json& EmotionClassifier::network_info(std::size_t network) const {
  return impl_->model.members.at(network).info;
}

ConfusionMatrix score(const EmotionClassifier& classifier, const std::vector<cv::Mat>& faces,
                      const std::vector<int>& labels, TestTimeAugmentation tta) {
  if (faces.size() != labels.size())
    throw std::invalid_argument("score: " + std::to_string(faces.size()) + " faces but " +
                                std::to_string(labels.size()) + " labels");
  ConfusionMatrix cm;
  const auto predicted = predict(classifier, faces, tta);
  for (std::size_t i = 0; i < predicted.size(); ++i) cm.add(labels[i], predicted[i]);
  return cm;
}

std::vector<int> predict(const EmotionClassifier& classifier, const std::vector<cv::Mat>& faces, TestTimeAugmentation tta) {
  std::vector<int> out;
  for (const auto& p : classifier.classify_batch(faces, tta))  // batched in bounded chunks inside
    out.push_back(static_cast<int>(argmax(p)));
  return out;
}

}  // namespace moodtunes
