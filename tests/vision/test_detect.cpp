// Detection and FER cropping on synthetic frames: FER val faces (read from the shared data
// folder) placed at known positions, sizes and angles on generated backgrounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string_view>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "preprocess/preprocess.hpp"
#include "vision/face_detector.hpp"
#include "vision/fer_crop.hpp"
#include "vision/image_io.hpp"
#include "vision/pipeline.hpp"
#include "support/synth.hpp"
#include "vision_test_util.hpp"

using namespace moodtunes;
using namespace moodtunes::vision;
using namespace moodtunes::test;

#define REQUIRE_DATA() \
  if (!have_data()) GTEST_SKIP() << "FER data not found at " << fer_val() << " (set MOODTUNES_DATA)"

namespace {
// How many of the boxes match the placed face (two boxes on one face count twice).
int matching(const std::vector<FaceBox>& boxes, const test::PlacedFace& face) {
  return static_cast<int>(std::count_if(boxes.begin(), boxes.end(), [&](const FaceBox& b) { return test::matches(b.box, face); }));
}
}  // namespace

// Declares `clf`, the model the CLI would use, or skips the test without data or a model.
#define REQUIRE_MODEL(clf)                                      \
  REQUIRE_DATA();                                               \
  const std::string model_file = model_path();                  \
  if (model_file.empty()) GTEST_SKIP() << "no model file";      \
  const auto clf = EmotionClassifier::load(model_file)

TEST(Detect, HogFindsFacesAtKnownPositionsOnVariedBackgrounds) {
  REQUIRE_DATA();
  const auto faces = frontal_faces(12);
  ASSERT_EQ(faces.size(), 12u);
  auto hog = make_detector("hog");
  test::Rng rng(11);
  int trials = 0, found = 0, extra = 0;
  for (const auto& face : faces)
    for (int side : {100, 150, 220}) {
      cv::Mat frame = test::make_background({640, 480}, static_cast<test::Background>(trials % 4), rng);
      const double m = side * 0.72;
      const auto placed = test::place_face(frame, face, {rng.uniform(m, 640 - m), rng.uniform(m, 480 - m)}, side, rng.uniform(-8, 8));
      const auto boxes = hog->detect(gray_of(frame));
      ++trials;
      bool hit = false;
      for (const auto& b : boxes) (test::matches(b.box, placed) ? hit = true : ++extra);
      found += hit;
    }
  EXPECT_GE(found, trials * 9 / 10) << found << "/" << trials;
  EXPECT_LE(extra, 1);
}

// The live pipeline's local search scans only the pyramid levels of the face size it expects:
// a limited detector still finds faces of that size and no longer finds much larger ones.
TEST(Detect, PyramidLevelLimitKeepsSmallFacesAndDropsLargeOnes) {
  REQUIRE_DATA();
  const auto faces = frontal_faces(6);
  auto full = make_hog_detector();
  auto limited = make_hog_detector({.max_pyramid_levels = 2});
  test::Rng rng(5);
  int small_full = 0, small_limited = 0, large_full = 0, large_limited = 0;
  for (const auto& face : faces)
    for (int side : {100, 320}) {
      cv::Mat frame = test::make_background({640, 480}, test::Background::kGradient, rng);
      const auto placed = test::place_face(frame, face, {320, 240}, side, 0);
      const cv::Mat gray = gray_of(frame);
      auto hits = [&](FaceDetector& d) {
        const auto boxes = d.detect(gray);
        return std::any_of(boxes.begin(), boxes.end(), [&](const FaceBox& b) { return test::matches(b.box, placed); }) ? 1 : 0;
      };
      (side == 100 ? small_full : large_full) += hits(*full);
      (side == 100 ? small_limited : large_limited) += hits(*limited);
    }
  EXPECT_GE(small_full, 5);
  EXPECT_GE(large_full, 5);
  EXPECT_EQ(small_limited, small_full);
  EXPECT_EQ(large_limited, 0);
  EXPECT_THROW(make_hog_detector({.max_pyramid_levels = -1}), std::invalid_argument);
}

