// Emotion classifier: face crops -> probabilities over the 7 emotions (core/emotion.hpp order).
//
// Usage:
//   auto clf = moodtunes::EmotionClassifier::load("models/moodtunes-fer.mtm");
//   moodtunes::EmotionProbs p = clf.classify(face_bgr);          // any size, gray/BGR/BGRA
//   auto batch = clf.classify_batch({face1, face2});
//
// A model file holds one network or an ensemble of several trained apart (model_file.hpp); an
// ensemble's probabilities are the mean of its networks' (each network one pass per view).
// Inference runs from the .mtm file on XNNPACK (no LibTorch at run time), or on OpenCV's DNN
// module, the reference engine and the fallback where XNNPACK cannot run (InferenceEngine);
// every input goes through preprocess/preprocess.hpp, the same function training used. A model whose
// info holds a `class_bias` (model/class_prior.hpp, fitted by `moodtunes prior`) has every
// reading (each view's, after the networks' mean) weighted by it.
// Contract: faces must be non-empty 8-bit/16-bit/float images with 1, 3 or 4 channels, else
// std::invalid_argument. load() throws ModelError for a missing/corrupt/incompatible model.
// Thread-safety: an instance may be shared between threads; calls on one instance are
// serialised by an internal mutex. For parallel throughput, use one instance per thread.
// cv::setNumThreads (read at each call) sets how many cores one call uses, on either engine.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "core/emotion.hpp"
#include "model/arch.hpp"
#include "model/metrics.hpp"
#include "model/model_file.hpp"

namespace moodtunes {

// None: the face's plain view (preprocess/preprocess.hpp: resampled once by a quarter-pixel shift, as
// training resamples every face). Flip: that view averaged with its mirror image (2 passes).
// TenCrop: four corner and a centre crop, each with its mirror (10 passes): slower, more accurate.
enum class TestTimeAugmentation { kNone, kFlip, kTenCrop };
// Each augmentation with its name on the command line and in JSON.
inline constexpr std::array<std::pair<TestTimeAugmentation, std::string_view>, 3> kTestTimeAugmentations = {
    {{TestTimeAugmentation::kNone, "none"}, {TestTimeAugmentation::kFlip, "flip"}, {TestTimeAugmentation::kTenCrop, "ten-crop"}}};
// A name from kTestTimeAugmentations; std::invalid_argument for anything else.
TestTimeAugmentation parse_tta(std::string_view name);
std::string_view tta_name(TestTimeAugmentation tta);
// All names, in kTestTimeAugmentations order (for command-line choices).
std::vector<std::string> tta_names();
// How many views `tta` averages: 1, 2 or 10.
std::size_t tta_view_count(TestTimeAugmentation tta);
// The views of one preprocessed input (CV_32FC1 kFaceSize x kFaceSize, else
// std::invalid_argument), each the same shape: the plain view, then for Flip its mirror; for TenCrop
// (view, mirror) pairs for the centre, top-left, top-right, bottom-left and bottom-right crops.
// classify_preprocessed(input, tta) is the mean of the views' probabilities.
std::vector<cv::Mat> tta_views(const cv::Mat& preprocessed, TestTimeAugmentation tta);
// tta_views(preprocessed, tta)[index] alone; index < tta_view_count(tta), else std::invalid_argument.
cv::Mat tta_view(const cv::Mat& preprocessed, TestTimeAugmentation tta, std::size_t index);

// The smallest image read as a face crop: below it no face can be seen (FER crops are 48 px),
// so front ends refuse it rather than return a confident reading of noise.
inline constexpr int kMinFaceSide = 16;

// Which library runs the network (bench/model/bench_model times them). Xnnpack and OpenCvDnn
// compute the same logits within float rounding; XNNPACK is about 2x faster at batch 1 on one
// core. XnnpackInt8 runs the convolutions in int8, from the activation ranges that
// calibrate_int8() stored in the model file: faster again, and read val alike for the shipped
// model (models/MODEL_CARD.md).
enum class InferenceEngine { kXnnpackInt8, kXnnpack, kOpenCvDnn };
std::string_view engine_name(InferenceEngine engine);
// The engine for one-shot photos (`detect`, `suggest PHOTO`): the float network. Int8 reads
// within noise of it, not identically, and next to the photo detector (~0.2 s a frame) its
// milliseconds buy nothing; live video, where they do, takes the default.
inline constexpr InferenceEngine kPhotoEngine = InferenceEngine::kXnnpack;
// A name from engine_name(); std::invalid_argument for anything else.
InferenceEngine parse_engine(std::string_view name);
std::vector<std::string> engine_names();

// Measures the activation ranges int8 inference needs by reading `faces` (any crops; their plain
// views, as classify() reads them) through the float network, and stores them in
// model.info["int8"]. Use training faces, not the faces a model is judged on. Throws ModelError
// when XNNPACK cannot run here, std::invalid_argument for no faces or a bad face.
void calibrate_int8(ModelFile& model, const std::vector<cv::Mat>& faces);
// Each member of an ensemble, on the same faces.
void calibrate_int8(ModelEnsemble& ensemble, const std::vector<cv::Mat>& faces);

class EmotionClassifier {
 public:
  // `engine`: by default the fastest that runs this model here (XnnpackInt8 for a calibrated
  // model, else Xnnpack, else OpenCvDnn). An explicit XNNPACK engine falls back to OpenCvDnn on a
  // CPU XNNPACK does not support; XnnpackInt8 on an uncalibrated model throws ModelError.
  // engine() says which one runs.
  static EmotionClassifier load(const std::filesystem::path& mtm,
                                std::optional<InferenceEngine> engine = std::nullopt);
  // The same from a model already in memory (e.g. an ensemble just joined, not yet written);
  // `name` stands for it in error messages.
  static EmotionClassifier from_model(ModelEnsemble model, std::optional<InferenceEngine> engine = std::nullopt,
                                      const std::string& name = "model");
  EmotionClassifier(EmotionClassifier&&) noexcept;
  EmotionClassifier& operator=(EmotionClassifier&&) noexcept;
  ~EmotionClassifier();

