// Face detection: a pluggable interface and its implementations.
//
//   HOG      dlib's frontal face detector (5 HOG filters, no model file), optionally on a
//            downscaled or upsampled frame, optionally also on copies rotated by +-12 degrees.
//   confirmed a permissive detector whose weak boxes must be confirmed by another detector
//            looking at the same place. "hog-confirmed": HOG at a lowered threshold on the
//            frame and its +-12 degree rotations, weak boxes confirmed by the Haar cascade or a
//            stricter HOG on an uprighted crop. "hog-confirmed-zoom" adds the same on the
//            frame enlarged 1.2x; "hog-confirmed-wide" runs both at more rolls; the default
//            ("hog-confirmed-small") adds a small-face stage: confirmed HOG on the frame
//            enlarged 2x, scanning only the sizes up to 80 px (docs/vision.md: measurements).
//   cascade  an OpenCV Haar/LBP cascade (haarcascade_frontalface_default.xml: the benches' baseline).
//   two-stage a fast proposer (cascade) whose boxes are each verified (and re-boxed) by HOG on a
//            padded crop rescaled to HOG's working size; finds small faces HOG alone misses.
//
// Contract:
//   requires: detect() gets a non-empty CV_8UC1 image (any size; use to_gray()).
//   ensures:  boxes in that image's pixel coordinates, clipped to it, largest first; score is
//             detector-specific (HOG margin, cascade neighbour count) and only orders boxes.
//   box_style() says which family of boxes it returns, so fer_crop can map it to FER framing.
// Ownership/thread-safety: a detector owns its model and scratch buffers; one instance must not
// be used by two threads at once (dlib's scanner and OpenCV's cascade keep state). Create one
// per thread; construction is cheap except for loading a cascade file (~10 ms).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "preprocess/preprocess.hpp"

namespace moodtunes::vision {

enum class BoxStyle { kHog, kHaarDefault, kHaarAlt2, kLbp };

struct FaceBox {
  cv::Rect box;      // axis-aligned box of the face in its upright frame, centred on the face
  double score = 0;
  double angle = 0;  // in-plane roll of the face, degrees (OpenCV convention: + = counter-clockwise)
};

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  virtual std::vector<FaceBox> detect(const cv::Mat& gray) = 0;
  virtual BoxStyle box_style() const = 0;
  virtual std::string name() const = 0;
  // The boxes the last detect() found but did not return, in that image's coordinates: a union
  // whose last part counts in a group only (A|group:B) holds back that part's lone face, and
  // returns here exactly what A|B returns for the same image. Empty for other detectors, and
  // when detect() returned faces.
  virtual std::vector<FaceBox> held_back() const { return {}; }
};

struct HogOptions {
  double frame_scale = 1.0;   // resize the frame by this before scanning (0.5 = half size)
  int upsample = 0;           // dlib pyramid_up steps after scaling (each doubles: smaller faces)
  double threshold = 0.0;     // dlib adjust_threshold (higher = fewer, surer boxes)
  // Pyramid levels scanned (0 = all). Level 0 is the scaled image and each further level 5/6 of
  // the one before, so later levels find only larger faces: a limit suits a search where the
  // face's size is known in advance (the live pipeline's local search scans 3; docs/vision.md,
  // "Speed"), at a fraction of the full pyramid's cost.
  int max_pyramid_levels = 0;
};

struct CascadeOptions {
  std::string file = "haarcascade_frontalface_default.xml";  // name (searched) or path
  double scale_factor = 1.1;   // OpenCV defaults
  int min_neighbors = 3;
  int min_size = 0;            // pixels in the input frame; 0 = cascade window size
  int max_size = 0;            // largest box in pixels; 0 = no limit
};

