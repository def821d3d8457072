#include "vision/pipeline.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "preprocess/preprocess.hpp"
#include "vision/fer_crop.hpp"

namespace moodtunes::vision {
namespace {

// The `reading`-th view of a face for the live pipeline. Ten-crop views go in an order where each
// view is followed by a mirrored one and each corner by the opposite corner, so the few readings
// the smoother's time constant spans are already balanced.
cv::Mat reading_view(const cv::Mat& input, TestTimeAugmentation tta, int reading) {
  static constexpr std::array<std::size_t, 10> kTenCropOrder = {0, 9, 2, 5, 6, 1, 8, 3, 4, 7};
  const std::size_t k = static_cast<std::size_t>(reading) % tta_view_count(tta);
  if (tta != TestTimeAugmentation::kTenCrop) return tta_view(input, tta, k);  // None: the plain view
  CV_Assert(tta_view_count(tta) == kTenCropOrder.size());
  return tta_view(input, tta, kTenCropOrder[k]);
}

cv::Point2d centre(const cv::Rect& r) { return {r.x + r.width / 2.0, r.y + r.height / 2.0}; }

// How far a box moved/rescaled relative to its width.
double box_change(const cv::Rect& a, const cv::Rect& b) {
  if (a.area() == 0) return 1e9;
  const cv::Point2d d = centre(a) - centre(b);
  return std::max(std::hypot(d.x, d.y), double(std::abs(a.width - b.width))) / a.width;
}

void sort_largest_first(std::vector<FaceReading>& faces) {
  std::sort(faces.begin(), faces.end(), [](const FaceReading& a, const FaceReading& b) { return a.box.area() > b.box.area(); });
}

}  // namespace

std::optional<GroupReading> group_reading(const std::vector<FaceReading>& faces, bool use_smoothed) {
  double total = 0;
  std::array<double, kNumEmotions> acc{};
  for (const auto& f : faces) {
    const double w = f.box.area();
    const auto& p = use_smoothed ? f.smoothed : f.probs;
    for (std::size_t c = 0; c < kNumEmotions; ++c) acc[c] += w * p[c];
    total += w;
  }
  if (total <= 0) return std::nullopt;
  GroupReading g;
  for (std::size_t c = 0; c < kNumEmotions; ++c) g.probs[c] = static_cast<float>(acc[c] / total);
  g.emotion = argmax(g.probs);
  return g;
}

// Detection on a copy whose longest side is at most max_side (boxes mapped back), so a 50 MP
// photo costs about what a 2 MP one does; crops still come from the full-resolution image.
// `held_back` (optional) receives the detector's held_back(), mapped back the same way.
std::vector<FaceBox> detect_bounded(FaceDetector& detector, const cv::Mat& gray, int max_side,
                                    std::vector<FaceBox>* held_back = nullptr) {
  const int side = std::max(gray.cols, gray.rows);
  const double s = max_side <= 0 || side <= max_side ? 1.0 : double(max_side) / side;
  std::vector<FaceBox> boxes;
  if (s == 1.0) {
    boxes = detector.detect(gray);
  } else {
    cv::Mat small;
    cv::resize(gray, small, cv::Size(), s, s, cv::INTER_AREA);
    boxes = detector.detect(small);
  }
  const auto to_image = [&](std::vector<FaceBox>& found) {
    if (s == 1.0) return;
    for (auto& b : found)
      b.box = cv::Rect(static_cast<int>(b.box.x / s), static_cast<int>(b.box.y / s), static_cast<int>(b.box.width / s),
                       static_cast<int>(b.box.height / s)) & cv::Rect(0, 0, gray.cols, gray.rows);
  };
  to_image(boxes);
  if (held_back != nullptr) {
    *held_back = detector.held_back();
    to_image(*held_back);
  }
  return boxes;
}

// A tight face crop (a cropped selfie, a face photo cut to the face) leaves the detector no margin
// around the face, and HOG's window needs one: frame it by a plain border and keep only faces that
// fill most of the image, as a crop's face does (a false face would have to be as large as that).
// The framed image is searched at kCropRetryDetectSide anyway and the face fills most of it, so a
// copy of that size is framed, not the photo itself (framing a 50 MP photo took 4x its pixels,
// ~200 MB more; bench/badinput).
TightCropSearch search_as_tight_crop(const cv::Mat& gray, FaceDetector& detector, const TightCropGate& gate) {
  TightCropSearch r;
  cv::Mat image = gray;
  if (2 * std::max(gray.cols, gray.rows) > kCropRetryDetectSide) {
    r.scale = double(kCropRetryDetectSide) / (2 * std::max(gray.cols, gray.rows));
    cv::resize(gray, image, cv::Size(), r.scale, r.scale, cv::INTER_AREA);
  }
  r.offset = std::max(image.cols, image.rows) / 2;
  cv::copyMakeBorder(image, r.framed, r.offset, r.offset, r.offset, r.offset, cv::BORDER_CONSTANT, cv::mean(image));
  r.boxes = detect_bounded(detector, r.framed, kCropRetryDetectSide);
  std::erase_if(r.boxes, [&](const FaceBox& b) {
    const CropPlacement p = crop_placement(r, b.box);
    return p.share < gate.min_share || p.share > gate.max_share || std::abs(p.offset.x) > gate.max_offset ||
           std::abs(p.offset.y) > gate.max_offset;
  });
  return r;
}

CropPlacement crop_placement(const TightCropSearch& search, const cv::Rect& box) {
  const double short_side = std::min(search.framed.cols, search.framed.rows) - 2 * search.offset;
  const cv::Point2d mid(search.framed.cols / 2.0, search.framed.rows / 2.0);
  return {std::min(box.width, box.height) / short_side, (centre(box) - mid) / short_side};
}

FrameReading analyse_image(const cv::Mat& image, FaceDetector& detector, const EmotionClassifier& classifier,
                           const ImageAnalysisOptions& options) {
  const cv::Mat gray = to_gray(image);
  std::vector<FaceBox> held_back;
  auto boxes = detect_bounded(detector, gray, options.max_detect_side, &held_back);
  const std::size_t n_held_back = boxes.empty() ? held_back.size() : 0;
  const bool from_held_back = n_held_back > 0 && options.report_held_back;
  if (from_held_back) boxes = std::move(held_back);
  cv::Mat source = gray;  // what faces are cropped from: the image, or the framed crop
  int offset = 0;
  double scale = 1;  // of `source` against the image
  BoxStyle style = detector.box_style();
  if (boxes.empty() && options.retry_as_crop) {
    TightCropSearch found = search_as_tight_crop(gray, detector);
    if (found.boxes.empty() && !options.lenient_crop_detector.empty()) {
      const auto lenient = make_detector(options.lenient_crop_detector);
      found = search_as_tight_crop(gray, *lenient, kLenientCropGate);
      style = lenient->box_style();
    }
    source = std::move(found.framed), offset = found.offset, scale = found.scale, boxes = std::move(found.boxes);
  }
  std::vector<cv::Mat> inputs;
  inputs.reserve(boxes.size());
  for (const auto& b : boxes)
    inputs.push_back(preprocess_face(crop_fer_face(source, b.box, style, options.level_crops ? b.angle : 0)));
  const auto probs = inputs.empty() ? std::vector<EmotionProbs>{} : classifier.classify_preprocessed(inputs, options.tta);
  FrameReading r;
  r.full_detection = true;
  r.held_back = from_held_back;
  if (boxes.empty()) r.faces_held_back = n_held_back;
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    FaceReading f;
    const cv::Rect in_source = boxes[i].box - cv::Point(offset, offset);
    f.box = cv::Rect(static_cast<int>(in_source.x / scale), static_cast<int>(in_source.y / scale),
                     static_cast<int>(in_source.width / scale), static_cast<int>(in_source.height / scale)) &
            cv::Rect(0, 0, gray.cols, gray.rows);
    f.probs = f.smoothed = probs[i];
    f.emotion = argmax(probs[i]);
    f.classified_now = true;
    r.faces.push_back(f);
  }
  sort_largest_first(r.faces);
  r.group = group_reading(r.faces, false);
  return r;
}

