// vision_bench: the measurements behind docs/vision.md. Prints tables; run it niced, e.g.
//   vision_bench detectors --per-size 50 --no-face 200
//   vision_bench small-faces --scenes 40 --no-face 100
//   vision_bench fit-crop --n 300
//   vision_bench crop-gap --n 1000 --model M.mtm
//   vision_bench real-framing --sides 1.1,1.172,1.25 --dys -0.1,-0.069
//   vision_bench real-align --model M.mtm
//   vision_bench crop-retry --detectors 'off,none,hog~-0.6+rot=15:30'
//   vision_bench fps --frames 600 --model M.mtm
//   vision_bench stability --seconds 60 --model M.mtm
//   vision_bench live-gap --n 500 --model M.mtm
// Faces come from $MOODTUNES_DATA/fer2013 (default: the configured shared data folder).
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "app/model_path.hpp"
#include "preprocess/preprocess.hpp"
#include "model/classifier.hpp"
#include "vision/face_detector.hpp"
#include "vision/fer_crop.hpp"
#include "vision/image_io.hpp"
#include "vision/pipeline.hpp"
#include "support/synth.hpp"
#include "landmarks.hpp"
#include "support/timing.hpp"

using namespace moodtunes;
using namespace moodtunes::vision;
using moodtunes::bench::Clock;
using moodtunes::bench::ms_since;

namespace {

test::FerPool val_pool() { return test::list_fer_faces(test::fer_root(MOODTUNES_DATA_DIR) / "val"); }

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    out.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * (v.size() - 1))];
}

// ---- detectors ------------------------------------------------------------------------------
struct GrayScene {
  cv::Mat gray;
  std::vector<test::PlacedFace> faces;
  int side = 0;
  bool canonical_found = false;
  test::Background background = test::Background::kGradient;  // the face is found upright on a plain background (see below)
};

// "Clearly frontal face": found by BOTH dlib HOG and the Haar default cascade when shown upright,
// 192 px, centred on plain grey. FER holds profiles, occlusions, drawings and cut-off faces;
// this separates "the detector failed on the scene" from "the image holds no frontal face", and
// needing both detectors keeps the definition from favouring either family.
bool canonical_detectable(const cv::Mat& face, std::vector<std::unique_ptr<FaceDetector>>& judges) {
  cv::Mat frame(480, 640, CV_8UC3, cv::Scalar::all(128));
  const auto placed = test::place_face(frame, face, {320, 240}, 192, 0);
  cv::Mat gray;
  cv::cvtColor(frame, gray, cv::COLOR_BGR2GRAY);
  for (auto& j : judges) {
    const auto boxes = j->detect(gray);
    if (std::none_of(boxes.begin(), boxes.end(), [&](const FaceBox& b) { return test::matches(b.box, placed); })) return false;
  }
  return true;
}

int run_detectors(int per_size, int no_face, std::uint64_t seed, const std::string& names, const std::string& sides_csv,
                  double max_angle, bool breakdown, const std::string& dump_dir) {
  const auto pool = val_pool();
  std::vector<int> sides;
  for (const auto& s : split(sides_csv)) sides.push_back(std::stoi(s));
  if (!dump_dir.empty()) std::filesystem::create_directories(dump_dir);
  std::vector<std::unique_ptr<FaceDetector>> judges;
  for (const char* n : {"hog", "haar"}) judges.push_back(make_detector(n));
  std::vector<GrayScene> scenes;
  int index = 0;
  for (int side : sides)
    for (int i = 0; i < per_size; ++i) {
      auto s = test::detection_scene(pool, seed, index++, side, max_angle);
      GrayScene g{cv::Mat(), s.faces, side, false, s.background};
      cv::cvtColor(s.bgr, g.gray, cv::COLOR_BGR2GRAY);
      g.canonical_found = canonical_detectable(cv::imread(s.faces[0].source, cv::IMREAD_GRAYSCALE), judges);
      scenes.push_back(std::move(g));
    }
  for (int i = 0; i < no_face; ++i) {
    auto s = test::detection_scene(pool, seed, index++, 0);
    GrayScene g{cv::Mat(), {}, 0, false};
    cv::cvtColor(s.bgr, g.gray, cv::COLOR_BGR2GRAY);
    scenes.push_back(std::move(g));
  }
  int frontal = 0;
  for (const auto& s : scenes) frontal += s.canonical_found;
  fmt::print("rotation: uniform in +-{:.0f} deg\n", max_angle);
  fmt::print("set: seed {}, {} face scenes ({} sides x {}; {} with a detectable frontal face), {} no-face scenes, 640x480\n",
              static_cast<unsigned long long>(seed), per_size * int(sides.size()), int(sides.size()), per_size, frontal, no_face);
  fmt::print("recall = faces found / frontal faces (all faces in brackets); FP/100 = false boxes per 100 no-face images\n\n");
  fmt::print("{:<24}", "detector");
  for (int side : sides) fmt::print(" {:>11}", ("side " + std::to_string(side)).c_str());
  fmt::print(" {:>11} {:>8} {:>9} {:>9}\n", ">=80 px", "FP/100", "FP(face)", "ms/frame");
  for (const auto& name : split(names)) {
    auto det = make_detector(name);
    std::map<int, std::array<int, 4>> per;  // side -> found frontal, frontal, found all, all
    std::array<std::array<int, 2>, test::kBackgroundKinds> per_bg{};  // frontal >= 80 px: found, total
    std::array<std::array<int, 2>, 3> per_angle{};                     // |angle| 0-5, 5-10, 10-15
    int fp_noface = 0, fp_face = 0;
    double ms = 0;
    for (const auto& s : scenes) {
      const auto t0 = Clock::now();
      const auto boxes = det->detect(s.gray);
      ms += ms_since(t0);
      if (s.faces.empty()) {
        fp_noface += static_cast<int>(boxes.size());
        continue;
      }
      bool found = false;
      for (const auto& b : boxes) {
        if (test::matches(b.box, s.faces[0])) found = true;
        else ++fp_face;
      }
      if (!found && s.canonical_found && s.side >= 80 && !dump_dir.empty()) {  // inspect misses by eye
        cv::Mat shown;
        cv::cvtColor(s.gray, shown, cv::COLOR_GRAY2BGR);
        cv::rectangle(shown, s.faces[0].fer_rect, cv::Scalar(0, 0, 255), 1);
        for (const auto& b : boxes) cv::rectangle(shown, b.box, cv::Scalar(0, 255, 0), 2);
        std::string file_name = name;  // detector names hold '/', '^', '~'
        for (char& c : file_name)
          if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '_';
        cv::imwrite(dump_dir + "/" + file_name + "_side" + std::to_string(s.side) + "_" +
                        std::to_string(static_cast<int>(&s - scenes.data())) + ".png", shown);
      }
      if (s.canonical_found && s.side >= 80) {
        auto& b = per_bg[static_cast<int>(s.background)];
        b[0] += found, b[1] += 1;
        auto& a = per_angle[std::min(2, static_cast<int>(std::abs(s.faces[0].angle_deg) / 5))];
        a[0] += found, a[1] += 1;
      }
      auto& p = per[s.side];
      p[0] += found && s.canonical_found;
      p[1] += s.canonical_found;
      p[2] += found;
      p[3] += 1;
    }
    fmt::print("{:<24}", name.c_str());
    int big_found = 0, big_total = 0;
    for (int side : sides) {
      const auto& p = per[side];
      fmt::print("  {:5.1f}({:3.0f})", 100.0 * p[0] / std::max(1, p[1]), 100.0 * p[2] / std::max(1, p[3]));
      if (side >= 80) big_found += p[0], big_total += p[1];
    }
    fmt::print(" {:10.1f}% {:8.1f} {:9} {:9.1f}\n", 100.0 * big_found / std::max(1, big_total), 100.0 * fp_noface / std::max(1, no_face),
                fp_face, ms / scenes.size());
    if (breakdown) {
      fmt::print("    >=80 px frontal by background:");
      for (int b = 0; b < test::kBackgroundKinds; ++b)
        fmt::print(" {} {}/{}", test::background_name(static_cast<test::Background>(b)), per_bg[b][0], per_bg[b][1]);
      fmt::print("; by |angle| 0-5 {}/{}, 5-10 {}/{}, 10-15 {}/{}\n", per_angle[0][0], per_angle[0][1], per_angle[1][0],
                  per_angle[1][1], per_angle[2][0], per_angle[2][1]);
    }
    std::fflush(stdout);
  }
  return 0;
}