TEST(Detect, NoFaceScenesGiveNoBoxes) {
  REQUIRE_DATA();
  const auto pool = test::list_fer_faces(fer_val(), 1);
  auto hog = make_detector("hog");
  int boxes = 0;
  for (int i = 0; i < 40; ++i) boxes += static_cast<int>(hog->detect(gray_of(test::detection_scene(pool, 99, i, 0).bgr)).size());
  EXPECT_LE(boxes, 1);
}

// A permissive HOG threshold fires on backgrounds; requiring a cascade's agreement for the weak
// boxes removes those while keeping the faces (how the default detector gains recall).
TEST(Detect, ConfirmationKeepsFacesAndDropsWeakBoxesOnBackgrounds) {
  REQUIRE_DATA();
  auto permissive = make_detector("hog~-1");
  auto confirmed = make_detector("hog~-1^haar");
  const auto pool = test::list_fer_faces(fer_val(), 1);
  int permissive_boxes = 0, confirmed_boxes = 0;
  for (int i = 0; i < 40; ++i) {
    const cv::Mat gray = gray_of(test::detection_scene(pool, 99, i, 0).bgr);
    permissive_boxes += static_cast<int>(permissive->detect(gray).size());
    confirmed_boxes += static_cast<int>(confirmed->detect(gray).size());
  }
  EXPECT_GE(permissive_boxes, 5) << "the permissive threshold should fire on backgrounds (else this test proves nothing)";
  EXPECT_LE(confirmed_boxes, 1);

  const auto faces = frontal_faces(10);
  test::Rng rng(21);
  int found = 0;
  for (const auto& face : faces) {
    cv::Mat frame = test::make_background({640, 480}, test::Background::kTexture, rng);
    const auto placed = test::place_face(frame, face, {rng.uniform(130, 510), rng.uniform(130, 350)}, 150, rng.uniform(-8, 8));
    found += matching(confirmed->detect(gray_of(frame)), placed);
  }
  EXPECT_GE(found, 9);
  EXPECT_THROW(make_detector("hog^haar=x"), std::invalid_argument);
  EXPECT_THROW(make_detector("hog^haar=0:"), std::invalid_argument);
  EXPECT_NO_THROW(make_detector("hog+rot^haar/lbp=0:0.3"));
  EXPECT_THROW(make_detector("hog+rot=0"), std::invalid_argument);
}

TEST(Detect, SeveralFacesAreAllFoundLargestFirst) {
  REQUIRE_DATA();
  const auto faces = frontal_faces(3);
  ASSERT_EQ(faces.size(), 3u);
  test::Rng rng(5);
  cv::Mat frame = test::make_background({800, 480}, test::Background::kGradient, rng);
  const std::vector<test::PlacedFace> placed = {test::place_face(frame, faces[0], {130, 200}, 130, 0),
                                                 test::place_face(frame, faces[1], {400, 240}, 200, 5),
                                                 test::place_face(frame, faces[2], {660, 260}, 160, -5)};
  const auto boxes = make_detector("hog")->detect(gray_of(frame));
  ASSERT_EQ(boxes.size(), 3u);
  EXPECT_TRUE(test::matches(boxes[0].box, placed[1]));
  EXPECT_TRUE(test::matches(boxes[1].box, placed[2]));
  EXPECT_TRUE(test::matches(boxes[2].box, placed[0]));
}

TEST(Detect, TwoStageSmallFindsFacesHogAloneMisses) {
  REQUIRE_DATA();
  const auto faces = frontal_faces(10);
  auto hog = make_detector("hog");
  auto small = make_detector("two-stage-small");
  test::Rng rng(3);
  int hog_found = 0, small_found = 0;
  for (const auto& face : faces) {
    cv::Mat frame = test::make_background({640, 480}, test::Background::kGradient, rng);
    const auto placed = test::place_face(frame, face, {rng.uniform(60, 580), rng.uniform(60, 420)}, 48, 0);
    const cv::Mat gray = gray_of(frame);
    hog_found += matching(hog->detect(gray), placed);
    small_found += matching(small->detect(gray), placed);
  }
  EXPECT_EQ(hog_found, 0);
  EXPECT_GE(small_found, 7);
}