Pipeline::Pipeline(const EmotionClassifier& classifier, PipelineParams params)
    : classifier_(&classifier),
      params_(std::move(params)),
      detector_(make_detector(params_.detector)),
      local_(make_hog_detector({.max_pyramid_levels = params_.local_pyramid_levels})),
      tracker_(params_.tracker, params_.smoothing) {
  // Local search and cropping assume HOG-framed boxes, so full detections must be HOG-framed too.
  if (detector_->box_style() != BoxStyle::kHog)
    throw std::invalid_argument("the live pipeline needs a HOG-framed detector (hog, hog-half, hog-up, two-stage, "
                                "two-stage-small), not " + params_.detector);
  if (params_.full_detect_every < 1 || params_.idle_detect_every < 1 || params_.classify_every < 1)
    throw std::invalid_argument("pipeline: detection and classification intervals must be >= 1 frame");
}

void Pipeline::full_detection(const cv::Mat& gray) {
  const double roll = params_.roll_cycle.empty() ? 0.0 : params_.roll_cycle[full_count_ % params_.roll_cycle.size()];
  const cv::Rect frame(0, 0, gray.cols, gray.rows);
  auto faces = roll == 0 ? detector_->detect(gray) : detect_in_region(*detector_, gray, frame, 1, 1, roll);
  tracker_.update(faces, true);
  last_full_ = frame_index_;
  ++full_count_;
}