// ---- small-faces -------------------------------------------------------------------------------
// Group photos: real face photos pasted several to a 640x480 scene at face sizes min..max px
// (test::group_scene), plus no-face scenes of the detection set. Per detector: recall by face
// size, false boxes on the face scenes and on the no-face scenes, and time per frame (also as a
// ratio to the first detector, measured in the same run: absolute times vary with the load).
int run_small_faces(int scene_count, int faces_per_scene, double min_side, double max_side, double max_angle, int no_face,
                    std::uint64_t seed, const std::string& names, const std::string& dump_dir, bool all_photos, int photos, bool list) {
  const auto t_locate = Clock::now();
  // Every k-th photo of the sorted list, `photos` in all (all classes in proportion).
  const auto all = test::list_fer_faces(test::realfaces_root(MOODTUNES_DATA_DIR) / "val");
  test::FerPool pool;
  const std::size_t n_photos = photos > 0 ? std::min<std::size_t>(static_cast<std::size_t>(photos), all.files.size()) : all.files.size();
  for (std::size_t k = 0; k < n_photos; ++k) {
    const std::size_t i = k * all.files.size() / n_photos;
    pool.files.push_back(all.files[i]);
    pool.labels.push_back(all.labels[i]);
  }
  auto reference = make_detector("hog"), haar = make_detector("haar");
  const auto located = test::locate_faces(pool, *reference, all_photos ? nullptr : haar.get());
  fmt::print("realfaces val: {} of {} photos; one face found by HOG{} (upright, photo at its own size) in {} ({:.0f} s)\n",
              pool.files.size(), all.files.size(), all_photos ? "" : " and the Haar cascade", located.size(), ms_since(t_locate) / 1000);
  const auto fer = val_pool();  // the no-face scenes are the detection set's (vision_bench detectors)
  std::vector<test::Scene> scenes;
  std::vector<cv::Mat> grays;
  int total_faces = 0;
  for (int i = 0; i < scene_count; ++i) {
    scenes.push_back(test::group_scene(pool, located, seed, i, faces_per_scene, min_side, max_side, max_angle));
    total_faces += static_cast<int>(scenes.back().faces.size());
  }
  for (int i = 0; i < no_face; ++i) scenes.push_back(test::detection_scene(fer, seed, 1000000 + i, 0));
  for (const auto& s : scenes) grays.push_back(to_gray(s.bgr));
  if (!dump_dir.empty()) std::filesystem::create_directories(dump_dir);
  constexpr int kBins = 4;
  const double bin_width = (max_side - min_side) / kBins;
  fmt::print("set: seed {}, {} scenes 640x480 with {} faces of {:.0f}-{:.0f} px (roll +-{:.0f} deg), {} no-face scenes\n\n",
              static_cast<unsigned long long>(seed), scene_count, total_faces, min_side, max_side, max_angle, no_face);
  fmt::print("{:<28}", "detector");
  for (int b = 0; b < kBins; ++b)
    fmt::print(" {:>12}", fmt::format("{:.0f}-{:.0f} px", min_side + b * bin_width, min_side + (b + 1) * bin_width));
  fmt::print(" {:>14} {:>10} {:>8} {:>10} {:>10} {:>7}\n", "recall", "FP(faces)", "FP/100", "ms(faces)", "ms(none)", "ratio");
  double first_ms = 0;
  for (const auto& name : split(names)) {
    auto det = make_detector(name);
    std::array<std::array<int, 2>, kBins> per{};
    int found = 0, fp_face = 0, fp_none = 0;
    double ms_face = 0, ms_none = 0;
    for (std::size_t i = 0; i < scenes.size(); ++i) {
      const auto t0 = Clock::now();
      const auto boxes = det->detect(grays[i]);
      const double ms = ms_since(t0);
      const auto& faces = scenes[i].faces;
      if (faces.empty()) {
        ms_none += ms, fp_none += static_cast<int>(boxes.size());
        if (list)
          for (const auto& b : boxes)
            fmt::print("  false box, scene {} ({}): {},{} {}x{} score {:.2f} roll {:.0f}\n", i,
                         test::background_name(scenes[i].background), b.box.x, b.box.y, b.box.width, b.box.height, b.score, b.angle);
        continue;
      }
      ms_face += ms;
      std::vector<bool> used(boxes.size(), false);
      bool missed = false;
      for (const auto& f : faces) {
        const int bin = std::clamp(static_cast<int>((f.fer_rect.width - min_side) / std::max(bin_width, 1e-9)), 0, kBins - 1);
        ++per[static_cast<std::size_t>(bin)][1];
        for (std::size_t k = 0; k < boxes.size(); ++k)
          if (!used[k] && test::matches(boxes[k].box, f)) {
            used[k] = true, ++found, ++per[static_cast<std::size_t>(bin)][0];
            break;
          }
        const bool this_missed = std::none_of(boxes.begin(), boxes.end(), [&](const FaceBox& b) { return test::matches(b.box, f); });
        if (this_missed && list) {
          double best = 1e9, wr = 0;
          for (const auto& b : boxes) {
            const double d = std::hypot(b.box.x + b.box.width / 2.0 - (f.fer_rect.x + f.fer_rect.width / 2),
                                        b.box.y + b.box.height / 2.0 - (f.fer_rect.y + f.fer_rect.height / 2)) / f.fer_rect.width;
            if (d < best) best = d, wr = b.box.width / f.fer_rect.width;
          }
          fmt::print("  missed, scene {}: face {:.0f} px, roll {:.0f}; nearest box {:.2f} sides away, {:.2f} sides wide; {}\n", i,
                      f.fer_rect.width, f.angle_deg, best, wr, f.source.c_str());
        }
        missed = missed || this_missed;
      }
      for (std::size_t k = 0; k < boxes.size(); ++k)
        if (!used[k] && std::none_of(faces.begin(), faces.end(), [&](const auto& f) { return test::matches(boxes[k].box, f); }))
          ++fp_face;
      if (missed && !dump_dir.empty()) {  // synthetic scenes only: inspect misses by eye
        cv::Mat shown = scenes[i].bgr.clone();
        for (const auto& f : faces) cv::rectangle(shown, f.fer_rect, cv::Scalar(0, 0, 255), 1);
        for (const auto& b : boxes) cv::rectangle(shown, b.box, cv::Scalar(0, 255, 0), 1);
        std::string file_name = name;
        for (char& c : file_name)
          if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '_';
        cv::imwrite(dump_dir + "/" + file_name.substr(0, 60) + "_scene" + std::to_string(i) + ".png", shown);
      }
    }
    const double frame_ms = (ms_face + ms_none) / std::max<std::size_t>(1, scenes.size());
    if (first_ms == 0) first_ms = frame_ms;
    fmt::print("{:<28}", name.size() > 28 ? (name.substr(0, 25) + "...").c_str() : name.c_str());
    for (const auto& p : per) fmt::print(" {:5}/{:<3}{:3.0f}%", p[0], p[1], 100.0 * p[0] / std::max(1, p[1]));
    fmt::print(" {:5}/{:<4}{:4.1f}% {:10} {:8.1f} {:10.1f} {:10.1f} {:6.2f}x\n", found, total_faces, 100.0 * found / std::max(1, total_faces), fp_face,
                100.0 * fp_none / std::max(1, no_face), ms_face / std::max(1, scene_count), ms_none / std::max(1, no_face),
                frame_ms / first_ms);
    std::fflush(stdout);
  }
  return 0;
}

// ---- fit-crop --------------------------------------------------------------------------------
double square_iou(const cv::Rect2d& a, const cv::Rect2d& b) {
  const double inter = (a & b).area();
  return inter / (a.area() + b.area() - inter);
}