std::unique_ptr<FaceDetector> make_hog_detector(const HogOptions& options = {});
// Throws std::runtime_error when this build's HOG code uses instructions this CPU lacks (the
// MOODTUNES_HOG_AVX2 build option); make_hog_detector() calls it first.
void check_hog_cpu_support();
std::unique_ptr<FaceDetector> make_cascade_detector(const CascadeOptions& options = {});
// Runs `base` on the frame and on copies rotated by each angle in `angles` (degrees), mapping
// boxes back and merging overlaps (the more confident wins); FaceBox::angle says which pass
// found the face. Finds faces rolled by up to ~angle + 10 degrees; costs one pass per angle.
std::unique_ptr<FaceDetector> make_rotating_detector(std::unique_ptr<FaceDetector> base, std::vector<double> angles);
// verifier_face_px: the verifier rescales each proposal so the face is about this tall.
std::unique_ptr<FaceDetector> make_two_stage_detector(std::unique_ptr<FaceDetector> proposer,
                                                      double verifier_face_px = 100);

// make_detector(): a detector from its description, the value of the CLI's --detector and the
// benches' detector arguments. A description is a named preset (detector_names(), e.g.
// "hog-confirmed-wide") or an expression in this grammar (EBNF; no spaces anywhere):
//
//   detector   = confirmed , [ "|" , [ "group:" ] , detector ] ;  (* union; right-assoc: A|B|C = A|(B|C) *)
//   confirmed  = rotated , { "^" , confirmers } ;         (* left-assoc: A^B^C = (A^B)^C *)
//   confirmers = confirmer , { "/" , confirmer } , [ "=" , number , [ ":" , number ] ] ;
//   confirmer  = base , [ "+rot" ] ;
//   rotated    = base , [ "+rot" , [ "=" , angle , { ":" , angle } ] ] ;
//   base       = preset | hog , [ "~" , number ] | "haar" | "haar-alt2" | "lbp" | "two-stage" | "two-stage-small" , [ ":" , number ] ;
//   hog        = "hog" | "hog-half" | "hog-up" | "hog@" , number , [ ":" , number ] ;
//   preset     = "hog-confirmed-small" | "hog-confirmed-wide" | "hog-small" | "hog-confirmed-zoom" | "hog-confirmed" ;
//   number     = what std::strtod reads, the whole field ;  angle = number in (0, 45] ;
//
// Meaning:
//   A|B          the union of A's and B's boxes (A and B must have the same box_style()), overlapping
//                boxes merged, the more confident kept.
//   A|group:B    the same union, but B's boxes count only in a group: when the union holds two
//                faces or more, or A found the one face too; a lone face only B finds is dropped.
//   A^B          A's boxes scoring below 0 are kept only where B also finds a face (on an uprighted,
//                rescaled crop around the box); "A^B/C": where B or C does. "=T": below T instead of 0,
//                for all boxes; "=T:R": below T for upright boxes and below R for boxes from rotated
//                passes. The "=" after the last "^" always starts these scores, so a confirmer takes
//                "+rot" but no angle list.
//   A+rot        A also on copies of the frame rotated by -12 and +12 degrees; "+rot=8:16": by -8, +8,
//                -16 and +16 (each angle gives two passes).
//   hog          dlib's HOG detector on the frame; "hog-half" on the frame halved, "hog-up" with one
//                pyramid-up step (smaller faces), "hog@S" on the frame resized by S (in (0.05, 8]: the
//                HOG detector refuses others with its own message), "hog@S:M" only scanning the
//                pyramid levels that hold faces up to M > 0 px of the input frame.
//   ~T           HOG with dlib's adjust_threshold T (default 0; lower finds more faces and more
//                false boxes).
//   haar, haar-alt2, lbp   OpenCV cascades (haarcascade_frontalface_default.xml, _alt2.xml,
//                lbpcascade_frontalface_improved.xml); two-stage, two-stage-small: a cascade proposes
//                (from 60 / 30 px), HOG verifies; "two-stage-small:M": proposals up to M px only.
// The presets are expressions of this grammar (see kDefaultDetector below); a preset may appear
// wherever a base may, e.g. "hog-confirmed|hog-small".
// Errors: std::invalid_argument, its message naming the offending part:
//   "unknown detector 'X' (known: <detector_names()>, hog@SCALE, hog@SCALE:MAX_FACE_PX)"
//       for a base that is none of the above (also a bad hog@ or ~ number, or an empty part);
//   "detector union 'A|B' mixes box styles";
//   "detector 'group:B': group: marks the right side of a union, as in A|group:B" for group: elsewhere;
//   "detector 'A^B=...': expected A^B=SCORE or A^B=SCORE:ROLLED_SCORE" for bad scores;
//   "detector 'A+rot=...': +rot= takes angles in (0, 45] degrees, e.g. +rot=8:16";
//   "HOG detector: frame_scale must be in (0.05, 8], ..." for hog@S out of range.
// name() of the result spells out what was parsed: "hog x2.00 ~-0.45 levels 6", "... +rot -8 8",
// "A confirmed by B or C (below 0, rolled below 0.3)", "A | B", "A | group: B".
// Thread-safe (builds a new detector each call); loading a cascade reads its file.
std::unique_ptr<FaceDetector> make_detector(std::string_view name);
// The named configurations above, the default first (the one list the CLI's help, the benches'
// defaults and make_detector's error message are built from).
std::vector<std::string> detector_names();
// detector_names() joined by `separator`.
std::string joined_detector_names(std::string_view separator);
// One-shot default (`detect`, `suggest`, `eval --end-to-end`): "hog-confirmed-small" =
// "hog-confirmed-wide|group:hog-small", faces from ~36 px (below ~80 px in a group only). "hog-confirmed-wide" =
// "hog~-0.4+rot=8:16^haar/hog~0.3=0:0.3|hog@1.2~-0.4+rot^haar/hog~0.3=0:0.3" (8 HOG passes: the
// frame at rolls 0, +-8, +-16 and the frame enlarged 1.2x at 0, +-12; weak boxes confirmed),
// faces from ~60-80 px. "hog-small" = "hog@2:80~-0.45^haar/hog~0.3=0.5:0.5|two-stage-small:100"
// (one upright pass on the frame enlarged 2x over the sizes up to 80 px, boxes under 0.5
// confirmed, and the two-stage detector on proposals up to 100 px): 1.5-1.8x the time of hog-confirmed-wide alone. "hog-confirmed-zoom" = "hog-confirmed|hog@1.2~-0.4^haar/hog~0.3",
// where "hog-confirmed" = "hog~-0.4+rot^haar/hog~0.3=0:0.3".
inline constexpr std::string_view kDefaultDetector = "hog-confirmed-small";
// `detect --small-faces`: the default with the small-face stage's boxes kept for a lone face too
// (a photo of one person far away), at about one false box more per 100 photos without a face.
// On any image it finds what kDefaultDetector returns, or else what that holds back (held_back()).
inline constexpr std::string_view kLoneSmallFacesDetector = "hog-confirmed-wide|hog-small";
// The photo detector of `detect`, `suggest` and the server's analyse route: kDefaultDetector, or
// kLoneSmallFacesDetector when the caller asks for lone small faces too.
constexpr std::string_view photo_detector(bool lone_small_faces) {
  return lone_small_faces ? kLoneSmallFacesDetector : kDefaultDetector;
}
// `live --small-faces`: plain HOG plus the two-stage detector (a cascade proposes from 30 px, HOG
// verifies), fast enough for a full detection every few frames.
inline constexpr std::string_view kSmallFacesLiveDetector = "hog|two-stage-small";

// Finds an OpenCV cascade file by name: $MOODTUNES_CASCADES, then the opencv-data folders.
// Throws std::runtime_error naming the folders searched when absent.
std::filesystem::path find_cascade(std::string_view file);

// Any image -> the CV_8UC1 image detect() takes: the one gray conversion, which the classifier's
// preprocessing uses too (preprocess/preprocess.hpp), so detector and classifier see the same image.
using moodtunes::to_gray;

// Detection restricted to a region: crops `region` (clipped), rescales it so a face of
// `expected_face_px` becomes about `work_face_px`, runs `detector` and maps boxes back.
// Used by the tracker's local search. Returns boxes in full-frame coordinates.
// With angle != 0 the crop is first rotated by -angle about its centre (uprighting a face rolled
// by `angle`); returned boxes then carry that angle.
std::vector<FaceBox> detect_in_region(FaceDetector& detector, const cv::Mat& gray, const cv::Rect& region,
                                      double expected_face_px, double work_face_px, double angle = 0);

}  // namespace moodtunes::vision
