// `moodtunes detect` (faces + emotions in still images) and `moodtunes live` (camera or video,
// tracked and smoothed). The work lives in src/vision; this file parses flags, reads input,
// prints JSON (the schema of app/json.hpp) and draws.
//
// detect exit codes: 0 every image had a face; 3 (kExitNoFace) some image had none (its result
// says "no face found"); 1 some image could not be read (its result carries "error"; takes
// precedence over 3).
// live exit codes: 0 end of video / quit key; 1 camera or video cannot be opened, or the camera
// stopped delivering frames.
#include "cli/commands.hpp"

#if MOODTUNES_WITH_VISION
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/highgui.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "app/json.hpp"
#include "model/classifier.hpp"
#include "vision/draw.hpp"
#include "vision/face_detector.hpp"
#include "vision/image_io.hpp"
#include "vision/pipeline.hpp"
#include "vision/playback.hpp"
#include "vision/video_io.hpp"

namespace moodtunes::cli {
namespace {

using nlohmann::json;
using namespace moodtunes::vision;
using app::face_json;
using app::group_json;

// ---- detect ----------------------------------------------------------------------------------
struct DetectArgs {
  std::vector<std::string> images;
  std::string model, annotate, detector;
  bool small_faces = false;
  std::int64_t max_pixels = DecodeLimits{}.max_pixels;
  std::string tta{tta_name(ImageAnalysisOptions{}.tta)};
};

// Where --annotate writes each image's picture: the file itself for one image, else a folder of
// "<stem>.annotated.png", with "-2", "-3", ... when two inputs share a stem (never overwritten).
// Checked before any image is read, so a bad destination costs no work and says so at once.
class AnnotateTargets {
 public:
  explicit AnnotateTargets(const DetectArgs& a) : out_(a.annotate) {
    if (a.annotate.empty()) return;
    namespace fs = std::filesystem;
    std::error_code ec;
    to_dir_ = a.images.size() > 1 || fs::is_directory(out_, ec) || a.annotate.ends_with('/');
    const fs::path dir = to_dir_ ? out_ : (out_.has_parent_path() ? out_.parent_path() : fs::path("."));
    if (!to_dir_ && !cv::haveImageWriter(out_.string()))
      throw CliExit(kExitUsage, "--annotate " + a.annotate + ": unknown image type (use .png, .jpg, .bmp or .webp)");
    fs::create_directories(dir, ec);
    if (!fs::is_directory(dir, ec)) throw CliExit(kExitError, "--annotate: cannot create the folder " + dir.string());
    const fs::path probe = dir / ".moodtunes-write-check";
    if (!std::ofstream(probe)) throw CliExit(kExitError, "--annotate: cannot write in " + dir.string());
    fs::remove(probe, ec);
  }
  std::filesystem::path next(const std::string& image) {
    if (!to_dir_) return out_;
    const std::string stem = std::filesystem::path(image).stem().string();
    const int n = ++used_[stem];
    return out_ / (stem + (n > 1 ? "-" + std::to_string(n) : "") + ".annotated.png");
  }