int run_fit_crop(int n, std::uint64_t seed, const std::string& names) {
  const auto pool = val_pool();
  fmt::print("FER square relative to the detector box (centre offset dx, dy and side, in box widths);\n"
              "{} val faces, upright, side 100..240 px on synthetic backgrounds; median [p10, p90]\n\n", n);
  for (const auto& name : split(names)) {
    auto det = make_detector(name);
    std::vector<double> dx, dy, sc, hw;
    std::vector<cv::Rect2d> truth, box_squares;
    test::Rng rng(seed);
    for (int i = 0; i < n; ++i) {
      auto s = test::detection_scene(pool, seed, i, rng.uniform_int(100, 240), 0.0);
      cv::Mat gray;
      cv::cvtColor(s.bgr, gray, cv::COLOR_BGR2GRAY);
      const auto& f = s.faces[0];
      for (const auto& b : det->detect(gray)) {
        if (!test::matches(b.box, f)) continue;
        const double w = b.box.width;
        dx.push_back((f.fer_rect.x + f.fer_rect.width / 2 - (b.box.x + w / 2)) / w);
        dy.push_back((f.fer_rect.y + f.fer_rect.height / 2 - (b.box.y + b.box.height / 2.0)) / w);
        sc.push_back(f.fer_rect.width / w);
        hw.push_back(double(b.box.height) / w);
        truth.push_back(f.fer_rect);
        box_squares.push_back(fer_crop_rect(b.box, det->box_style()));
        break;
      }
    }
    fmt::print("{:<12} n={:4}  dx {:+.3f} [{:+.3f}, {:+.3f}]  dy {:+.3f} [{:+.3f}, {:+.3f}]  scale {:.3f} [{:.3f}, {:.3f}]  h/w {:.2f}\n", name.c_str(),
                dx.size(), median(dx), quantile(dx, .1), quantile(dx, .9), median(dy), quantile(dy, .1), quantile(dy, .9),
                median(sc), quantile(sc, .1), quantile(sc, .9), median(hw));
    std::vector<double> box_iou;
    for (std::size_t k = 0; k < truth.size(); ++k) box_iou.push_back(square_iou(box_squares[k], truth[k]));
    fmt::print("{:<12} IoU of fer_framing() square with the true FER square: median {:.3f}, p10 {:.3f}\n", "", median(box_iou),
                quantile(box_iou, .1));
    std::fflush(stdout);
  }
  return 0;
}

// ---- crop-retry ------------------------------------------------------------------------------
// The photo path's tight-crop retry, per candidate lenient detector
// (ImageAnalysisOptions::lenient_crop_detector; "none": the photo detector's retry alone, "off": no
// retry): on realfaces val read as `eval --end-to-end` reads it, the photos the photo detector
// finds no face in that get a face, and read right; on no-face images (the detection set's 640x480
// scenes, their centre squares as a crop-sized image, and the top corners of the realfaces lfw_
// photos, which hold hair, shoulders and background) that the photo detector finds no face in,
// the images the retry gives a face.
int run_crop_retry(const std::string& model, const std::string& candidates, int no_face, std::uint64_t seed, bool list) {
  const auto clf = EmotionClassifier::load(model, kPhotoEngine);  // as `detect` reads photos
  const auto photos = test::list_fer_faces(test::realfaces_root(MOODTUNES_DATA_DIR) / "val");
  auto detector = make_detector(kDefaultDetector);
  auto options_for = [](const std::string& name) {
    ImageAnalysisOptions options;
    options.retry_as_crop = name != "off";
    options.lenient_crop_detector = name == "none" || name == "off" ? "" : name;
    return options;
  };
  auto read = [&](const cv::Mat& bgr, const ImageAnalysisOptions& options) -> std::optional<FaceReading> {
    auto r = analyse_image(bgr, *detector, clf, options);
    if (r.faces.empty()) return std::nullopt;
    return r.faces.front();  // largest first
  };
  // The first pass is the same for every candidate: keep the photos it finds no face in.
  const auto t_first = Clock::now();
  // The lfw_ photos' top corners join the no-face images.
  std::vector<cv::Mat> missed, empty;
  std::vector<int> missed_labels;
  std::vector<std::string> missed_names, kinds;  // kinds: of each no-face image, for --list
  int first_right = 0, corners = 0;
  for (std::size_t i = 0; i < photos.files.size(); ++i) {
    const std::string name = photos.files[i].filename().string();
    cv::Mat bgr = read_image(photos.files[i]).bgr;
    if (name.starts_with("lfw_")) {
      const int side = std::min(bgr.cols, bgr.rows) * 2 / 7;  // clear of the centred face
      for (const cv::Point at : {cv::Point(0, 0), cv::Point(bgr.cols - side, 0)}) {
        empty.push_back(bgr(cv::Rect(at, cv::Size(side, side))).clone());
        kinds.push_back(fmt::format("corner {} {}", name, at.x));
        ++corners;
      }
    }
    const auto face = read(bgr, options_for("off"));
    if (face) first_right += static_cast<int>(face->emotion) == photos.labels[i];
    else missed.push_back(std::move(bgr)), missed_labels.push_back(photos.labels[i]), missed_names.push_back(name);
  }
  const auto fer = val_pool();
  for (int i = 0; i < no_face; ++i) {
    const cv::Mat scene = test::detection_scene(fer, seed, 1000000 + i, 0).bgr;
    empty.push_back(scene), kinds.push_back(fmt::format("scene {}", i));
    const int side = std::min(scene.cols, scene.rows) / 2;
    empty.push_back(scene(cv::Rect((scene.cols - side) / 2, (scene.rows - side) / 2, side, side)).clone());
    kinds.push_back(fmt::format("square {}", i));
  }
  // Only images the photo detector finds no face in reach the retry (each is under kMaxDetectSide,
  // so the photo path detects on it as it is).
  for (std::size_t i = empty.size(); i-- > 0;)
    if (!detector->detect(to_gray(empty[i])).empty()) {
      empty.erase(empty.begin() + static_cast<std::ptrdiff_t>(i));
      kinds.erase(kinds.begin() + static_cast<std::ptrdiff_t>(i));
    }
  const int n = static_cast<int>(photos.files.size());
  fmt::print("realfaces val: {} photos; the default photo detector finds a face in {} and reads {} right ({:.2f}%) "
             "({:.0f} s)\nno-face images: {} scenes 640x480, their {} centre squares, {} lfw_ corners; {} with no face found "
             "by the photo detector, which the retry reads\n\n",
             n, n - static_cast<int>(missed.size()), first_right, 100.0 * first_right / n, ms_since(t_first) / 1000, no_face,
             no_face, corners, empty.size());
  fmt::print("{:<44} {:>14} {:>10} {:>14} {:>12} {:>12}\n", "lenient detector", "found (missed)", "read right", "end to end",
             "ms a retry", "false faces");
  for (const auto& name : split(candidates)) {
    const auto options = options_for(name);
    int found = 0, right = 0, false_faces = 0;
    std::vector<int> read_right(missed.size(), -1);  // per missed photo: -1 no face, else 0/1
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < missed.size(); ++i)
      if (const auto face = read(missed[i], options)) {
        ++found;
        read_right[i] = static_cast<int>(face->emotion) == missed_labels[i];
        right += read_right[i];
      }
    const double ms = ms_since(t0) / std::max<std::size_t>(1, missed.size());
    for (const auto& img : empty) false_faces += read(img, options).has_value();
    if (list && !options.lenient_crop_detector.empty()) {
      // Every box the lenient detector finds, ungated, placed as the gate sees it (crop_placement):
      // share, centre offset, score and roll; for a photo, whether the photo path read it right.
      auto lenient = make_detector(options.lenient_crop_detector);
      auto print_boxes = [&](const std::string& what, const cv::Mat& bgr, int right_or_none) {
        const auto all = search_as_tight_crop(to_gray(bgr), *lenient, {.min_share = 0});
        for (const auto& b : all.boxes) {
          const CropPlacement p = crop_placement(all, b.box);
          fmt::print("  box {} | share {:.3f} dx {:.3f} dy {:.3f} score {:.3f} roll {:.0f} right {}\n", what, p.share,
                     p.offset.x, p.offset.y, b.score, b.angle, right_or_none);
        }
      };
      for (std::size_t i = 0; i < empty.size(); ++i) print_boxes(kinds[i], empty[i], -1);
      for (std::size_t i = 0; i < missed.size(); ++i) print_boxes("photo " + missed_names[i], missed[i], read_right[i]);
    }
    fmt::print("{:<44} {:>6}/{:<7} {:>10} {:>13.2f}% {:>12.0f} {:>6}/{:<5}\n", name, found, missed.size(), right,
               100.0 * (first_right + right) / n, ms, false_faces, empty.size());
    std::fflush(stdout);
  }
  return 0;
}