  EmotionProbs classify(const cv::Mat& face, TestTimeAugmentation tta = TestTimeAugmentation::kNone) const;
  std::vector<EmotionProbs> classify_batch(const std::vector<cv::Mat>& faces,
                                           TestTimeAugmentation tta = TestTimeAugmentation::kNone) const;
  // Inputs already produced by preprocess_face() (CV_32FC1 kFaceSize x kFaceSize).
  std::vector<EmotionProbs> classify_preprocessed(const std::vector<cv::Mat>& inputs,
                                                  TestTimeAugmentation tta = TestTimeAugmentation::kNone) const;
  // Views already made by tta_view() (CV_32FC1 kFaceSize x kFaceSize, else
  // std::invalid_argument), each read as it is: one probability vector per view.
  std::vector<EmotionProbs> classify_views(const std::vector<cv::Mat>& views) const;

  std::size_t network_count() const;                    // 1, or the ensemble's size
  const ArchSpec& arch(std::size_t network = 0) const;  // network < network_count(), else std::out_of_range
  InferenceEngine engine() const;                       // the same for every network
  // Cost of one view of one face, summed over the networks.
  double gflops() const;
  std::int64_t parameter_count() const;
  // Metadata stored in the model file: a single network's training info, or the ensemble's
  // (its members, val metrics); network_info() is one network's own.
  const nlohmann::json& info() const;
  const nlohmann::json& network_info(std::size_t network) const;

 private:
  struct Impl;
  explicit EmotionClassifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Each face's predicted emotion: the argmax of classify_batch(faces, tta), as an index into kEmotionNames.
std::vector<int> predict(const EmotionClassifier& classifier, const std::vector<cv::Mat>& faces,
                         TestTimeAugmentation tta = TestTimeAugmentation::kNone);

// Each face's predicted emotion (predict()) against its label (an index
// into kEmotionNames); faces and labels of the same length, else std::invalid_argument.
ConfusionMatrix score(const EmotionClassifier& classifier, const std::vector<cv::Mat>& faces,
                      const std::vector<int>& labels, TestTimeAugmentation tta = TestTimeAugmentation::kNone);

}  // namespace moodtunes