// two-stage-small:M leaves faces larger than M to other detectors (the photo default's small-face
// stage uses :100 so that it cannot re-frame the large faces the rest of the default finds).
TEST(Detect, TwoStageSmallLimitLeavesLargerFacesOut) {
  REQUIRE_DATA();
  const auto faces = frontal_faces(10);
  auto unlimited = make_detector("two-stage-small");
  auto limited = make_detector("two-stage-small:100");
  test::Rng rng(4);
  int unlimited_large = 0, limited_large = 0, limited_small = 0;
  for (const auto& face : faces) {
    cv::Mat frame = test::make_background({640, 480}, test::Background::kGradient, rng);
    const auto large = test::place_face(frame, face, {180, 240}, 160, 0);
    const auto small = test::place_face(frame, face, {480, 240}, 56, 0);
    const cv::Mat gray = gray_of(frame);
    unlimited_large += matching(unlimited->detect(gray), large);
    const auto boxes = limited->detect(gray);
    limited_large += matching(boxes, large);
    limited_small += matching(boxes, small);
    for (const auto& b : boxes) EXPECT_LE(b.box.width, 130) << "a box well above the 100 px limit";
  }
  EXPECT_GE(unlimited_large, 5) << "the unlimited detector should find the large faces (else this test proves nothing)";
  // A proposal at the limit on part of a large face can still verify as a box near it (1 of 10).
  EXPECT_LE(limited_large, 2);
  EXPECT_GE(limited_small, 6);
}

// A|group:B keeps B's boxes in a group only: a lone small face that only B finds is dropped, two
// small faces are kept, and so is a small face beside a face A finds (the photo default's
// small-face stage counts in group photos, not as a lone box on a photo of text or texture).
// What it drops it holds back: its boxes, or else held_back(), are exactly A|B's.
TEST(Detect, GroupUnionKeepsSmallFacesInGroupsOnly) {
  REQUIRE_DATA();
  const auto faces = frontal_faces(8);
  auto plain = make_detector("hog|two-stage-small:100");
  auto grouped = make_detector("hog|group:two-stage-small:100");
  const auto rects = [](const std::vector<FaceBox>& boxes) {
    std::vector<std::array<int, 4>> out;
    for (const auto& b : boxes) out.push_back({b.box.x, b.box.y, b.box.width, b.box.height});
    return out;
  };
  test::Rng rng(6);
  int lone_plain = 0, lone_grouped = 0, pair_plain = 0, pair_grouped = 0, beside_large = 0, held = 0;
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const auto& face = faces[i];
    const auto& other = faces[(i + 1) % faces.size()];
    cv::Mat lone = test::make_background({640, 480}, test::Background::kGradient, rng);
    const auto small = test::place_face(lone, face, {320, 240}, 44, 0);
    const auto lone_plain_boxes = plain->detect(gray_of(lone));
    const auto lone_grouped_boxes = grouped->detect(gray_of(lone));
    lone_plain += matching(lone_plain_boxes, small);
    lone_grouped += matching(lone_grouped_boxes, small);
    held += matching(grouped->held_back(), small);
    EXPECT_EQ(rects(lone_grouped_boxes.empty() ? grouped->held_back() : lone_grouped_boxes), rects(lone_plain_boxes)) << i;

    cv::Mat pair = test::make_background({640, 480}, test::Background::kGradient, rng);
    const auto left = test::place_face(pair, face, {200, 240}, 44, 0);
    const auto right = test::place_face(pair, other, {440, 240}, 44, 0);
    const auto plain_boxes = plain->detect(gray_of(pair));
    const auto pair_boxes = grouped->detect(gray_of(pair));
    if (matching(plain_boxes, left) > 0 && matching(plain_boxes, right) > 0) {
      ++pair_plain;
      pair_grouped += matching(pair_boxes, left) > 0 && matching(pair_boxes, right) > 0;
    }

    cv::Mat mixed = test::make_background({640, 480}, test::Background::kGradient, rng);
    const auto large = test::place_face(mixed, face, {180, 240}, 160, 0);
    const auto beside = test::place_face(mixed, other, {480, 240}, 44, 0);
    const auto mixed_boxes = grouped->detect(gray_of(mixed));
    beside_large += matching(mixed_boxes, large) > 0 && matching(mixed_boxes, beside) > 0;
    if (!mixed_boxes.empty()) {
      EXPECT_TRUE(grouped->held_back().empty()) << "held back from a detect() that returned faces";
    }
  }
  EXPECT_GE(lone_plain, 5) << "the ungrouped union should find the lone small faces (else this test proves nothing)";
  EXPECT_EQ(lone_grouped, 0);
  EXPECT_EQ(held, lone_plain) << "each lone small face dropped is held back";
  EXPECT_GE(pair_plain, 4);
  EXPECT_EQ(pair_grouped, pair_plain) << "a pair of small faces is a group";
  EXPECT_GE(beside_large, 5);
}