// ---- realfaces val, end to end (real-framing, real-align) ------------------------------------
// Each realfaces val photo read by the photo path (`eval --end-to-end`'s detection): `read` gets
// the photo's label, its gray image and the box of the face the photo path reads, for each photo
// with a face. Returns how many photos there were and how many had a face.
struct RealFacesPass {
  int photos = 0, found = 0;
};
RealFacesPass for_each_real_face(const EmotionClassifier& clf, FaceDetector& detector,
                                 const std::function<void(int label, const cv::Mat& gray, const cv::Rect& box)>& read) {
  const auto photos = test::list_fer_faces(test::realfaces_root(MOODTUNES_DATA_DIR) / "val");
  RealFacesPass pass{static_cast<int>(photos.files.size()), 0};
  for (std::size_t i = 0; i < photos.files.size(); ++i) {
    const cv::Mat bgr = read_image(photos.files[i]).bgr;
    const auto r = analyse_image(bgr, detector, clf, {.tta = TestTimeAugmentation::kNone});
    if (r.faces.empty()) continue;
    ++pass.found;
    read(photos.labels[i], to_gray(bgr), r.faces.front().box);
  }
  return pass;
}

// ---- real-framing ----------------------------------------------------------------------------
// The FER crop's framing (fer_framing(): centre offset dy and side, in box widths) re-measured on
// real photos: each realfaces val photo's largest face as the photo path finds it, cropped with
// each framing on a grid around the fitted one and read with one view; accuracy per framing.
int run_real_framing(const std::string& model, const std::string& scales_csv, const std::string& dys_csv, TestTimeAugmentation tta) {
  const auto clf = EmotionClassifier::load(model, kPhotoEngine);
  auto detector = make_detector(kDefaultDetector);
  std::vector<double> scales, dys;
  for (const auto& v : split(scales_csv)) scales.push_back(std::stod(v));
  for (const auto& v : split(dys_csv)) dys.push_back(std::stod(v));
  const FerFraming fitted = fer_framing(detector->box_style());
  std::vector<std::vector<int>> right(scales.size(), std::vector<int>(dys.size(), 0));
  const RealFacesPass pass = for_each_real_face(clf, *detector, [&](int label, const cv::Mat& gray, const cv::Rect& box) {
    std::vector<cv::Mat> inputs;
    for (const double sc : scales)
      for (const double dy : dys)
        inputs.push_back(preprocess_face(crop_square(gray, fer_crop_rect(box, FerFraming{fitted.dx, dy, sc}))));
    const auto probs = clf.classify_preprocessed(inputs, tta);
    for (std::size_t a = 0; a < scales.size(); ++a)
      for (std::size_t b = 0; b < dys.size(); ++b) right[a][b] += static_cast<int>(argmax(probs[a * dys.size() + b])) == label;
  });
  const int n = pass.photos;
  fmt::print("realfaces val: {} photos, a face found in {}; accuracy over all photos (no face = wrong), {} view(s);\n"
             "fitted framing (FER faces): dy {:.3f}, side {:.3f}\n\n{:>8}", n, pass.found, tta_name(tta), fitted.dy, fitted.scale, "side\\dy");
  for (const double dy : dys) fmt::print(" {:>8.3f}", dy);
  fmt::print("\n");
  for (std::size_t a = 0; a < scales.size(); ++a) {
    fmt::print("{:>8.3f}", scales[a]);
    for (std::size_t b = 0; b < dys.size(); ++b) fmt::print(" {:>7.2f}%", 100.0 * right[a][b] / n);
    fmt::print("\n");
  }
  return 0;
}

// ---- real-align: landmark levelling re-measured on real photos ------------------------------
// Each realfaces val photo read as the photo path reads it (its face box), then its FER crop
// taken three ways: as shipped (the box's own roll is 0 for upright passes), levelled by the roll
// of the eyes from dlib's 68 landmarks, and levelled the other way (a check of the sign: it
// doubles the roll). Only levelled when the eyes' roll is at least --min-roll degrees.
int run_real_align(const std::string& model, double min_roll) {
  const auto clf = EmotionClassifier::load(model, kPhotoEngine);
  auto detector = make_detector(kDefaultDetector);
  constexpr int kWays = 3;
  const std::array<const char*, kWays> names{"as shipped (no levelling)", "levelled by the eyes' roll",
                                             "levelled the wrong way (sign check)"};
  std::array<std::array<int, kWays>, 2> right{};  // [plain, ten-crop][way]
  std::vector<double> rolls, ms;
  int levelled = 0;
  const RealFacesPass pass = for_each_real_face(clf, *detector, [&](int label, const cv::Mat& gray, const cv::Rect& box) {
    const auto t0 = Clock::now();
    const double roll = bench::eye_roll_degrees(gray, box);
    ms.push_back(ms_since(t0));
    rolls.push_back(std::abs(roll));
    const double used = std::abs(roll) >= min_roll ? roll : 0.0;
    levelled += used != 0;
    std::vector<cv::Mat> inputs;
    for (const double a : {0.0, used, -used}) inputs.push_back(preprocess_face(crop_fer_face(gray, box, detector->box_style(), a)));
    for (int v = 0; v < 2; ++v) {
      const auto probs = clf.classify_preprocessed(inputs, v == 0 ? TestTimeAugmentation::kNone : TestTimeAugmentation::kTenCrop);
      for (int w = 0; w < kWays; ++w)
        right[static_cast<std::size_t>(v)][static_cast<std::size_t>(w)] += static_cast<int>(argmax(probs[static_cast<std::size_t>(w)])) == label;
    }
  });
  const int n = pass.photos;
  fmt::print("realfaces val: {} photos, a face found in {}; accuracy over all photos (no face = wrong)\n"
             "eyes' roll |deg|: median {:.1f}, p90 {:.1f}, max {:.1f}; levelled (roll >= {:.1f} deg): {} faces; "
             "landmarks {:.2f} ms per face (median)\n\n{:<40} {:>10} {:>10}\n",
             n, pass.found, quantile(rolls, .5), quantile(rolls, .9), quantile(rolls, 1), min_roll, levelled, quantile(ms, .5),
             "crop", "plain", "ten-crop");
  for (int w = 0; w < kWays; ++w)
    fmt::print("{:<40} {:>9.2f}% {:>9.2f}%\n", names[static_cast<std::size_t>(w)], 100.0 * right[0][static_cast<std::size_t>(w)] / n,
               100.0 * right[1][static_cast<std::size_t>(w)] / n);
  return 0;
}