 private:
  std::filesystem::path out_;
  bool to_dir_ = false;
  std::map<std::string, int> used_;
};

json detect_one(const DetectArgs& a, const std::string& path, FaceDetector& det, const EmotionClassifier& clf,
                const ImageAnalysisOptions& options, AnnotateTargets& targets) {
  json j = app::schema_object();
  j["image"] = path;
  DecodedImage img;
  try {
    img = read_image(path, DecodeLimits{.max_pixels = a.max_pixels});
  } catch (const ImageError& e) {
    j["status"] = "error";
    j["error"] = e.what();
    return j;
  }
  if (!img.warnings.empty()) j["warnings"] = img.warnings;
  j["width"] = img.bgr.cols;
  j["height"] = img.bgr.rows;
  // Without --annotate the colour copy is not needed again: the photo path reads gray.
  if (a.annotate.empty()) img.bgr = to_gray(img.bgr);
  const FrameReading r = analyse_image(img.bgr, det, clf, options);
  j["faces"] = json::array();
  for (const auto& f : r.faces) j["faces"].push_back(face_json(f));
  j["group"] = group_json(r.group);
  j["status"] = r.faces.empty() ? "no_face" : "ok";
  if (r.faces.empty()) j["message"] = r.faces_held_back > 0 ? std::string(kSmallFaceHint) : "no face found";
  if (!a.annotate.empty()) {
    cv::Mat out = img.bgr.clone();
    annotate(out, r, true);
    const auto dst = targets.next(path);
    bool written = false;
    try {
      written = cv::imwrite(dst.string(), out);
    } catch (const cv::Exception& e) {
      j["annotate_error"] = "cannot write " + dst.string() + ": " + e.err;
    }
    if (written) j["annotated"] = dst.string();
    else if (!j.contains("annotate_error")) j["annotate_error"] = "cannot write " + dst.string();
  }
  return j;
}

void add_detect_command(CLI::App& app) {
  auto a = std::make_shared<DetectArgs>();
  auto* cmd = app.add_subcommand("detect", "Find every face in images and read its emotion; one JSON line per image");
  cmd->add_option("images", a->images, "Image files (JPEG, PNG, BMP, WebP, PNM, TIFF)")->required();
  cmd->add_option("-m,--model", a->model, model_option_help());
  cmd->add_option("--annotate", a->annotate, "Write the image with boxes and labels to this file (a folder when several images)");
  cmd->add_flag("--small-faces", a->small_faces,
                "Also report a lone face under ~80 px (by default such faces count only in a group of two or more, "
                "which keeps text and texture from reading as a face); ignored with --detector");
  cmd->add_option("--detector", a->detector, "Detector (default " + std::string(kDefaultDetector) + "): " + joined_detector_names(", ") + ", hog@SCALE[:MAX_FACE_PX]; "
                  "combine with A|B (union), A|group:B (B's boxes only in a group of faces), A^B (B confirms A's weak boxes), +rot (rotated passes), hog~T (HOG threshold); see docs/vision.md");
  cmd->add_option("--tta", a->tta, "Test-time augmentation: ten-crop absorbs the detector's framing error (docs/vision.md); none is ~10x faster")
      ->capture_default_str()
      ->check(CLI::IsMember(tta_names()));
  cmd->add_option("--max-pixels", a->max_pixels, "Refuse images with more pixels than this (checked before decoding)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->callback([a] {
    AnnotateTargets targets(*a);
    const auto clf = EmotionClassifier::load(model_path(a->model), kPhotoEngine);
    const std::string name = !a->detector.empty() ? a->detector : std::string(photo_detector(a->small_faces));
    std::unique_ptr<FaceDetector> det;
    try {
      det = make_detector(name);
    } catch (const std::invalid_argument& e) {
      throw CliExit(kExitUsage, e.what());
    }
    ImageAnalysisOptions options;
    options.tta = parse_tta(a->tta);
    int errors = 0, no_face = 0, unwritten = 0;
    for (const auto& path : a->images) {
      const json j = detect_one(*a, path, *det, clf, options, targets);
      errors += j["status"] == "error";
      unwritten += j.contains("annotate_error");
      no_face += j["status"] == "no_face";
      fmt::print("{}\n", j.dump());
      std::fflush(stdout);  // one line per image as it is read: a reader of the pipe sees progress
    }
    if (errors) throw CliExit(kExitError, std::to_string(errors) + " image(s) could not be read");
    if (unwritten) throw CliExit(kExitError, std::to_string(unwritten) + " annotated image(s) could not be written");
    if (no_face) throw CliExit(kExitNoFace, "no face found in " + std::to_string(no_face) + " image(s)");
  });
}

// ---- live ------------------------------------------------------------------------------------
struct LiveArgs {
  int camera = 0;
  std::string input, model;
  bool no_window = false, small_faces = false, as_fast_as_possible = false;
  long max_frames = 0;
  int detect_every = PipelineParams{}.full_detect_every;
  int classify_every = PipelineParams{}.classify_every;
  std::string reading_views{tta_name(PipelineParams{}.reading_views)};
  int threads = 0;
};

json frame_json(long index, double t, const FrameReading& r) {
  json faces = json::array();
  for (const auto& f : r.faces) faces.push_back(face_json(f, /*tracked=*/true));
  json j = app::schema_object();
  j["frame"] = index;
  j["time"] = std::round(t * 1000) / 1000;
  j["faces"] = std::move(faces);
  j["group"] = group_json(r.group);
  return j;
}

// Bad input fails here, before the (slower) model load.
VideoSource open_source(const LiveArgs& a) {
  try {
    return a.input.empty() ? open_camera(a.camera) : open_video(a.input);
  } catch (const ImageError& e) {
    throw CliExit(kExitError, e.what());
  }
}

bool has_display() {
  const char* d = std::getenv("DISPLAY");
  const char* w = std::getenv("WAYLAND_DISPLAY");
  return (d && *d) || (w && *w);
}

void run_live(const LiveArgs& a) {
  if (!a.no_window && !has_display()) throw CliExit(kExitUsage, "no display available; use --no-window for JSON output");
  if (a.threads > 0) cv::setNumThreads(a.threads);
  VideoSource source = open_source(a);
  const auto clf = EmotionClassifier::load(model_path(a.model));
  PipelineParams params;
  if (a.small_faces) params.detector = std::string(kSmallFacesLiveDetector);
  params.full_detect_every = a.detect_every;
  params.classify_every = a.classify_every;
  params.reading_views = parse_tta(a.reading_views);
  Pipeline pipeline(clf, params);
  const bool camera = a.input.empty();
  const double fps_in = playback_fps(source.fps);
  // A video file in a window plays at its own rate (a person watches it); JSON output, a camera
  // (which delivers at its own rate) and --as-fast-as-possible go as fast as frames are read.
  std::optional<FramePacer> pacer;
  if (!camera && !a.no_window && !a.as_fast_as_possible) pacer.emplace(fps_in);
  const char* kWindow = "moodtunes live (q to quit)";
  if (!a.no_window) cv::namedWindow(kWindow, cv::WINDOW_AUTOSIZE);

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  double fps = 0;
  cv::Mat frame;
  long index = 0;
  for (; a.max_frames <= 0 || index < a.max_frames; ++index) {
    bool got = false;
    try {
      got = read_frame(source, frame);
    } catch (const ImageError& e) {
      throw CliExit(kExitError, e.what());
    }
    if (!got) {
      if (camera) throw CliExit(kExitError, "camera " + std::to_string(a.camera) + " stopped delivering frames");
      if (index == 0) throw CliExit(kExitError, "video " + a.input + " has no readable frames");
      break;  // end of the video
    }
    const auto t0 = Clock::now();
    const double t = camera ? std::chrono::duration<double>(t0 - start).count() : index / fps_in;
    const FrameReading r = pipeline.process(frame, t);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    fps = fps == 0 ? 1 / std::max(dt, 1e-6) : 0.9 * fps + 0.1 / std::max(dt, 1e-6);
    if (a.no_window) {
      fmt::print("{}\n", frame_json(index, t, r).dump());
      continue;
    }
    if (frame.type() != CV_8UC3) cv::cvtColor(to_gray(frame), frame, cv::COLOR_GRAY2BGR);
    annotate(frame, r, true, fps);
    const int wait = pacer ? pacer->wait_ms(std::chrono::duration<double>(Clock::now() - start).count()) : 1;
    cv::imshow(kWindow, frame);
    const int key = cv::waitKey(wait);
    if (key == 'q' || key == 'Q' || key == 27) break;
    if (cv::getWindowProperty(kWindow, cv::WND_PROP_VISIBLE) < 1) break;  // window closed
  }
  std::fflush(stdout);
  if (!a.no_window) cv::destroyAllWindows();
  fmt::print(stderr, "{} frames\n", index);
}

void add_live_command(CLI::App& app) {
  auto a = std::make_shared<LiveArgs>();
  auto* cmd = app.add_subcommand("live", "Emotions of the faces in a camera or video stream, tracked and smoothed");
  auto* cam = cmd->add_option("--camera", a->camera, "Camera index")->capture_default_str();
  auto* in = cmd->add_option("--input", a->input, "Video file instead of a camera");
  cam->excludes(in);
  cmd->add_flag("--no-window", a->no_window, "No window: print one JSON line per frame (as fast as frames can be read)");
  cmd->add_flag("--as-fast-as-possible", a->as_fast_as_possible,
                "Play a video file in the window as fast as it can be processed, not at its own frame rate");
  cmd->add_option("-m,--model", a->model, model_option_help());
  cmd->add_flag("--small-faces", a->small_faces, "Also find faces down to ~40 px (slower full detections)");
  cmd->add_option("--max-frames", a->max_frames, "Stop after this many frames (0 = no limit)");
  cmd->add_option("--detect-every", a->detect_every, "Frames between full detections while tracking")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--classify-every", a->classify_every, "Frames between classifications of a tracked face")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--reading-views", a->reading_views,
                  "Test-time views a face's successive readings cycle through, averaged by the smoothing at one pass per reading: "
                  "ten-crop absorbs the detector's framing error (docs/vision.md), none reads the plain crop")
      ->capture_default_str()
      ->check(CLI::IsMember(tta_names()));
  cmd->add_option("--threads", a->threads, "CPU threads (0 = OpenCV default)");
  cmd->callback([a] { run_live(*a); });
}

}  // namespace

void add_vision_commands(CLI::App& app) {
  add_detect_command(app);
  add_live_command(app);
}

}  // namespace moodtunes::cli
#else
// Built without dlib (moodtunes_vision absent): no detect/live commands.
namespace moodtunes::cli {
void add_vision_commands(CLI::App&) {}
}  // namespace moodtunes::cli
#endif