// Scenes of the detection set (vision_bench detectors; (seed, index, side)) whose frontal face an
// earlier default missed and today's finds (docs/vision.md): six that hog-confirmed missed and its
// 1.2x-enlarged pass (hog-confirmed-zoom) found, and four that hog-confirmed-zoom missed on
// detection sets generated after it was chosen, found by the passes at rolls of +-8 and +-16
// degrees and the rolled passes on the enlarged frame (hog-confirmed-wide).
TEST(Detect, DefaultFindsFacesTheEarlierDefaultsMissed) {
  REQUIRE_DATA();
  const auto pool = test::list_fer_faces(fer_val());
  struct SceneId {
    std::uint64_t seed;
    int index, side;
  };
  auto found_by = [&](std::string_view name, const auto& scenes) {
    auto detector = make_detector(name);
    int found = 0;
    for (const SceneId& id : scenes) {
      const auto scene = test::detection_scene(pool, id.seed, id.index, id.side, 15);
      found += matching(detector->detect(gray_of(scene.bgr)), scene.faces.at(0));
    }
    return found;
  };
  const std::vector<SceneId> missed_by_confirmed = {{2024, 5, 88},   {2024, 15, 88}, {2024, 72, 112},
                                                    {2024, 179, 88}, {11, 107, 112}, {11, 115, 112}};
  const std::vector<SceneId> missed_by_zoom = {{31, 64, 112}, {31, 298, 240}, {41, 224, 192}, {41, 266, 240}};
  EXPECT_EQ(found_by("hog-confirmed", missed_by_confirmed), 0);
  EXPECT_EQ(found_by("hog-confirmed-zoom", missed_by_confirmed), 6);
  EXPECT_EQ(found_by("hog-confirmed-zoom", missed_by_zoom), 0);
  EXPECT_EQ(found_by(kDefaultDetector, missed_by_confirmed), 6);
  EXPECT_EQ(found_by(kDefaultDetector, missed_by_zoom), 4);
}

// Group photos: five real faces of 38-44 px in each of four 640x480 scenes (test::group_scene,
// seed 11, scenes 0-3; faces of the shared realfaces photos that HOG and Haar both find at the
// photo's own size; the same scenes as `vision_bench --seed 11 small-faces --photos 60 --faces 5
// --min-side 38 --max-side 44 --max-angle 5`). The photo default finds every one (at this size
// it finds ~90% of faces, docs/vision.md, so these scenes are fixed, not drawn);
// hog-confirmed-wide, the default without the small-face stage, misses most of them.
TEST(Detect, DefaultFindsEverySmallFaceOfAGroupPhoto) {
  const auto dir = test::realfaces_root(MOODTUNES_DATA_DIR) / "val";
  if (!std::filesystem::is_directory(dir / "happy")) GTEST_SKIP() << "realfaces data not found at " << dir << " (set MOODTUNES_DATA)";
  const auto all = test::list_fer_faces(dir);
  test::FerPool pool;  // 60 photos spread over the sorted list (every class)
  for (std::size_t k = 0; k < 60; ++k) {
    pool.files.push_back(all.files[k * all.files.size() / 60]);
    pool.labels.push_back(all.labels[k * all.files.size() / 60]);
  }
  auto hog = make_detector("hog"), haar = make_detector("haar");
  const auto located = test::locate_faces(pool, *hog, haar.get());
  ASSERT_GE(located.size(), 30u);
  auto found_by = [](FaceDetector& detector, const std::vector<test::Scene>& scenes) {
    int found = 0;
    for (const auto& scene : scenes) {
      const auto boxes = detector.detect(gray_of(scene.bgr));
      for (const auto& f : scene.faces)
        found += std::any_of(boxes.begin(), boxes.end(), [&](const FaceBox& b) { return test::matches(b.box, f); });
    }
    return found;
  };
  std::vector<test::Scene> scenes;
  int faces = 0;
  for (int i = 0; i < 4; ++i) {
    scenes.push_back(test::group_scene(pool, located, 11, i, 5, 38, 44, 5));
    faces += static_cast<int>(scenes.back().faces.size());
  }
  ASSERT_EQ(faces, 20);
  EXPECT_EQ(found_by(*make_detector(kDefaultDetector), scenes), faces);
  EXPECT_LE(found_by(*make_detector("hog-confirmed-wide"), scenes), faces / 2);
}