// ---- crop-gap --------------------------------------------------------------------------------
int run_crop_gap(int n, std::uint64_t seed, const std::string& model, const std::string& detector, double max_angle,
                 bool level, TestTimeAugmentation tta) {
  const auto clf = EmotionClassifier::load(model, kPhotoEngine);  // as `detect` reads photos
  const auto pool = val_pool();
  auto det = make_detector(detector);
  auto top = [&](const cv::Mat& preprocessed) {
    return static_cast<int>(argmax(clf.classify_preprocessed({preprocessed}, tta).front()));
  };
  // A fixed subset of val spread evenly over the sorted list (so every class is in proportion).
  n = std::min<int>(n, static_cast<int>(pool.files.size()));
  int total = 0, raw_ok = 0, found = 0, frame_ok_found = 0, raw_ok_found = 0, oracle_ok_found = 0;
  test::Rng rng(seed);
  for (int k = 0; k < n; ++k, ++total) {
    const std::size_t i = static_cast<std::size_t>(k) * pool.files.size() / static_cast<std::size_t>(n);
    const cv::Mat face = pool.load(i);
    const int label = pool.labels[i];
    const bool raw = top(preprocess_face(face)) == label;
    raw_ok += raw;
    cv::Mat frame = test::make_background({640, 480}, static_cast<test::Background>(rng.uniform_int(0, 3)), rng);
    const double side = rng.uniform(100, 240);
    const cv::Point2d c(rng.uniform(side * .72, 640 - side * .72), rng.uniform(side * .72, 480 - side * .72));
    const auto placed = test::place_face(frame, face, c, side, rng.uniform(-max_angle, max_angle));
    const auto reading = analyse_image(frame, *det, clf, {kMaxDetectSide, level, tta});
    const auto hit = std::find_if(reading.faces.begin(), reading.faces.end(),
                                  [&](const FaceReading& f) { return test::matches(f.box, placed); });
    if (hit == reading.faces.end()) continue;
    ++found;
    const bool ok = static_cast<int>(hit->emotion) == label;
    frame_ok_found += ok;
    raw_ok_found += raw;
    // The true FER square cut from the frame: what is lost to resampling alone, not to framing.
    if (max_angle == 0) oracle_ok_found += top(preprocess_face(crop_square(to_gray(frame), placed.fer_rect))) == label;
  }
  const double f = std::max(1, found);
  fmt::print("crop gap ({}, {} val faces, side 100..240, rotation up to {:.0f} deg{}, TTA {})\n", det->name().c_str(), total,
              max_angle, level ? ", crops levelled by the detected roll" : "", std::string(tta_name(tta)).c_str());
  fmt::print("  raw 48x48 val crops:                 {:.2f}%\n", 100.0 * raw_ok / total);
  fmt::print("  detect -> crop -> classify in frames: {:.2f}% (misses count as wrong; {}/{} found)\n", 100.0 * frame_ok_found / total,
              found, total);
  fmt::print("  on the {} found faces: raw {:.2f}%  in frames {:.2f}%  gap {:.2f} points\n", found, 100.0 * raw_ok_found / f,
              100.0 * frame_ok_found / f, 100.0 * (raw_ok_found - frame_ok_found) / f);
  if (max_angle == 0)
    fmt::print("  true FER square cut from the frame (resampling only): {:.2f}%, gap {:.2f} points\n", 100.0 * oracle_ok_found / f,
                100.0 * (raw_ok_found - oracle_ok_found) / f);
  return 0;
}

// ---- live-gap ----------------------------------------------------------------------------------
// The live pipeline's smoothed label on val faces in short clips, against the raw val crops: what
// crop-gap measures for a photo, for a face in front of a camera. Each face gets its own 30 fps
// clip (placed like crop-gap's, then drifting a few pixels, zooming a few percent and changing
// brightness) and a fresh pipeline.
int run_live_gap(int n, int frames_per_clip, std::uint64_t seed, const std::string& model, const PipelineParams& params) {
  const auto clf = EmotionClassifier::load(model);
  const auto pool = val_pool();
  n = std::min<int>(n, static_cast<int>(pool.files.size()));
  const int settle = std::min(30, frames_per_clip - 1);  // frames after which the label counts
  int total = 0, raw_ok = 0, found = 0, raw_ok_found = 0, raw_views_ok_found = 0, last_ok_found = 0;
  long counted_frames = 0, ok_frames = 0;
  test::Rng rng(seed);
  for (int k = 0; k < n; ++k, ++total) {
    const std::size_t i = static_cast<std::size_t>(k) * pool.files.size() / static_cast<std::size_t>(n);
    const cv::Mat face = pool.load(i);
    const auto label = static_cast<Emotion>(pool.labels[i]);
    const cv::Mat raw_input = preprocess_face(face);
    const bool raw = argmax(clf.classify_preprocessed({raw_input}).front()) == label;
    raw_ok += raw;
    const cv::Mat bg = test::make_background({640, 480}, static_cast<test::Background>(rng.uniform_int(0, 3)), rng);
    const double side = rng.uniform(100, 220);
    const cv::Point2d c(rng.uniform(side * .75, 640 - side * .75), rng.uniform(side * .75, 480 - side * .75));
    const double phase = rng.uniform(0, 6.28);
    Pipeline pipe(clf, params);
    std::optional<Emotion> last;
    for (int f = 0; f < frames_per_clip; ++f) {
      const double t = f / 30.0;
      cv::Mat frame;
      bg.convertTo(frame, -1, 1.0 + 0.08 * std::sin(t * 2 + phase), 0);
      test::place_face(frame, face, {c.x + 8 * std::sin(t * 1.5 + phase), c.y + 5 * std::sin(t * 1.1 + phase)},
                        side * (1 + 0.04 * std::sin(t * 0.9 + phase)), 3 * std::sin(t * 1.3 + phase));
      const auto r = pipe.process(frame, t);
      const auto hit = std::find_if(r.faces.begin(), r.faces.end(), [&](const FaceReading& fr) {
        return iou(fr.box, cv::Rect(c.x - side / 2, c.y - side / 2, side, side)) > 0.2;
      });
      if (hit == r.faces.end()) continue;
      last = hit->emotion;
      if (f >= settle) ++counted_frames, ok_frames += hit->emotion == label;
    }
    if (!last) continue;
    ++found;
    raw_ok_found += raw;
    raw_views_ok_found += argmax(clf.classify_preprocessed({raw_input}, params.reading_views).front()) == label;
    last_ok_found += *last == label;
  }
  const double fd = std::max(1, found);
  fmt::print("live gap ({} val faces, {}-frame clips at 30 fps, side 100..220, reading views {}, first reading {})\n", total,
              frames_per_clip, std::string(tta_name(params.reading_views)).c_str(),
              params.first_reading_all_views ? "all views" : "one view");
  fmt::print("  raw 48x48 val crops: {:.2f}%; faces tracked: {}/{}\n", 100.0 * raw_ok / total, found, total);
  fmt::print("  on the {} tracked faces: raw {:.2f}%  smoothed label at the clip's end {:.2f}%  gap {:.2f} points\n", found,
              100.0 * raw_ok_found / fd, 100.0 * last_ok_found / fd, 100.0 * (raw_ok_found - last_ok_found) / fd);
  fmt::print("  smoothed label right in {:.2f}% of the {} frames after the first {}\n",
              100.0 * ok_frames / std::max(1L, counted_frames), counted_frames, settle);
  fmt::print("  raw crops with all the reading views averaged ({}): {:.2f}%; gap to the label at the end {:.2f} points\n",
              std::string(tta_name(params.reading_views)).c_str(), 100.0 * raw_views_ok_found / fd,
              100.0 * (raw_views_ok_found - last_ok_found) / fd);
  return 0;
}

// ---- fps -------------------------------------------------------------------------------------
// A 640x480 sequence: one val face drifting slowly over a cluttered background.
std::vector<cv::Mat> moving_face_frames(int count, std::uint64_t seed) {
  const auto pool = val_pool();
  test::Rng rng(seed);
  const cv::Mat bg = test::make_background({640, 480}, test::Background::kClutter, rng);
  const cv::Mat face = pool.load(pool.files.size() / 3);
  std::vector<cv::Mat> frames;
  for (int i = 0; i < count; ++i) {
    cv::Mat f = bg.clone();
    const double t = i / 30.0;
    test::place_face(f, face, {320 + 120 * std::sin(t * 0.8), 240 + 50 * std::sin(t * 1.3)}, 170 + 20 * std::sin(t * 0.5), 5 * std::sin(t));
    frames.push_back(f);
  }
  return frames;
}

