#include "vision/face_detector.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

namespace moodtunes::vision {

// Defined here, not in hog_detector.cpp: that file may be compiled with AVX2, and the error path
// must run on a CPU without it.
void check_hog_cpu_support() {
#ifdef MOODTUNES_HOG_AVX2
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
    throw std::runtime_error(
        "this moodtunes was built for a CPU with AVX2 and FMA (MOODTUNES_HOG_AVX2), which this one lacks: "
        "rebuild it here, or with -DMOODTUNES_HOG_AVX2=OFF");
#endif
}

namespace {

void sort_largest_first(std::vector<FaceBox>& boxes) {
  std::sort(boxes.begin(), boxes.end(), [](const FaceBox& a, const FaceBox& b) { return a.box.area() > b.box.area(); });
}

double iou(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  return inter > 0 ? inter / (a.area() + b.area() - inter) : 0.0;
}

// The square of side `scale` x the box's width centred on the box: where a second detector looks.
cv::Rect square_around(const cv::Rect& box, double scale) {
  const cv::Point2d c(box.x + box.width / 2.0, box.y + box.height / 2.0);
  const double side = scale * box.width;
  return {cv::Point(int(c.x - side / 2), int(c.y - side / 2)), cv::Size(int(side), int(side))};
}

// A number that is the whole of `text` (detector names carry thresholds, scales and angles).
std::optional<double> parse_number(std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t at = text.find(separator, start);
    parts.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

// Most confident first; a box overlapping (IoU > 0.3) or centred inside a kept one is dropped,
// and the kept box's roll becomes the score-weighted mean roll of the boxes it absorbed (a face
// rolled 8 degrees is found by both the 0 and the 12 degree pass; neither angle alone is right).
std::vector<FaceBox> merge(std::vector<FaceBox> all) {
  std::stable_sort(all.begin(), all.end(), [](const FaceBox& x, const FaceBox& y) { return x.score > y.score; });
  std::vector<FaceBox> out;
  std::vector<std::array<double, 2>> roll;  // per kept box: sum(w * angle), sum(w)
  for (const auto& f : all) {
    const cv::Point c(f.box.x + f.box.width / 2, f.box.y + f.box.height / 2);
    const double w = std::max(f.score, 0.01);
    const auto kept = std::find_if(out.begin(), out.end(), [&](const FaceBox& o) { return iou(o.box, f.box) > 0.3 || o.box.contains(c); });
    if (kept == out.end()) {
      out.push_back(f);
      roll.push_back({w * f.angle, w});
    } else {
      auto& r = roll[static_cast<std::size_t>(kept - out.begin())];
      r[0] += w * f.angle;
      r[1] += w;
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i) out[i].angle = roll[i][0] / roll[i][1];
  sort_largest_first(out);
  return out;
}

// Union of several detectors of the same box style (e.g. HOG for large faces + a two-stage
// detector for small ones). With `group_last` (A|group:B) the last part's boxes count only in a
// group: when the union holds two faces or more, or another part found the one face too. The
// small-face stage is for group photos; a lone box of its own on a photo is more often text or
// texture than a face (docs/vision.md, "Small faces in group photos").
class UnionDetector final : public FaceDetector {
 public:
  UnionDetector(std::vector<std::unique_ptr<FaceDetector>> parts, bool group_last)
      : parts_(std::move(parts)), group_last_(group_last) {}
  std::vector<FaceBox> detect(const cv::Mat& gray) override {
    std::vector<FaceBox> all;
    bool others_found = false;
    for (std::size_t i = 0; i < parts_.size(); ++i) {
      for (auto& f : parts_[i]->detect(gray)) all.push_back(f);
      if (i + 1 < parts_.size()) others_found = others_found || !all.empty();
    }
    auto merged = merge(std::move(all));
    held_back_.clear();
    if (group_last_ && merged.size() < 2 && !others_found) std::swap(merged, held_back_);
    return merged;
  }
  std::vector<FaceBox> held_back() const override { return held_back_; }
  BoxStyle box_style() const override { return parts_.front()->box_style(); }
  std::string name() const override {
    std::string n;
    for (std::size_t i = 0; i < parts_.size(); ++i)
      n += (i == 0 ? "" : group_last_ && i + 1 == parts_.size() ? " | group: " : " | ") + parts_[i]->name();
    return n;
  }

 private:
  std::vector<std::unique_ptr<FaceDetector>> parts_;
  bool group_last_;
  std::vector<FaceBox> held_back_;
};

BoxStyle style_of_cascade(const std::string& file) {
  if (file.find("lbp") != std::string::npos) return BoxStyle::kLbp;
  if (file.find("alt2") != std::string::npos) return BoxStyle::kHaarAlt2;
  return BoxStyle::kHaarDefault;
}

class CascadeDetector final : public FaceDetector {
 public:
  explicit CascadeDetector(const CascadeOptions& o) : options_(o), style_(style_of_cascade(o.file)) {
    const auto path = find_cascade(o.file);
    if (!cascade_.load(path.string())) throw std::runtime_error("cannot load cascade " + path.string());
  }

  std::vector<FaceBox> detect(const cv::Mat& gray) override {
    CV_Assert(gray.type() == CV_8UC1 && !gray.empty());
    std::vector<cv::Rect> rects;
    std::vector<int> neighbours;
    const cv::Size min_size(options_.min_size, options_.min_size);
    const cv::Size max_size(options_.max_size, options_.max_size);  // 0x0: no limit
    cascade_.detectMultiScale(gray, rects, neighbours, options_.scale_factor, options_.min_neighbors, 0, min_size, max_size);
    std::vector<FaceBox> out;
    for (std::size_t i = 0; i < rects.size(); ++i)
      out.push_back({rects[i] & cv::Rect(0, 0, gray.cols, gray.rows), i < neighbours.size() ? double(neighbours[i]) : 0.0});
    sort_largest_first(out);
    return out;
  }

  BoxStyle box_style() const override { return style_; }
  std::string name() const override {
    return options_.file + " sf=" + std::to_string(options_.scale_factor).substr(0, 4) +
           " nb=" + std::to_string(options_.min_neighbors) + " min=" + std::to_string(options_.min_size) +
           (options_.max_size > 0 ? " max=" + std::to_string(options_.max_size) : "");
  }

 private:
  CascadeOptions options_;
  BoxStyle style_;
  cv::CascadeClassifier cascade_;
};

// Proposer boxes are verified by HOG on a padded crop around each one; the HOG box replaces the
// proposal (so the output has HOG framing). Overlapping survivors are merged (keep the larger).
class TwoStageDetector final : public FaceDetector {
 public:
  TwoStageDetector(std::unique_ptr<FaceDetector> proposer, double face_px)
      : proposer_(std::move(proposer)), verifier_(make_hog_detector()), face_px_(face_px) {}

  std::vector<FaceBox> detect(const cv::Mat& gray) override {
    std::vector<FaceBox> out;
    for (const auto& p : proposer_->detect(gray)) {
      for (const auto& v : detect_in_region(*verifier_, gray, square_around(p.box, kPad), kHogToProposal * p.box.width, face_px_)) {
        const cv::Point vc(v.box.x + v.box.width / 2, v.box.y + v.box.height / 2);
        if (!p.box.contains(vc)) continue;
        const bool dup = std::any_of(out.begin(), out.end(), [&](const FaceBox& o) { return iou(o.box, v.box) > 0.3; });
        if (!dup) out.push_back(v);
        break;
      }
    }
    sort_largest_first(out);
    return out;
  }

  BoxStyle box_style() const override { return BoxStyle::kHog; }
  std::string name() const override { return "two-stage(" + proposer_->name() + " -> hog)"; }

 private:
  static constexpr double kPad = 1.8;             // crop side / proposal side
  static constexpr double kHogToProposal = 0.85;  // HOG boxes are a bit tighter than Haar's
  std::unique_ptr<FaceDetector> proposer_;
  std::unique_ptr<FaceDetector> verifier_;
  double face_px_;
};

// A permissive detector whose less certain boxes must be confirmed by a second, independent
// detector: boxes scoring >= accept_score pass as they are; the others pass only when the
// confirmer also finds a face there (run on a padded crop around the box, uprighted by the box's
// roll and rescaled so the face is ~100 px). The two families' false positives rarely coincide,
// so a low HOG threshold gains recall without the false positives it brings on its own.
class ConfirmedDetector final : public FaceDetector {
 public:
  // Boxes from rotated passes (|roll| > 1 degree) pass unconfirmed from accept_rolled.
  ConfirmedDetector(std::unique_ptr<FaceDetector> base, std::vector<std::unique_ptr<FaceDetector>> confirmers, double accept_score,
                    double accept_rolled)
      : base_(std::move(base)), confirmers_(std::move(confirmers)), accept_score_(accept_score), accept_rolled_(accept_rolled) {}

  std::vector<FaceBox> detect(const cv::Mat& gray) override {
    std::vector<FaceBox> out;
    for (const auto& f : base_->detect(gray)) {
      const double accept = std::abs(f.angle) > 1 ? accept_rolled_ : accept_score_;
      if (f.score >= accept || confirmed(gray, f)) out.push_back(f);
    }
    return out;  // base order (largest first) is kept
  }

  BoxStyle box_style() const override { return base_->box_style(); }
  std::string name() const override {
    std::string n = base_->name() + " confirmed by ";
    for (std::size_t i = 0; i < confirmers_.size(); ++i) n += (i ? " or " : "") + confirmers_[i]->name();
    return n + fmt::format(" (below {:g}, rolled below {:g})", accept_score_, accept_rolled_);
  }

 private:
  bool confirmed(const cv::Mat& gray, const FaceBox& f) {
    const cv::Point2d c(f.box.x + f.box.width / 2.0, f.box.y + f.box.height / 2.0);
    for (auto& confirmer : confirmers_)
      for (const auto& v : detect_in_region(*confirmer, gray, square_around(f.box, kPad), f.box.width, kWorkFacePx, f.angle)) {
        const cv::Point2d vc(v.box.x + v.box.width / 2.0, v.box.y + v.box.height / 2.0);
        const double ratio = double(v.box.width) / f.box.width;
        if (std::abs(vc.x - c.x) < 0.3 * f.box.width && std::abs(vc.y - c.y) < 0.3 * f.box.width && ratio > 0.6 && ratio < 1.7)
          return true;
      }
    return false;
  }

  static constexpr double kPad = 2.0;          // crop side / box side: room for the confirmer's own framing
  static constexpr double kWorkFacePx = 100;   // above every cascade's minimum window
  std::unique_ptr<FaceDetector> base_;
  std::vector<std::unique_ptr<FaceDetector>> confirmers_;  // any one agreeing confirms
  double accept_score_;
  double accept_rolled_;
};

class RotatingDetector final : public FaceDetector {
 public:
  RotatingDetector(std::unique_ptr<FaceDetector> base, std::vector<double> angles)
      : base_(std::move(base)), angles_(std::move(angles)) {}

  std::vector<FaceBox> detect(const cv::Mat& gray) override {
    std::vector<FaceBox> all = base_->detect(gray);
    const cv::Point2f c(gray.cols / 2.f, gray.rows / 2.f);
    for (double a : angles_) {
      // Rotating the frame by a uprights faces rolled by -a.
      const cv::Mat m = cv::getRotationMatrix2D(c, a, 1.0);
      cv::Mat rotated, inv;
      cv::warpAffine(gray, rotated, m, gray.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
      cv::invertAffineTransform(m, inv);
      for (auto f : base_->detect(rotated)) {
        const cv::Point2d rc(f.box.x + f.box.width / 2.0, f.box.y + f.box.height / 2.0);
        const cv::Point2d oc(inv.at<double>(0, 0) * rc.x + inv.at<double>(0, 1) * rc.y + inv.at<double>(0, 2),
                             inv.at<double>(1, 0) * rc.x + inv.at<double>(1, 1) * rc.y + inv.at<double>(1, 2));
        f.box = cv::Rect(static_cast<int>(std::lround(oc.x - f.box.width / 2.0)),
                         static_cast<int>(std::lround(oc.y - f.box.height / 2.0)), f.box.width, f.box.height);
        f.angle = -a;
        all.push_back(f);
      }
    }
    return merge(std::move(all));
  }

  BoxStyle box_style() const override { return base_->box_style(); }
  std::string name() const override {
    std::string n = base_->name() + " +rot";
    for (const double a : angles_) n += fmt::format(" {:g}", a);
    return n;
  }

 private:
  std::unique_ptr<FaceDetector> base_;
  std::vector<double> angles_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_rotating_detector(std::unique_ptr<FaceDetector> base, std::vector<double> angles) {
  if (!base) throw std::invalid_argument("rotating detector: no base detector");
  return std::make_unique<RotatingDetector>(std::move(base), std::move(angles));
}

std::unique_ptr<FaceDetector> make_cascade_detector(const CascadeOptions& options) {
  return std::make_unique<CascadeDetector>(options);
}

std::unique_ptr<FaceDetector> make_two_stage_detector(std::unique_ptr<FaceDetector> proposer, double verifier_face_px) {
  if (!proposer) throw std::invalid_argument("two-stage detector: no proposer");
  return std::make_unique<TwoStageDetector>(std::move(proposer), verifier_face_px);
}

// The extra roll of the "+rot" passes: dlib's frontal filters cover about +-10 degrees of roll.
constexpr double kRollStep = 12;

std::vector<std::string> detector_names() {
  return {"hog-confirmed-small", "hog-confirmed-wide", "hog-small", "hog-confirmed-zoom", "hog-confirmed", "hog", "hog+rot", "hog-half", "hog-up", "haar", "haar-alt2", "lbp", "two-stage", "two-stage-small"};
}

std::string joined_detector_names(std::string_view separator) {
  std::string joined;
  for (const auto& n : detector_names()) {
    if (!joined.empty()) joined += separator;
    joined += n;
  }
  return joined;
}

// Pyramid levels HOG needs to find faces up to `face_px` in the image it scans: level k holds
// faces of about 80 x (6/5)^k px (dlib's 80 px window, pyramid steps of 5/6), plus one level
// of slack for the box's framing.
int hog_levels_for(double face_px) {
  return std::max(1, static_cast<int>(std::ceil(std::log(std::max(face_px, 80.0) / 80.0) / std::log(1.2))) + 2);
}

// The plain HOG configurations by name: hog, hog@SCALE (frame resized by SCALE), hog-half, hog-up.
std::optional<HogOptions> make_hog_options(std::string_view name) {
  if (name == "hog") return HogOptions{};
  if (name == "hog-half") return HogOptions{.frame_scale = 0.5};
  if (name == "hog-up") return HogOptions{.upsample = 1};
  if (!name.starts_with("hog@")) return std::nullopt;
  // hog@SCALE:MAX_FACE: only the pyramid levels that hold faces up to MAX_FACE px of the input
  // (a small-face pass on an enlarged frame need not rescan the sizes the plain pass covers).
  const auto colon = name.find(':');
  const auto scale = parse_number(name.substr(4, colon == std::string_view::npos ? std::string_view::npos : colon - 4));
  if (!scale || *scale <= 0) return std::nullopt;
  HogOptions options{.frame_scale = *scale};
  if (colon != std::string_view::npos) {
    const auto max_face = parse_number(name.substr(colon + 1));
    if (!max_face || *max_face <= 0) return std::nullopt;
    options.max_pyramid_levels = hog_levels_for(*max_face * *scale);
  }
  return options;
}

// HOG at threshold -0.4 on the frame and its +-12 degree rotations; upright boxes under 0 and
// rotated-pass boxes under 0.3 need the Haar cascade or HOG at threshold 0.3 to find the face
// again on an uprighted crop, whose false positives fall elsewhere (docs/vision.md, "The default").
constexpr std::string_view kHogConfirmed = "hog~-0.4+rot^haar/hog~0.3=0:0.3";
// hog-confirmed plus the same confirmed HOG, upright only, on the frame enlarged 1.2x. dlib's
// pyramid steps by 5/6, so the second pass sees each face at scales the first skips, and a face
// scored just under threshold at one scale often passes at the other.
constexpr std::string_view kHogConfirmedZoom = "hog-confirmed|hog@1.2~-0.4^haar/hog~0.3";
// The large-face part of the photo default: the same confirmed passes at rolls of 0, +-8 and
// +-16 degrees, plus the enlarged frame at 0 and +-12: a face rolled 10-15 degrees and turned is
// found by a pass nearer its roll, for about twice hog-confirmed-zoom's time (recall and time:
// `vision_bench detectors`, docs/vision.md, "The default").
constexpr std::string_view kHogConfirmedWide =
    "hog~-0.4+rot=8:16^haar/hog~0.3=0:0.3|hog@1.2~-0.4+rot^haar/hog~0.3=0:0.3";

// The small-face stage: HOG at threshold -0.45 on the frame enlarged 2x, scanning only the
// pyramid levels of faces up to 80 px (those the passes above miss; the levels of larger faces
// would add ~15% for faces they already find), its boxes under 0.5 confirmed like the
// default's weak boxes. Upright only: rotated passes found 1-2 faces more in 120 for ~3x the
// stage's time. -0.45 trades recall for false boxes between -0.3 (fewer faces: 92% of 360 vs
// 95%) and -0.6 (96%, but twice the false boxes on no-face scenes); docs/experiments.md.
// The two-stage detector (a cascade proposing faces of 30-100 px, HOG verifying each proposal)
// joins the pass: it finds faces the pass scores too low, with no false box more on 1,400 no-face
// scenes (docs/experiments.md, "two-stage small-face proposals"). Larger proposals are left out:
// its HOG box, verified on a downscaled crop, would outscore and re-frame faces the other passes
// found (3 photos of realfaces/val read differently end to end).
constexpr std::string_view kHogSmall = "hog@2:80~-0.45^haar/hog~0.3=0.5:0.5|two-stage-small:100";
// The photo default: hog-confirmed-wide for faces from ~80 px, the small-face stage below that,
// its boxes counted in a group only (UnionDetector's group_last).
constexpr std::string_view kHogConfirmedSmall = "hog-confirmed-wide|group:hog-small";
// Marks the right side of a union whose boxes count in a group only (A|group:B).
constexpr std::string_view kGroupMark = "group:";

std::unique_ptr<FaceDetector> make_detector(std::string_view name) {
  if (name == "hog-small") return make_detector(kHogSmall);
  if (name == "hog-confirmed-small") return make_detector(kHogConfirmedSmall);
  if (name == "hog-confirmed") return make_detector(kHogConfirmed);
  if (name == "hog-confirmed-zoom") return make_detector(kHogConfirmedZoom);
  if (name == "hog-confirmed-wide") return make_detector(kHogConfirmedWide);
  if (const auto bar = name.find('|'); bar != std::string_view::npos) {
    std::string_view right = name.substr(bar + 1);
    const bool grouped = right.starts_with(kGroupMark);
    if (grouped) right.remove_prefix(kGroupMark.size());
    std::vector<std::unique_ptr<FaceDetector>> parts;
    parts.push_back(make_detector(name.substr(0, bar)));
    parts.push_back(make_detector(right));
    if (parts[0]->box_style() != parts[1]->box_style())
      throw std::invalid_argument("detector union '" + std::string(name) + "' mixes box styles");
    return std::make_unique<UnionDetector>(std::move(parts), grouped);
  }
  if (const auto caret = name.rfind('^'); caret != std::string_view::npos) {
    // A^B: A's boxes scoring below 0 need B's agreement; A^B=T: below T; A^B=T:R: below T, or
    // below R for boxes from rotated passes; A^B/C: B's or C's.
    std::string_view confirmer = name.substr(caret + 1);
    double accept = 0, accept_rolled = 0;
    if (const auto eq = confirmer.rfind('='); eq != std::string_view::npos) {
      const auto scores = split(confirmer.substr(eq + 1), ':');
      const auto first = parse_number(scores.front()), second = parse_number(scores.back());
      if (scores.size() > 2 || !first || !second)
        throw std::invalid_argument("detector '" + std::string(name) + "': expected A^B=SCORE or A^B=SCORE:ROLLED_SCORE");
      accept = *first;
      accept_rolled = *second;
      confirmer = confirmer.substr(0, eq);
    }
    std::vector<std::unique_ptr<FaceDetector>> confirmers;
    for (const auto part : split(confirmer, '/')) confirmers.push_back(make_detector(part));
    return std::make_unique<ConfirmedDetector>(make_detector(name.substr(0, caret)), std::move(confirmers), accept, accept_rolled);
  }
  if (name.ends_with("+rot")) return make_rotating_detector(make_detector(name.substr(0, name.size() - 4)), {-kRollStep, kRollStep});
  if (const auto rot = name.rfind("+rot="); rot != std::string_view::npos) {  // +rot=A:B: passes at +-A and +-B degrees
    std::vector<double> angles;
    for (const auto item : split(name.substr(rot + 5), ':')) {
      const auto a = parse_number(item);
      if (!a || *a <= 0 || *a > 45)
        throw std::invalid_argument("detector '" + std::string(name) + "': +rot= takes angles in (0, 45] degrees, e.g. +rot=8:16");
      angles.insert(angles.end(), {-*a, *a});
    }
    return make_rotating_detector(make_detector(name.substr(0, rot)), std::move(angles));
  }
  if (const auto tilde = name.find('~'); tilde != std::string_view::npos && name.starts_with("hog")) {
    // hog~T / hog@S~T: HOG with dlib's adjust_threshold T (measurements: recall vs false positives)
    auto base = make_hog_options(name.substr(0, tilde));
    if (const auto threshold = parse_number(name.substr(tilde + 1)); base && threshold) {
      base->threshold = *threshold;
      return make_hog_detector(*base);
    }
  }
  if (auto hog = make_hog_options(name)) return make_hog_detector(*hog);
  if (name == "haar") return make_cascade_detector({});
  if (name == "haar-alt2")
    return make_cascade_detector({.file = "haarcascade_frontalface_alt2.xml", .min_neighbors = 5, .min_size = 60});
  if (name == "lbp") return make_cascade_detector({.file = "lbpcascade_frontalface_improved.xml"});
  if (name == "two-stage")
    return make_two_stage_detector(
        make_cascade_detector({.file = "haarcascade_frontalface_alt2.xml", .scale_factor = 1.15, .min_neighbors = 3, .min_size = 60}));
  if (constexpr std::string_view small = "two-stage-small"; name.starts_with(small)) {
    // two-stage-small:M: proposals of up to M px only (a stage for small faces leaves larger ones,
    // and their framing, to the detectors for those).
    int max_size = 0;
    if (const auto limit = name.substr(small.size()); !limit.empty()) {
      const auto m = limit.starts_with(':') ? parse_number(limit.substr(1)) : std::nullopt;
      if (!m || *m < 30 || *m > 100000)
        throw std::invalid_argument("detector '" + std::string(name) + "': two-stage-small:M takes a largest proposal M >= 30 px");
      max_size = static_cast<int>(*m);
    }
    return make_two_stage_detector(make_cascade_detector(
        {.file = "haarcascade_frontalface_alt2.xml", .scale_factor = 1.1, .min_neighbors = 2, .min_size = 30, .max_size = max_size}));
  }
  if (name.starts_with(kGroupMark))
    throw std::invalid_argument("detector '" + std::string(name) + "': group: marks the right side of a union, as in A|group:B");
  throw std::invalid_argument("unknown detector '" + std::string(name) + "' (known: " + joined_detector_names(", ") +
                              ", hog@SCALE, hog@SCALE:MAX_FACE_PX)");
}

std::filesystem::path find_cascade(std::string_view file) {
  std::filesystem::path f(file);  // not const: returned by move
  if (f.has_parent_path() && std::filesystem::exists(f)) return f;
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("MOODTUNES_CASCADES"); env && *env) dirs.emplace_back(env);
  for (const char* d : {"/usr/share/opencv4/haarcascades", "/usr/share/opencv4/lbpcascades",
                        "/usr/local/share/opencv4/haarcascades", "/usr/local/share/opencv4/lbpcascades"})
    dirs.emplace_back(d);
  std::string searched;
  for (const auto& d : dirs) {
    if (std::filesystem::exists(d / f.filename())) return d / f.filename();
    searched.append(" ").append(d.string());
  }
  throw std::runtime_error("cascade " + std::string(file) + " not found (install opencv-data or set MOODTUNES_CASCADES); searched:" + searched);
}

std::vector<FaceBox> detect_in_region(FaceDetector& detector, const cv::Mat& gray, const cv::Rect& region,
                                      double expected_face_px, double work_face_px, double angle) {
  const cv::Rect r = region & cv::Rect(0, 0, gray.cols, gray.rows);
  if (r.width < 8 || r.height < 8 || expected_face_px <= 0) return {};
  const double s = work_face_px / expected_face_px;
  cv::Mat crop;
  cv::resize(gray(r), crop, cv::Size(), s, s, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::Mat inv;
  if (angle != 0) {
    const cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(crop.cols / 2.f, crop.rows / 2.f), -angle, 1.0);
    cv::warpAffine(crop, crop, m, crop.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    cv::invertAffineTransform(m, inv);
  }
  std::vector<FaceBox> out = detector.detect(crop);
  for (auto& f : out) {
    cv::Point2d c(f.box.x + f.box.width / 2.0, f.box.y + f.box.height / 2.0);
    if (angle != 0)
      c = {inv.at<double>(0, 0) * c.x + inv.at<double>(0, 1) * c.y + inv.at<double>(0, 2),
           inv.at<double>(1, 0) * c.x + inv.at<double>(1, 1) * c.y + inv.at<double>(1, 2)};
    const double w = f.box.width / s, h = f.box.height / s;
    f.box = cv::Rect(r.x + static_cast<int>(std::lround(c.x / s - w / 2)), r.y + static_cast<int>(std::lround(c.y / s - h / 2)),
                     static_cast<int>(std::lround(w)), static_cast<int>(std::lround(h)));
    f.box &= cv::Rect(0, 0, gray.cols, gray.rows);
    f.angle += angle;
  }
  return out;
}

}  // namespace moodtunes::vision