// The fitted framing must bring the crop much closer to the true FER square than the raw
// detector box does (IoU with the FER square, and correlation of the 48x48 crop with the face).
TEST(FerCrop, FittedFramingReproducesTheFerCropBetterThanTheRawBox) {
  REQUIRE_DATA();
  const auto faces = frontal_faces(12);
  auto hog = make_detector("hog");
  test::Rng rng(8);
  const FerFraming raw{0, 0, 1};
  double iou_fit = 0, iou_raw = 0, corr_fit = 0, corr_raw = 0;
  int n = 0;
  auto corr = [](const cv::Mat& a, const cv::Mat& b) {
    cv::Mat score;
    cv::matchTemplate(a, b, score, cv::TM_CCOEFF_NORMED);
    return double(score.at<float>(0, 0));
  };
  for (const auto& face : faces) {
    cv::Mat frame = test::make_background({640, 480}, test::Background::kClutter, rng);
    const auto placed = test::place_face(frame, face, {320, 240}, 180, 0);
    const cv::Mat gray = gray_of(frame);
    const auto boxes = hog->detect(gray);
    if (boxes.empty() || !test::matches(boxes[0].box, placed)) continue;
    const cv::Rect2d fit = fer_crop_rect(boxes[0].box, BoxStyle::kHog), plain = fer_crop_rect(boxes[0].box, raw);
    iou_fit += (fit & placed.fer_rect).area() / (fit | placed.fer_rect).area();
    iou_raw += (plain & placed.fer_rect).area() / (plain | placed.fer_rect).area();
    corr_fit += corr(to_face_gray(crop_square(gray, fit)), face);
    corr_raw += corr(to_face_gray(crop_square(gray, plain)), face);
    ++n;
  }
  ASSERT_GE(n, 10);
  EXPECT_GT(iou_fit / n, 0.75);
  EXPECT_GT(iou_fit / n, iou_raw / n + 0.1);
  EXPECT_GT(corr_fit / n, corr_raw / n + 0.05);
  RecordProperty("iou_fit", std::to_string(iou_fit / n));
  std::printf("IoU with FER square: fitted %.3f, raw box %.3f; crop correlation: fitted %.3f, raw %.3f (n=%d)\n", iou_fit / n,
              iou_raw / n, corr_fit / n, corr_raw / n, n);
}

// Faces rolled by 14 degrees: the +rot passes find them and report the direction of the roll.
// (Whether levelling the crop helps is measured by `vision_bench crop-gap --max-angle 15`; the
// crop correlations are printed for the record.)
TEST(Detect, RotationPassesFindRolledFacesAndLevelTheCrop) {
  REQUIRE_DATA();
  const auto faces = frontal_faces(12);
  auto rot = make_detector("hog+rot");
  test::Rng rng(21);
  int found = 0, right_roll = 0;
  double corr_level = 0, corr_plain = 0;
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const double roll = i % 2 ? 14 : -14;
    cv::Mat frame = test::make_background({640, 480}, test::Background::kTexture, rng);
    const auto placed = test::place_face(frame, faces[i], {320, 240}, 170, roll);
    const cv::Mat gray = gray_of(frame);
    for (const auto& b : rot->detect(gray)) {
      if (!test::matches(b.box, placed)) continue;
      ++found;
      right_roll += b.angle * roll > 0;
      cv::Mat level, plain, s1, s2;
      cv::matchTemplate(to_face_gray(crop_fer_face(gray, b.box, BoxStyle::kHog, b.angle)), faces[i], s1, cv::TM_CCOEFF_NORMED);
      cv::matchTemplate(to_face_gray(crop_fer_face(gray, b.box, BoxStyle::kHog, 0)), faces[i], s2, cv::TM_CCOEFF_NORMED);
      corr_level += s1.at<float>(0, 0);
      corr_plain += s2.at<float>(0, 0);
      break;
    }
  }
  ASSERT_GE(found, 11);
  EXPECT_GE(right_roll * 4, found * 3);
  std::printf("rolled faces: %d found, roll sign right %d; crop correlation levelled %.3f, unlevelled %.3f\n", found, right_roll,
              corr_level / found, corr_plain / found);
}