// Each track looks for its face near its last box; the nearest candidate continues it.
void Pipeline::local_search(const cv::Mat& gray) {
  std::vector<FaceBox> found;
  for (const auto& t : tracker_.tracks()) {
    const cv::Point2d c = centre(t.box);
    const double side = params_.local_region * t.box.width;
    const cv::Rect region(cv::Point(int(c.x - side / 2), int(c.y - side / 2)), cv::Size(int(side), int(side)));
    auto cands = detect_in_region(*local_, gray, region, t.box.width, params_.local_face_px, t.angle);
    if (cands.empty() && t.angle != 0)  // the face may have levelled out
      cands = detect_in_region(*local_, gray, region, t.box.width, params_.local_face_px, 0);
    const auto best = std::max_element(cands.begin(), cands.end(), [&](const FaceBox& a, const FaceBox& b) {
      return iou(a.box, t.box) < iou(b.box, t.box);
    });
    if (best != cands.end()) found.push_back(*best);
  }
  tracker_.update(found, false);
}

void Pipeline::classify_due(const cv::Mat& gray, double time_s) {
  // New faces (first reading) and faces read before go through the network in separate batches:
  // a first reading may average every view, later ones take the next view each.
  std::vector<Track*> first, later;
  std::vector<cv::Mat> first_inputs, later_inputs;
  for (auto& t : tracker_.tracks()) {
    ++t.frames_since_classified;
    if (t.missed > 0) continue;  // not seen this frame: keep the last reading
    const bool is_due = t.smoother.empty() || t.frames_since_classified >= params_.classify_every ||
                        box_change(t.classified_box, t.box) > params_.reclassify_move;
    if (!is_due) continue;
    const cv::Mat input = preprocess_face(crop_fer_face(gray, t.box, BoxStyle::kHog, params_.level_crops ? t.angle : 0));
    if (t.smoother.empty() && params_.first_reading_all_views) {
      first.push_back(&t);
      first_inputs.push_back(input);
    } else {
      later.push_back(&t);
      later_inputs.push_back(reading_view(input, params_.reading_views, t.readings++));
    }
  }
  auto record = [&](const std::vector<Track*>& tracks, const std::vector<EmotionProbs>& probs) {
    for (std::size_t i = 0; i < tracks.size(); ++i) {
      tracks[i]->last_probs = probs[i];
      tracks[i]->smoother.add(probs[i], time_s);
      tracks[i]->classified_box = tracks[i]->box;
      tracks[i]->frames_since_classified = 0;
    }
  };
  if (!first.empty()) record(first, classifier_->classify_preprocessed(first_inputs, params_.reading_views));
  if (!later.empty()) record(later, classifier_->classify_views(later_inputs));
}

FrameReading Pipeline::reading(bool full) const {
  FrameReading r;
  r.full_detection = full;
  for (const auto& t : tracker_.tracks()) {
    if (t.missed > 0 || t.smoother.empty()) continue;
    FaceReading f;
    f.track_id = t.id;
    f.box = t.box;
    f.probs = t.last_probs;
    f.smoothed = t.smoother.smoothed();
    f.emotion = t.smoother.label();
    f.classified_now = t.frames_since_classified == 0;
    r.faces.push_back(f);
  }
  sort_largest_first(r.faces);
  r.group = group_reading(r.faces, true);
  return r;
}

FrameReading Pipeline::process(const cv::Mat& frame, double time_s) {
  const cv::Mat gray = to_gray(frame);
  const long every = tracker_.tracks().empty() ? params_.idle_detect_every : params_.full_detect_every;
  const bool full = frame_index_ - last_full_ >= every;
  if (full) full_detection(gray);
  else local_search(gray);
  classify_due(gray, time_s);
  ++frame_index_;
  return reading(full);
}

}  // namespace moodtunes::vision