// pipeline_only: the pipeline's loop alone (no baseline, no cold frames), for a profiler.
int run_fps(int frames_n, const std::string& model, std::uint64_t seed, const PipelineParams& params, bool pipeline_only) {
  cv::setNumThreads(1);
  const auto clf = EmotionClassifier::load(model);
  const auto frames = moving_face_frames(frames_n, seed);
  fmt::print("640x480, one face, {} frames, one thread (cv::setNumThreads(1))\n", frames_n);

  // Baseline: the seed's loop, Haar cascade at default parameters on every frame + classify every face.
  auto haar = make_detector("haar");
  auto t0 = Clock::now();
  int haar_faces = 0;
  if (!pipeline_only) {
    for (const auto& f : frames) {
      cv::Mat gray;
      cv::cvtColor(f, gray, cv::COLOR_BGR2GRAY);
      for (const auto& b : haar->detect(gray)) {
        clf.classify(gray(b.box));
        ++haar_faces;
      }
    }
  }
  const double haar_ms = ms_since(t0) / frames_n;

  Pipeline pipe(clf, params);
  t0 = Clock::now();
  int tracked = 0, ids = 0, last_id = -1;
  for (int i = 0; i < frames_n; ++i) {
    const auto r = pipe.process(frames[i], i / 30.0);
    tracked += !r.faces.empty();
    if (!r.faces.empty() && r.faces[0].track_id != last_id) ++ids, last_id = r.faces[0].track_id;
  }
  const double pipe_ms = ms_since(t0) / frames_n;
  auto print_pipeline = [&] {
    fmt::print("  moodtunes pipeline (track+schedule):  {:7.2f} ms/frame  {:7.1f} FPS  (face in {}/{} frames, {} track id(s))\n",
                pipe_ms, 1000 / pipe_ms, tracked, frames_n, ids);
  };
  if (pipeline_only) {
    print_pipeline();
    return 0;
  }

  // Cold frame: a full detection on a frame never seen, and a fresh pipeline's first frame
  // (full detection + classification).
  std::vector<double> cold_hog, cold_rot, cold_frame;
  auto hog = make_detector("hog");
  auto rot = make_detector(std::string(kDefaultDetector));
  for (int i = 0; i < 10; ++i) {
    const auto& f = frames[static_cast<std::size_t>(i * 37) % frames.size()];
    cv::Mat gray;
    cv::cvtColor(f, gray, cv::COLOR_BGR2GRAY);
    auto t1 = Clock::now();
    hog->detect(gray);
    cold_hog.push_back(ms_since(t1));
    t1 = Clock::now();
    rot->detect(gray);
    cold_rot.push_back(ms_since(t1));
    Pipeline fresh(clf, params);
    t1 = Clock::now();
    fresh.process(f, 0);
    cold_frame.push_back(ms_since(t1));
  }
  fmt::print("  haar default every frame + classify:  {:7.2f} ms/frame  {:7.1f} FPS  ({} face boxes)\n", haar_ms, 1000 / haar_ms, haar_faces);
  fmt::print("  schedule: full detection every {} frames, classify every {}, local search at {:.0f} px over {} pyramid levels\n",
              params.full_detect_every, params.classify_every, params.local_face_px,
              params.local_pyramid_levels ? std::to_string(params.local_pyramid_levels).c_str() : "all");
  print_pipeline();
  fmt::print("  speed-up vs haar default: {:.1f}x\n", haar_ms / pipe_ms);
  fmt::print("  cold frame (median of 10): full detection hog {:.1f} ms, {} (detect's default) {:.1f} ms;\n"
              "    first live-pipeline frame incl. colour conversion and classification {:.1f} ms\n",
              median(cold_hog), std::string(kDefaultDetector).c_str(), median(cold_rot), median(cold_frame));
  return 0;
}

// ---- stability -------------------------------------------------------------------------------
// One classification the pipeline fed a track's smoother: replaying these through another
// EmotionSmoother gives exactly the labels the pipeline would have shown with its parameters.
struct SmootherInput {
  int frame;
  double time_s;
  int track_id;
  EmotionProbs probs;
};

struct LabelStats {
  int held_changes = 0;
  int follow_frames = -1;  // frames after the switch until the label showed the new face's class
};

LabelStats replay_smoothing(const std::vector<SmootherInput>& inputs, const SmoothingParams& params, int held_frames,
                            Emotion next_label) {
  LabelStats s;
  EmotionSmoother smoother(params);
  int id = -1;
  std::optional<Emotion> last;
  for (const auto& in : inputs) {
    if (in.track_id != id) smoother = EmotionSmoother(params), id = in.track_id;
    smoother.add(in.probs, in.time_s);
    if (in.frame < held_frames) {
      if (last && *last != smoother.label()) ++s.held_changes;
      last = smoother.label();
    } else if (s.follow_frames < 0 && smoother.label() == next_label) {
      s.follow_frames = in.frame - held_frames;
    }
  }
  return s;
}

// How soon the label follows a real change: a held face whose reading is one val face's (the
// smoother settled on it) is replaced by a face read as another val face with a different top
// class; readings come every `reading_interval_s`, as in the live pipeline. Over `pairs` random
// pairs of val faces (so each old label is drawn as often as the model reads it): the shares of
// changes the label followed within 1 s and 2 s, and never (not within 10 s).
struct FollowShares {
  double within_1s = 0, within_2s = 0, never = 0;
  // Clear changes: the new face's reading puts its top class ahead of the old label's class by at
  // least kClearLead (twice the default margin); their share of all pairs, and of those, the
  // share followed within 1 s.
  double clear = 0, clear_within_1s = 0;
};
constexpr double kClearLead = 0.4;
constexpr int kFollowPairs = 20000;

FollowShares follow_shares(const std::vector<EmotionProbs>& readings, const SmoothingParams& params,
                           double reading_interval_s, std::uint64_t seed, int pairs = kFollowPairs) {
  FollowShares f;
  if (readings.size() < 2) return f;
  test::Rng rng(seed);
  const int last = static_cast<int>(readings.size()) - 1;
  int drawn = 0;
  while (drawn < pairs) {
    const auto& before = readings[static_cast<std::size_t>(rng.uniform_int(0, last))];
    const auto& after = readings[static_cast<std::size_t>(rng.uniform_int(0, last))];
    const Emotion old_label = argmax(before), target = argmax(after);
    if (old_label == target) continue;
    ++drawn;
    EmotionSmoother smoother(params);
    double t = 0;
    for (; t < 2; t += reading_interval_s) smoother.add(before, t);
    const double change = t - reading_interval_s / 2;  // the new face appears between two readings
    for (; smoother.label() != target && t < change + 10; t += reading_interval_s) smoother.add(after, t);
    const double delay = t - reading_interval_s - change;  // time of the reading that moved the label
    const bool followed = smoother.label() == target;
    if (!followed) ++f.never;
    else if (delay <= 1) ++f.within_1s, ++f.within_2s;
    else if (delay <= 2) ++f.within_2s;
    if (after[static_cast<std::size_t>(target)] - after[static_cast<std::size_t>(old_label)] >= kClearLead) {
      ++f.clear;
      if (followed && delay <= 1) ++f.clear_within_1s;
    }
  }
  if (f.clear > 0) f.clear_within_1s /= f.clear;
  f.within_1s /= pairs, f.within_2s /= pairs, f.never /= pairs, f.clear /= pairs;
  return f;
}

// "tau:hysteresis:min_lead:patience,..." -> parameter sets (omitted fields keep the defaults;
// patience "inf" = never).
std::vector<SmoothingParams> parse_smoothing_list(const std::string& list) {
  std::vector<SmoothingParams> out;
  if (list.empty()) return out;
  for (const auto& item : split(list)) {
    SmoothingParams p;
    if (std::sscanf(item.c_str(), "%lf:%lf:%lf:%lf", &p.tau_s, &p.hysteresis, &p.min_lead_s, &p.patience_s) < 2 ||
        p.tau_s <= 0 || p.patience_s < 0)
      throw std::invalid_argument("expected tau:hysteresis[:min_lead[:patience]], got '" + item + "'");
    out.push_back(p);
  }
  return out;
}