TEST(FerCrop, CropsLeavingTheFrameAreFilledNotClipped) {
  cv::Mat img(100, 100, CV_8UC1, cv::Scalar(200));
  const cv::Mat c = crop_square(img, cv::Rect2d(-30, 80, 60, 60));
  EXPECT_EQ(c.size(), cv::Size(60, 60));
  EXPECT_EQ(c.at<uchar>(0, 0), 200);
  const cv::Mat outside = crop_square(img, cv::Rect2d(500, 500, 20, 20));
  EXPECT_EQ(outside.size(), cv::Size(20, 20));
}

TEST(Detect, OddInputsDoNotCrash) {
  auto hog = make_detector("hog");
  EXPECT_TRUE(hog->detect(cv::Mat(10, 10, CV_8UC1, cv::Scalar(0))).empty());
  EXPECT_TRUE(hog->detect(cv::Mat(1, 2000, CV_8UC1, cv::Scalar(0))).empty());
  EXPECT_EQ(to_gray(cv::Mat(4, 4, CV_16UC1, cv::Scalar(65535))).at<uchar>(0, 0), 255);
  EXPECT_EQ(to_gray(cv::Mat(4, 4, CV_8UC4, cv::Scalar(9, 9, 9, 0))).type(), CV_8UC1);
  EXPECT_THROW(to_gray(cv::Mat()), std::invalid_argument);
  EXPECT_THROW(make_detector("nope"), std::invalid_argument);
}

// detector_names() is the one list behind the CLI's help and the benches' defaults.
TEST(Detect, EveryListedNameBuildsADetectorAndTheDefaultComesFirst) {
  const auto names = detector_names();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), kDefaultDetector);
  for (const auto& name : names) EXPECT_NO_THROW(make_detector(name)) << name;
  try {
    make_detector("nope");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(joined_detector_names(", ")), std::string::npos) << e.what();
  }
}

TEST(Group, ReadingIsTheAreaWeightedMean) {
  FaceReading big, small;
  big.box = cv::Rect(0, 0, 200, 200);
  small.box = cv::Rect(0, 0, 100, 100);
  big.smoothed.fill(0);
  small.smoothed.fill(0);
  big.smoothed[static_cast<int>(Emotion::kHappy)] = 1;
  small.smoothed[static_cast<int>(Emotion::kSad)] = 1;
  const auto g = group_reading({big, small}, true);
  ASSERT_TRUE(g);
  EXPECT_NEAR(g->probs[static_cast<int>(Emotion::kHappy)], 0.8, 1e-6);
  EXPECT_NEAR(g->probs[static_cast<int>(Emotion::kSad)], 0.2, 1e-6);
  EXPECT_EQ(g->emotion, Emotion::kHappy);
  EXPECT_FALSE(group_reading({}, true));
}