// A held expression for `seconds` (face drifting, zooming and rolling a little, lighting varying)
// then a switch to a face the model reads differently: label changes per minute while held, and
// the delay until the smoothed label follows the switch. Runs the real Pipeline in-process.
// follow: also simulate the follow delay over random pairs of val faces (reads all of val).
int run_stability(const std::string& model, int seconds, std::uint64_t seed, const PipelineParams& pipeline_params,
                  const std::vector<SmoothingParams>& sweep, bool follow) {
  const SmoothingParams& smoothing = pipeline_params.smoothing;
  const TestTimeAugmentation reading_views = pipeline_params.reading_views;
  const auto clf = EmotionClassifier::load(model);
  const auto pool = val_pool();
  auto hog = make_detector("hog");
  test::Rng rng(seed);
  const cv::Mat bg = test::make_background({640, 480}, test::Background::kClutter, rng);
  auto frame_at = [&](const cv::Mat& face, int i) {
    const double t = i / 30.0;
    cv::Mat f = bg.clone();
    f.convertTo(f, -1, 1.0 + 0.1 * std::sin(t * 0.7), 10 * std::sin(t * 0.3));
    test::place_face(f, face, {320 + 100 * std::sin(t * 0.4), 240 + 40 * std::sin(t * 0.9)}, 170 + 25 * std::sin(t * 0.25),
                      6 * std::sin(t * 0.5));
    return f;
  };
  // The most decisive val faces per label (mean reading over the path), among the first 300.
  struct Pick { double margin; std::size_t index; Emotion label; };
  std::vector<Pick> picks;
  for (std::size_t i = 0; i < pool.files.size() && i < 3000; i += 10) {
    const cv::Mat face = pool.load(i);
    const auto r = test::steady_reading({frame_at(face, 0), frame_at(face, 300), frame_at(face, 600)}, *hog, clf);
    if (r) picks.push_back({r->margin, i, r->label});
  }
  std::sort(picks.begin(), picks.end(), [](const Pick& a, const Pick& b) { return a.margin > b.margin; });
  const auto other = std::find_if(picks.begin(), picks.end(), [&](const Pick& p) { return p.label != picks.front().label; });
  if (picks.empty() || other == picks.end()) {
    fmt::print("the model reads every face the same way; train it first\n");
    return 1;
  }
  // Two held expressions: the most decisive face, and a borderline one (margin nearest 0.15,
  // where the raw argmax flickers); each followed by the other label's most decisive face.
  const auto borderline = std::min_element(picks.begin(), picks.end(), [](const Pick& x, const Pick& y) {
    return std::abs(x.margin - 0.15) < std::abs(y.margin - 0.15);
  });
  for (const Pick* held_pick : {&picks.front(), &*borderline}) {
    const auto next = std::find_if(picks.begin(), picks.end(), [&](const Pick& p) { return p.label != held_pick->label; });
    const cv::Mat a = pool.load(held_pick->index), b = pool.load(next->index);
    Pipeline pipe(clf, pipeline_params);
    const int held = seconds * 30, total = held + 90;
    int changes = 0, raw_changes = 0, first_b = -1, ids = 0, last_id = -1, frames_with_face = 0;
    Emotion last{}, last_raw{};
    bool have = false;
    std::vector<SmootherInput> inputs;
    for (int i = 0; i < total; ++i) {
      const auto r = pipe.process(frame_at(i < held ? a : b, i), i / 30.0);
      if (r.faces.empty()) continue;
      ++frames_with_face;
      const auto& f = r.faces[0];
      if (f.classified_now) inputs.push_back({i, i / 30.0, f.track_id, f.probs});
      if (f.track_id != last_id) ++ids, last_id = f.track_id;
      if (i < held) {
        if (have && f.emotion != last) ++changes;
        if (have && f.classified_now && argmax(f.probs) != last_raw) ++raw_changes;
        if (f.classified_now) last_raw = argmax(f.probs);
        last = f.emotion, have = true;
      } else if (first_b < 0 && f.emotion == next->label) {
        first_b = i;
      }
    }
    fmt::print("held {} (mean margin {:.2f}) for {} s, then {} (margin {:.2f}); 30 fps, default schedule, tau {:.2f} s, "
                "hysteresis {:.2f}, min lead {:.2f} s, patience {:.2f} s, reading views {}\n",
                std::string(emotion_name(held_pick->label)).c_str(), held_pick->margin, seconds,
                std::string(emotion_name(next->label)).c_str(), next->margin, smoothing.tau_s, smoothing.hysteresis, smoothing.min_lead_s,
                smoothing.patience_s,
                std::string(tta_name(reading_views)).c_str());
    fmt::print("  face in {}/{} frames, {} track id(s)\n", frames_with_face, total, ids);
    fmt::print("  held: {} smoothed label changes ({:.2f} per minute); the raw reading's argmax changed {} times\n", changes,
                changes * 60.0 / seconds, raw_changes);
    if (first_b >= 0) fmt::print("  after the switch the label followed in {} frames ({:.2f} s)\n", first_b - held, (first_b - held) / 30.0);
    else fmt::print("  after the switch the label did not follow within 3 s\n");
    for (const auto& p : sweep) {
      const auto st = replay_smoothing(inputs, p, held, next->label);
      fmt::print("  replayed with tau {:.2f} s, hysteresis {:.2f}, min lead {:.2f} s, patience {:.2f} s: {:.2f} changes per minute held; ",
                  p.tau_s, p.hysteresis, p.min_lead_s, p.patience_s, st.held_changes * 60.0 / seconds);
      if (st.follow_frames >= 0) fmt::print("followed in {} frames ({:.2f} s)\n", st.follow_frames, st.follow_frames / 30.0);
      else fmt::print("did not follow within 3 s\n");
    }
  }
  if (!follow) return 0;
  std::vector<cv::Mat> val_faces;
  for (std::size_t i = 0; i < pool.files.size(); ++i) val_faces.push_back(pool.load(i));
  // The readings the live smoother averages towards: the pipeline's views of each face.
  const auto readings = clf.classify_batch(val_faces, reading_views);
  const double interval = PipelineParams{}.classify_every / 30.0;
  fmt::print("real changes (a face replaced by a val face read with another top class; {} val faces read with {}, "
              "one reading every {:.2f} s, {} pairs): followed within 1 s / within 2 s / never\n",
              readings.size(), std::string(tta_name(reading_views)).c_str(), interval, kFollowPairs);
  std::vector<SmoothingParams> all{smoothing};
  all.insert(all.end(), sweep.begin(), sweep.end());
  for (const auto& p : all) {
    const auto f = follow_shares(readings, p, interval, seed);
    fmt::print("  tau {:.2f} s, hysteresis {:.2f}, min lead {:.2f} s, patience {:.2f} s: {:.1f}% / {:.1f}% / {:.1f}%; "
                "clear changes (new reading leads the old label by >= {:.1f}; {:.1f}% of pairs) within 1 s: {:.1f}%\n",
                p.tau_s, p.hysteresis, p.min_lead_s, p.patience_s, 100 * f.within_1s, 100 * f.within_2s, 100 * f.never,
                kClearLead, 100 * f.clear, 100 * f.clear_within_1s);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"moodtunes vision measurements"};
  app.require_subcommand(1);
  std::uint64_t seed = 2024;
  int per_size = 40, no_face = 200, n = 300, frames = 600;
  double max_angle = 0;
  std::string names = joined_detector_names(",");
  // fit-crop fits one framing per box style: HOG's and the cascades'.
  std::string fit_names = "hog,haar,haar-alt2,lbp";
  std::string sides = "40,56,72,88,112,144,192,240";
  std::string model;  // a .mtm file or a shipped name; default $MOODTUNES_MODEL or accurate
  std::string detector = std::string(kDefaultDetector);
  app.add_option("--seed", seed);
  auto* d = app.add_subcommand("detectors", "recall / false positives / time per detector and face size");
  d->add_option("--per-size", per_size);
  d->add_option("--no-face", no_face);
  d->add_option("--detectors", names);
  d->add_option("--sides", sides);
  double det_angle = 15;
  d->add_option("--max-angle", det_angle);
  bool breakdown = false;
  d->add_flag("--breakdown", breakdown, "recall by background and angle too");
  std::string dump_dir;
  d->add_option("--dump-misses", dump_dir, "write frontal faces >= 80 px a detector missed as PNGs into this folder");
  auto* small = app.add_subcommand("small-faces", "group photos: recall on several small real faces a scene, false boxes, time");
  int group_scenes = 40, group_faces = 6, group_no_face = 100;
  double group_min = 36, group_max = 80, group_angle = 10;
  std::string group_names = "hog-confirmed-wide," + std::string(kDefaultDetector);
  std::string group_dump;
  small->add_option("--scenes", group_scenes, "scenes with faces")->capture_default_str();
  small->add_option("--faces", group_faces, "faces per scene (fewer when they do not fit)")->capture_default_str();
  small->add_option("--min-side", group_min, "smallest face, px (HOG box width)")->capture_default_str();
  small->add_option("--max-side", group_max, "largest face, px")->capture_default_str();
  small->add_option("--max-angle", group_angle, "roll of each face, uniform in +-this, degrees")->capture_default_str();
  small->add_option("--no-face", group_no_face, "no-face scenes (the detection set's backgrounds)")->capture_default_str();
  small->add_option("--detectors", group_names, "comma-separated; times are also given relative to the first")->capture_default_str();
  bool group_all = false, group_list = false;
  small->add_flag("--list", group_list, "print each missed face and each false box on the no-face scenes");
  int group_photos = 400;
  small->add_option("--photos", group_photos, "photos to draw faces from, spread over the sorted list (0 = all)")->capture_default_str();
  small->add_flag("--any-hog-face", group_all, "use every photo HOG finds a face in, not only those Haar also finds (frontal)");
  small->add_option("--dump-misses", group_dump, "write the face scenes with a missed face as PNGs into this folder");
  auto* fit = app.add_subcommand("fit-crop", "fit the FER framing relative to each detector's box");
  fit->add_option("--n", n);
  fit->add_option("--detectors", fit_names);
  auto* gap = app.add_subcommand("crop-gap", "accuracy of detect->crop->classify vs raw val crops");
  gap->add_option("--n", n);
  gap->add_option("--model", model);
  gap->add_option("--detector", detector);
  gap->add_option("--max-angle", max_angle);
  bool level = false;
  gap->add_flag("--level", level, "crop rolled faces in their upright frame (to measure levelling)");
  std::string tta_choice = "none";
  gap->add_option("--tta", tta_choice, "test-time augmentation for raw crops and frames alike")
      ->check(CLI::IsMember(tta_names()));
  const std::string views_help = "view cycle of the live pipeline's readings (default: the pipeline's)";
  std::string reading_views{tta_name(PipelineParams{}.reading_views)};
  auto* live_gap = app.add_subcommand("live-gap", "accuracy of the live pipeline's smoothed label vs raw val crops");
  live_gap->add_option("--n", n);
  live_gap->add_option("--model", model);
  int clip_frames = 60;
  live_gap->add_option("--frames", clip_frames, "frames per clip (30 fps)")->check(CLI::Range(2, 10000));
  live_gap->add_option("--reading-views", reading_views, views_help)->check(CLI::IsMember(tta_names()));
  bool single_view_first = false;
  live_gap->add_flag("--single-view-first", single_view_first, "a new face's first reading takes one view, not all");
  PipelineParams params;
  const std::string levels_help = "pyramid levels of the local search (0 = all; default: the pipeline's)";
  const std::string move_help = "reclassify a face whose box moved/rescaled by more than this x its width (default: the pipeline's)";
  live_gap->add_option("--local-levels", params.local_pyramid_levels, levels_help)->check(CLI::NonNegativeNumber);
  live_gap->add_option("--reclassify-move", params.reclassify_move, move_help)->check(CLI::NonNegativeNumber);
  auto* fps = app.add_subcommand("fps", "pipeline frames/s vs Haar default, one core");
  fps->add_option("--frames", frames);
  fps->add_option("--model", model);
  fps->add_option("--detect-every", params.full_detect_every);
  fps->add_option("--classify-every", params.classify_every);
  fps->add_option("--local-px", params.local_face_px);
  fps->add_option("--local-levels", params.local_pyramid_levels, levels_help)->check(CLI::NonNegativeNumber);
  fps->add_option("--reclassify-move", params.reclassify_move, move_help)->check(CLI::NonNegativeNumber);
  bool pipeline_only = false;
  fps->add_flag("--pipeline-only", pipeline_only, "the pipeline alone: no Haar baseline, no cold frames (for a profiler)");
  fps->add_option("--reading-views", reading_views, views_help)->check(CLI::IsMember(tta_names()));
  auto* stab = app.add_subcommand("stability", "label changes per minute on a held expression, and label latency");
  stab->add_option("--model", model);
  int seconds = 60;
  stab->add_option("--seconds", seconds);
  SmoothingParams smoothing;
  stab->add_option("--tau", smoothing.tau_s, "EMA time constant, seconds (default: the pipeline's)")->check(CLI::PositiveNumber);
  stab->add_option("--hysteresis", smoothing.hysteresis, "margin a new label needs (default: the pipeline's)")
      ->check(CLI::NonNegativeNumber);
  stab->add_option("--min-lead", smoothing.min_lead_s, "seconds a new label must keep its margin (default: the pipeline's)")
      ->check(CLI::NonNegativeNumber);
  stab->add_option("--patience", smoothing.patience_s, "seconds any lead takes to win the label (default: the pipeline's; inf = never)")
      ->check(CLI::NonNegativeNumber);
  stab->add_option("--reading-views", reading_views, views_help)->check(CLI::IsMember(tta_names()));
  bool no_follow = false;
  stab->add_flag("--no-follow", no_follow, "skip the follow-delay simulation over random val pairs (minutes)");
  stab->add_option("--local-levels", params.local_pyramid_levels, levels_help)->check(CLI::NonNegativeNumber);
  stab->add_option("--reclassify-move", params.reclassify_move, move_help)->check(CLI::NonNegativeNumber);
  std::string sweep;
  stab->add_option("--sweep", sweep,
                   "also replay the recorded readings through other smoothers: tau:hysteresis[:min_lead[:patience]],...")
      ->check([](const std::string& list) {
        try {
          parse_smoothing_list(list);
          return std::string();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
      });
  auto* retry = app.add_subcommand("crop-retry", "the photo path's tight-crop retry: faces it finds in realfaces val, false faces");
  std::string retry_names = "off,none," + std::string(kLenientCropDetector);
  int retry_no_face = 300;
  retry->add_option("--model", model);
  retry->add_option("--detectors", retry_names, "comma-separated lenient detectors; 'none': the photo detector's retry alone; 'off': no retry")
      ->capture_default_str();
  retry->add_option("--no-face", retry_no_face, "no-face scenes (each also read as its centre square)")->capture_default_str();
  bool retry_list = false;
  retry->add_flag("--list", retry_list, "print every box each lenient detector finds, on the photos and the no-face images");
  auto* align = app.add_subcommand("real-align", "landmark levelling (dlib's 68 points) re-measured on realfaces val (end to end)");
  double align_min_roll = 0;
  align->add_option("--model", model);
  align->add_option("--min-roll", align_min_roll, "level only faces whose eyes' roll is at least this, degrees")->capture_default_str();
  auto* framing = app.add_subcommand("real-framing", "the FER crop's framing re-measured on realfaces val (end to end)");
  std::string framing_scales = "1.0,1.1,1.172,1.25,1.35,1.5", framing_dys = "-0.15,-0.069,0.0";
  framing->add_option("--model", model);
  framing->add_option("--sides", framing_scales, "crop sides, in box widths")->capture_default_str();
  framing->add_option("--dys", framing_dys, "vertical centre offsets, in box widths")->capture_default_str();
  framing->add_option("--tta", tta_choice)->check(CLI::IsMember(tta_names()));
  CLI11_PARSE(app, argc, argv);
  model = moodtunes::app::model_path(model);
  params.reading_views = parse_tta(reading_views);
  params.smoothing = smoothing;
  if (*stab) return run_stability(model, seconds, seed, params, parse_smoothing_list(sweep), !no_follow);
  params.first_reading_all_views = !single_view_first;
  if (*live_gap) return run_live_gap(n, clip_frames, seed, model, params);
  if (*d) return run_detectors(per_size, no_face, seed, names, sides, det_angle, breakdown, dump_dir);
  if (*small)
    return run_small_faces(group_scenes, group_faces, group_min, group_max, group_angle, group_no_face, seed, group_names, group_dump, group_all, group_photos, group_list);
  if (*fit) return run_fit_crop(n, seed, fit_names);
  if (*gap) return run_crop_gap(n, seed, model, detector, max_angle, level, parse_tta(tta_choice));
  if (*align) return run_real_align(model, align_min_roll);
  if (*framing) return run_real_framing(model, framing_scales, framing_dys, parse_tta(tta_choice));
  if (*retry) return run_crop_retry(model, retry_names, retry_no_face, seed, retry_list);
  if (*fps) return run_fps(frames, model, seed, params, pipeline_only);
  return 0;
}