// The live pipeline reads a tracked face through one test-time view per classification: ten
// readings of a still face use each ten-crop view of its crop once; with no views, the plain crop.
// A new face's first reading averages all views, when asked.
TEST(Pipeline, ReadingsCycleThroughTheTestTimeViews) {
  REQUIRE_MODEL(clf);
  const auto faces = frontal_faces(1);
  ASSERT_EQ(faces.size(), 1u);
  cv::Mat frame(480, 640, CV_8UC3, cv::Scalar::all(128));
  test::place_face(frame, faces[0], {320, 240}, 192, 0);
  const cv::Mat gray = gray_of(frame);
  auto distance = [](const EmotionProbs& a, const EmotionProbs& b) {
    float d = 0;
    for (std::size_t c = 0; c < kNumEmotions; ++c) d = std::max(d, std::abs(a[c] - b[c]));
    return d;
  };
  for (auto views : {TestTimeAugmentation::kNone, TestTimeAugmentation::kTenCrop}) {
    PipelineParams params;
    params.classify_every = 1;
    params.reading_views = views;
    params.first_reading_all_views = false;
    Pipeline pipe(clf, params);
    std::vector<int> uses(tta_view_count(views), 0);
    for (int i = 0; i < 10; ++i) {
      const auto r = pipe.process(frame, i / 30.0);
      ASSERT_EQ(r.faces.size(), 1u) << "frame " << i;
      ASSERT_TRUE(r.faces[0].classified_now);
      // Which view of this frame's crop gave the reading?
      const auto candidates = tta_views(preprocess_face(crop_fer_face(gray, r.faces[0].box, BoxStyle::kHog)), views);
      int match = -1;
      for (std::size_t v = 0; v < candidates.size(); ++v)
        if (distance(clf.classify_views({candidates[v]}).front(), r.faces[0].probs) < 1e-5) match = static_cast<int>(v);
      ASSERT_GE(match, 0) << "reading " << i << " is none of the crop's views";
      ++uses[static_cast<std::size_t>(match)];
    }
    if (views == TestTimeAugmentation::kNone) EXPECT_EQ(uses[0], 10);
    else for (std::size_t v = 0; v < uses.size(); ++v) EXPECT_EQ(uses[v], 1) << "view " << v;
  }
  PipelineParams params;
  params.classify_every = 1;
  ASSERT_TRUE(params.first_reading_all_views);
  Pipeline pipe(clf, params);
  const auto first = pipe.process(frame, 0);
  ASSERT_EQ(first.faces.size(), 1u);
  const cv::Mat input = preprocess_face(crop_fer_face(gray, first.faces[0].box, BoxStyle::kHog));
  EXPECT_LT(distance(first.faces[0].probs, clf.classify_preprocessed({input}, params.reading_views).front()), 1e-5);
  const auto second = pipe.process(frame, 1 / 30.0);  // then one view: the first of the cycle, the centre crop
  ASSERT_EQ(second.faces.size(), 1u);
  const cv::Mat input2 = preprocess_face(crop_fer_face(gray, second.faces[0].box, BoxStyle::kHog));
  EXPECT_LT(distance(second.faces[0].probs, clf.classify_views({tta_views(input2, params.reading_views)[0]}).front()), 1e-5);
}

// The local search scans only the pyramid levels near the tracked face's size
// (PipelineParams::local_pyramid_levels). A face approaching the camera fast, then receding,
// must keep its track between full detections: 6% larger or smaller every frame is 2.4x in
// half a second at 30 fps, faster than a person leans in.
TEST(Pipeline, LocalSearchKeepsAFaceThatApproachesAndRecedesFast) {
  REQUIRE_MODEL(clf);
  const auto faces = frontal_faces(3);
  ASSERT_EQ(faces.size(), 3u);
  test::Rng rng(3);
  const cv::Mat background = test::make_background({640, 480}, test::Background::kClutter, rng);
  for (const auto& face : faces) {
    PipelineParams params;
    params.full_detect_every = 1000;  // after the first frame, local search alone
    Pipeline pipe(clf, params);
    std::vector<double> sides;
    for (double s = 110; s < 420; s *= 1.06) sides.push_back(s);
    for (double s = 420; s > 110; s /= 1.06) sides.push_back(s);
    int tracked = 0;
    std::set<int> ids;
    for (std::size_t i = 0; i < sides.size(); ++i) {
      cv::Mat frame = background.clone();
      test::place_face(frame, face, {320, 240}, sides[i], 0);
      const auto r = pipe.process(frame, static_cast<double>(i) / 30);
      if (!r.faces.empty()) ++tracked, ids.insert(r.faces[0].track_id);
    }
    EXPECT_EQ(tracked, static_cast<int>(sides.size()));
    EXPECT_EQ(ids.size(), 1u);
  }
}

// A tight face crop (the face is the whole image, as in a cropped selfie) leaves HOG no margin;
// the photo path then reads it framed by a border, and reports boxes inside the image.
TEST(Detect, PhotoPathReadsTightFaceCrops) {
  REQUIRE_MODEL(clf);
  const auto faces = frontal_faces(12);
  ASSERT_EQ(faces.size(), 12u);
  auto detector = make_detector(kDefaultDetector);
  ImageAnalysisOptions without;
  without.retry_as_crop = false;
  without.tta = TestTimeAugmentation::kNone;
  ImageAnalysisOptions with = without;
  with.retry_as_crop = true;
  int found_without = 0, found_with = 0;
  for (const auto& face : faces) {
    // Tighter than FER's framing: the middle 70% of the face, brows to chin.
    const int margin = static_cast<int>(0.15 * face.cols);
    cv::Mat crop;
    cv::resize(face(cv::Rect(margin, margin, face.cols - 2 * margin, face.rows - 2 * margin)), crop, {224, 224}, 0, 0,
               cv::INTER_CUBIC);
    found_without += !analyse_image(crop, *detector, clf, without).faces.empty();
    const auto r = analyse_image(crop, *detector, clf, with);
    found_with += !r.faces.empty();
    for (const auto& f : r.faces) {
      EXPECT_EQ(f.box & cv::Rect(0, 0, 224, 224), f.box);
      EXPECT_GE(f.box.width, 0.4 * 224);
    }
  }
  std::printf("tight crops with a face found: %d of 12 without the retry, %d with it\n", found_without, found_with);
  EXPECT_GE(found_with, 11);
  EXPECT_GT(found_with, found_without);
}

// Web face crops (realfaces val) in which the photo detector finds no face, neither in the photo
// nor in the framed crop: the lenient look finds each, as a face that fills the image.
TEST(Detect, PhotoPathLenientLookReadsFaceCropsTheDetectorMisses) {
  REQUIRE_MODEL(clf);
  const auto dir = test::realfaces_root(MOODTUNES_DATA_DIR) / "val";
  if (!std::filesystem::is_directory(dir / "happy")) GTEST_SKIP() << "realfaces data not found at " << dir << " (set MOODTUNES_DATA)";
  const std::vector<std::string> photos = {"angry/web_903384f6742b.jpg",   "angry/web_c251937d238f.jpg",
                                           "fear/web_5a888676ebe7.jpg",    "fear/web_98709a317914.jpg",
                                           "happy/web_387dfa366867.jpg",   "neutral/web_7fb6e673c07b.jpg",
                                           "sad/web_4ce033cf60c0.jpg",     "surprise/web_bebff019b448.jpg"};
  auto detector = make_detector(kDefaultDetector);
  ImageAnalysisOptions without;
  without.tta = TestTimeAugmentation::kNone;
  without.lenient_crop_detector = "";
  ImageAnalysisOptions with = without;
  with.lenient_crop_detector = std::string(kLenientCropDetector);
  int found_without = 0, found_with = 0;
  for (const auto& name : photos) {
    const cv::Mat photo = read_image(dir / name).bgr;
    found_without += !analyse_image(photo, *detector, clf, without).faces.empty();
    const auto r = analyse_image(photo, *detector, clf, with);
    found_with += !r.faces.empty();
    for (const auto& f : r.faces) {
      EXPECT_EQ(f.box & cv::Rect(0, 0, photo.cols, photo.rows), f.box) << name;
      EXPECT_GE(f.box.width, 0.6 * std::min(photo.cols, photo.rows)) << name;
    }
  }
  std::printf("face crops with a face found: %d of %zu without the lenient look, %d with it\n", found_without, photos.size(), found_with);
  EXPECT_EQ(found_without, 0);
  EXPECT_EQ(found_with, static_cast<int>(photos.size()));
}

// The retry keeps only faces that fill most of the image: a frame with no face stays empty.
TEST(Detect, PhotoPathRetryAddsNoFacesToEmptyScenes) {
  REQUIRE_MODEL(clf);
  auto detector = make_detector(kDefaultDetector);
  test::Rng rng(21);
  for (int k = 0; k < test::kBackgroundKinds; ++k) {
    const auto kind = static_cast<test::Background>(k);
    const cv::Mat scene = test::make_background({640, 480}, kind, rng);
    EXPECT_TRUE(analyse_image(scene, *detector, clf, {}).faces.empty());
    // and a crop-sized square of it, which the lenient look also reads
    EXPECT_TRUE(analyse_image(scene(cv::Rect(208, 128, 224, 224)).clone(), *detector, clf, {}).faces.empty());
  }
}
