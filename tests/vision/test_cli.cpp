// End-to-end: the `moodtunes detect` and `moodtunes live` commands on files the test builds
// (scenes composed from FER val faces, a generated MJPG video, corrupt inputs), read back
// through the real binary.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "model/classifier.hpp"
#include "vision/pipeline.hpp"
#include "test_util.hpp"
#include "vision_test_util.hpp"

using namespace moodtunes;
using namespace moodtunes::vision;
using namespace moodtunes::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct CmdResult {
  int code = -1;
  std::string out, err;
  std::vector<json> lines() const {
    std::vector<json> v;
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) v.push_back(json::parse(l));
    return v;
  }
};

class VisionCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_data()) GTEST_SKIP() << "FER data not found (set MOODTUNES_DATA)";
    model_ = model_path();
    if (model_.empty()) GTEST_SKIP() << "no model: set MOODTUNES_MODEL or ship models/moodtunes-fer.mtm";
    dir_ = fs::temp_directory_path() / ("moodtunes-vision-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {  // MOODTUNES_KEEP_TMP=1 keeps the generated files for inspection
    const char* keep = std::getenv("MOODTUNES_KEEP_TMP");
    if (!dir_.empty() && !(keep && *keep == '1')) fs::remove_all(dir_);
  }

  CmdResult moodtunes(const std::string& args) const {
    const std::string err = (dir_ / "stderr.txt").string();
    const std::string cmd = std::string(MOODTUNES_BINARY) + " " + args + " 2>" + err;
    CmdResult r;
    r.out = moodtunes::test::run_shell(cmd, &r.code);
    std::ifstream e(err);
    r.err.assign(std::istreambuf_iterator<char>(e), {});
    return r;
  }
  std::string model_flag() const { return " --model '" + model_ + "'"; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string model_;
  fs::path dir_;
};

cv::Mat face_scene(const cv::Mat& face, int seed, test::PlacedFace* placed = nullptr) {
  test::Rng rng(seed);
  cv::Mat frame = test::make_background({640, 480}, test::Background::kClutter, rng);
  const auto p = test::place_face(frame, face, {300, 230}, 170, 0);
  if (placed) *placed = p;
  return frame;
}

}  // namespace

TEST_F(VisionCli, DetectReportsFacesNoFaceAndErrorsInOneCall) {
  const auto faces = frontal_faces(2);
  test::PlacedFace placed;
  const cv::Mat scene = face_scene(faces[0], 1, &placed);
  ASSERT_TRUE(cv::imwrite(path("face.jpg"), scene));
  test::Rng rng(2);
  ASSERT_TRUE(cv::imwrite(path("empty.png"), test::make_background({640, 480}, test::Background::kTexture, rng)));
  cv::Mat deep;  // 16-bit grayscale version of the face scene
  gray_of(scene).convertTo(deep, CV_16U, 257);
  ASSERT_TRUE(cv::imwrite(path("deep.png"), deep));
  cv::Mat rgba;
  cv::cvtColor(scene, rgba, cv::COLOR_BGR2BGRA);
  ASSERT_TRUE(cv::imwrite(path("rgba.png"), rgba));
  std::ofstream(path("corrupt.jpg")) << "\xFF\xD8\xFF\xE0 this is not really a jpeg";

  const auto r = moodtunes("detect" + model_flag() + " " + path("face.jpg") + " " + path("empty.png") + " " + path("corrupt.jpg") +
                           " " + path("deep.png") + " " + path("rgba.png") + " /nonexistent/x.png");
  EXPECT_EQ(r.code, 1) << r.err;  // unreadable files win over "no face"
  const auto lines = r.lines();
  ASSERT_EQ(lines.size(), 6u) << r.out;
  for (std::size_t i : {0u, 3u, 4u}) {
    const auto& j = lines[i];
    ASSERT_EQ(j["status"], "ok") << j.dump();
    ASSERT_EQ(j["faces"].size(), 1u) << j.dump();
    const auto& f = j["faces"][0];
    const cv::Rect box(f["box"]["x"], f["box"]["y"], f["box"]["w"], f["box"]["h"]);
    EXPECT_TRUE(test::matches(box, placed)) << j.dump();
    double sum = 0;
    for (const auto& [k, v] : f["probabilities"].items()) sum += v.get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-3);
    EXPECT_TRUE(f["probabilities"].contains(f["emotion"].get<std::string>()));
    EXPECT_EQ(j["group"]["emotion"], f["emotion"]);
  }
  EXPECT_EQ(lines[1]["status"], "no_face");
  EXPECT_EQ(lines[1]["message"], "no face found");
  EXPECT_TRUE(lines[1]["faces"].empty());
  EXPECT_EQ(lines[2]["status"], "error");
  EXPECT_EQ(lines[5]["status"], "error");
  EXPECT_NE(lines[5]["error"].get<std::string>().find("no such file"), std::string::npos);
}

// Lone 40 px faces: the default counts the small-face stage's boxes in a group only, so it reports
// only the few its large-face part finds, and says where it left one out; --small-faces reports
// those and most others.
TEST_F(VisionCli, DetectSmallFacesReportsALoneSmallFace) {
  const auto faces = lone_small_face_scenes(6);
  ASSERT_EQ(faces.size(), 6u);
  std::string images;
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const std::string name = path("small" + std::to_string(i) + ".png");
    ASSERT_TRUE(cv::imwrite(name, faces[i]));
    images += " " + name;
  }
  const auto plain = moodtunes("detect --tta none" + model_flag() + images);
  const auto lone = moodtunes("detect --tta none --small-faces" + model_flag() + images);
  const auto plain_lines = plain.lines(), lone_lines = lone.lines();
  ASSERT_EQ(plain_lines.size(), faces.size()) << plain.err;
  ASSERT_EQ(lone_lines.size(), faces.size()) << lone.err;
  int plain_found = 0, lone_found = 0;
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const bool p = plain_lines[i]["status"] == "ok", l = lone_lines[i]["status"] == "ok";
    EXPECT_TRUE(l || !p) << "--small-faces lost a face the default found: " << lone_lines[i].dump();
    if (!p) {
      // The hint exactly where the option finds the face.
      EXPECT_EQ(plain_lines[i]["message"].get<std::string>().find("--small-faces") != std::string::npos, l)
          << plain_lines[i].dump() << lone_lines[i].dump();
    }
    plain_found += p;
    lone_found += l;
  }
  EXPECT_LE(plain_found, 3) << plain.out;
  EXPECT_GE(lone_found, plain_found + 3) << lone.out;
}

TEST_F(VisionCli, DetectExitCodesAndAnnotation) {
  const auto faces = frontal_faces(1);
  ASSERT_TRUE(cv::imwrite(path("face.png"), face_scene(faces[0], 4)));
  test::Rng rng(5);
  ASSERT_TRUE(cv::imwrite(path("empty.png"), test::make_background({320, 240}, test::Background::kText, rng)));

  auto r = moodtunes("detect" + model_flag() + " " + path("face.png") + " --annotate " + path("out.png"));
  EXPECT_EQ(r.code, 0) << r.err;
  const cv::Mat out = cv::imread(path("out.png"));
  ASSERT_FALSE(out.empty());
  EXPECT_GT(cv::norm(out, cv::imread(path("face.png")), cv::NORM_L1), 0);  // something was drawn

  // Ten-crop TTA is the default for photos; --tta none reads the same face from one view.
  const auto ten_crop = r.lines().at(0)["faces"].at(0)["probabilities"];
  r = moodtunes("detect" + model_flag() + " --tta none " + path("face.png"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.lines().at(0)["faces"].at(0)["probabilities"], ten_crop);
  r = moodtunes("detect" + model_flag() + " --tta ten-crop " + path("face.png"));
  EXPECT_EQ(r.lines().at(0)["faces"].at(0)["probabilities"], ten_crop);
  r = moodtunes("detect" + model_flag() + " --tta sideways " + path("face.png"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--tta"), std::string::npos) << r.err;

  r = moodtunes("detect" + model_flag() + " " + path("empty.png"));
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("no face found"), std::string::npos);

  // A large photo (12 MP): detection runs on a bounded copy, the box comes back in full-size pixels.
  test::Rng big_rng(6);
  cv::Mat big = test::make_background({4000, 3000}, test::Background::kGradient, big_rng);
  const auto big_face = test::place_face(big, faces[0], {2400, 1300}, 700, 0);
  ASSERT_TRUE(cv::imwrite(path("big.jpg"), big));
  r = moodtunes("detect" + model_flag() + " " + path("big.jpg"));
  EXPECT_EQ(r.code, 0) << r.err;
  const auto big_lines = r.lines();
  ASSERT_EQ(big_lines.size(), 1u);
  const auto& bf = big_lines[0]["faces"];
  ASSERT_EQ(bf.size(), 1u) << r.out;
  EXPECT_TRUE(test::matches(cv::Rect(bf[0]["box"]["x"], bf[0]["box"]["y"], bf[0]["box"]["w"], bf[0]["box"]["h"]), big_face)) << r.out;

  // A decompression bomb (PNG header claiming 100000 x 100000) is refused without decoding.
  std::vector<unsigned char> png;
  cv::imencode(".png", cv::Mat(8, 8, CV_8UC1, cv::Scalar(0)), png);
  for (int at : {16, 20}) png[at] = 0, png[at + 1] = 1, png[at + 2] = 0x86, png[at + 3] = 0xA0;
  std::ofstream(path("bomb.png"), std::ios::binary).write(reinterpret_cast<const char*>(png.data()), static_cast<long>(png.size()));
  r = moodtunes("detect" + model_flag() + " " + path("bomb.png"));
  EXPECT_EQ(r.code, 1);
  ASSERT_EQ(r.lines().size(), 1u);
  EXPECT_NE(r.lines()[0]["error"].get<std::string>().find("too large"), std::string::npos);
}

TEST_F(VisionCli, LiveFollowsAFaceThroughAVideoAndItsExpressionChange) {
  // Two faces the model reads confidently as different emotions (its own reading is the truth
  // here: the test checks tracking and smoothing, not the model's accuracy).
  const auto clf = EmotionClassifier::load(model_);
  auto hog = make_detector("hog");
  const auto candidates = frontal_faces(40);
  // The video: 4 s at 30 fps over one background; face A drifts right for 2 s, then face B
  // continues the same path.
  test::Rng rng(9);
  const cv::Mat bg = test::make_background({640, 480}, test::Background::kClutter, rng);
  constexpr int kFrames = 120, kChange = 60;
  auto frame_at = [&](const cv::Mat& face, int i) {
    cv::Mat frame = bg.clone();
    test::place_face(frame, face, {180 + 2.0 * i, 230 + 20 * std::sin(i / 15.0)}, 170, 0);
    return frame;
  };
  // For each candidate face: the model's mean reading over three points of that path, its label
  // and margin over the runner-up. A = the most decisive face, B = the most decisive face with
  // another label; B's margin must clearly beat the hysteresis so "follows within 1 s" is a
  // property of the smoothing, not of an undecided model.
  struct Pick { double margin = -1; std::size_t index = 0; Emotion label{}; };
  std::vector<Pick> picks;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto r = test::steady_reading({frame_at(candidates[i], 10), frame_at(candidates[i], 60), frame_at(candidates[i], 110)},
                                         *hog, clf);
    if (r) picks.push_back({r->margin, i, r->label});
  }
  std::sort(picks.begin(), picks.end(), [](const Pick& x, const Pick& y) { return x.margin > y.margin; });
  ASSERT_FALSE(picks.empty());
  const auto other = std::find_if(picks.begin(), picks.end(), [&](const Pick& p) { return p.label != picks[0].label; });
  ASSERT_TRUE(other != picks.end() && other->margin >= 0.3)
      << "the model reads all " << picks.size() << " faces as " << emotion_name(picks[0].label)
      << " or without a clear margin (is it trained?)";
  const cv::Mat a = candidates[picks[0].index], b = candidates[other->index];
  const Emotion ea = picks[0].label, eb = other->label;

  const std::string video = path("face.avi");
  cv::VideoWriter writer(video, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 30, cv::Size(640, 480));
  ASSERT_TRUE(writer.isOpened()) << "OpenCV cannot write MJPG/AVI";
  for (int i = 0; i < kFrames; ++i) writer.write(frame_at(i < kChange ? a : b, i));
  writer.release();

  const auto r = moodtunes("live --no-window --input " + video + model_flag());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = r.lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kFrames));
  std::set<int> ids;
  int with_face = 0, changed_at = -1, flips_before = 0;
  std::string story;  // run-length labels, for failure messages: "happy x60, neutral x5, ..."
  std::string last;
  int run = 0;
  for (int i = 0; i < kFrames; ++i) {
    const auto& j = lines[static_cast<std::size_t>(i)];
    ASSERT_EQ(j["frame"], i);
    EXPECT_NEAR(j["time"].get<double>(), i / 30.0, 0.002);
    EXPECT_TRUE(j.contains("group"));
    if (j["faces"].empty()) continue;
    ++with_face;
    EXPECT_EQ(j["faces"].size(), 1u);
    const auto& f = j["faces"][0];
    ids.insert(f["id"].get<int>());
    for (const char* key : {"box", "probabilities", "smoothed", "emotion"}) EXPECT_TRUE(f.contains(key)) << key;
    const std::string label = f["emotion"];
    if (label != last && run) story += last + " x" + std::to_string(run) + ", ", run = 0;
    last = label, ++run;
    if (i < kChange) flips_before += label != emotion_name(ea);
    if (i >= kChange && changed_at < 0 && label == emotion_name(eb)) changed_at = i;
  }
  story += last + " x" + std::to_string(run);
  SCOPED_TRACE("A=" + std::string(emotion_name(ea)) + " B=" + std::string(emotion_name(eb)) + " labels: " + story);
  EXPECT_GE(with_face, kFrames * 95 / 100);
  EXPECT_EQ(ids.size(), 1u) << "track id changed";
  EXPECT_EQ(flips_before, 0) << "label unstable on a held expression";
  ASSERT_GE(changed_at, kChange) << "label never followed the change to " << emotion_name(eb);
  EXPECT_LE(changed_at - kChange, 30) << "label took more than 1 s to follow";
  for (int i = changed_at; i < kFrames; ++i) {
    const auto& faces = lines[static_cast<std::size_t>(i)]["faces"];
    if (!faces.empty()) {
      EXPECT_EQ(faces[0]["emotion"], emotion_name(eb)) << "frame " << i;
    }
  }
}

TEST_F(VisionCli, LiveBadInputsGiveClearErrors) {
  auto r = moodtunes("live --no-window --input " + path("missing.avi") + model_flag());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no such video"), std::string::npos) << r.err;

  std::ofstream(path("junk.avi"), std::ios::binary) << std::string(5000, '\x42');
  r = moodtunes("live --no-window --input " + path("junk.avi") + model_flag());
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.err.find("cannot open video") != std::string::npos || r.err.find("no readable frames") != std::string::npos) << r.err;

  r = moodtunes("live --no-window --camera 97" + model_flag());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot open camera 97"), std::string::npos) << r.err;
}

namespace {
// A PNG whose header claims 16000x16000 16-bit RGBA (2 GB decoded); the rest is filler, since
// the guards must refuse it on the header alone.
void write_png_bomb(const std::string& file) {
  auto be32 = [](std::uint32_t v) {
    return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  };
  std::string png = "\x89PNG\r\n\x1a\n";
  png += be32(13) + "IHDR" + be32(16000) + be32(16000) + std::string("\x10\x06\x00\x00\x00", 5) + be32(0);
  png += be32(4096) + "IDAT" + std::string(4096, '\0') + be32(0);
  std::ofstream(file, std::ios::binary) << png;
}
}  // namespace

TEST_F(VisionCli, EveryPathThatDecodesAnImageRefusesABombAndKeepsTheOthersResults) {
  write_png_bomb(path("bomb.png"));
  const auto faces = frontal_faces(1);
  ASSERT_TRUE(cv::imwrite(path("face.png"), faces[0]));
  cv::imwrite(path("dot.png"), cv::Mat(1, 1, CV_8UC3, cv::Scalar(90, 90, 90)));

  // As a video: refused by its header, at once (it once decoded with no cap: ~5 GB, > 60 s).
  auto r = moodtunes("live --no-window --input " + path("bomb.png") + model_flag());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is a png image, not a video"), std::string::npos) << r.err;
  r = moodtunes("suggest --input " + path("bomb.png") + model_flag());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is a png image, not a video"), std::string::npos) << r.err;

  // classify: one line per image, the bomb and the dot refused, the face still read.
  r = moodtunes("classify " + path("face.png") + " " + path("bomb.png") + " " + path("dot.png") + " " +
                path("face.png") + model_flag());
  EXPECT_EQ(r.code, 1);
  const auto lines = r.lines();
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_TRUE(lines[0].contains("emotion"));
  EXPECT_NE(lines[1].value("error", "").find("too large"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].value("error", "").find("too small to show a face"), std::string::npos) << lines[2];
  EXPECT_TRUE(lines[3].contains("emotion"));

  // A 1x1 image is no face for suggest either.
  r = moodtunes("suggest " + path("dot.png") + model_flag());
  EXPECT_EQ(r.code, 3) << r.err;
}

TEST_F(VisionCli, VideoInputIsAFileNeverACapturePipeline) {
  auto r = moodtunes("suggest --input 'videotestsrc num-buffers=3 ! appsink'" + model_flag());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no such video file"), std::string::npos) << r.err;
}

TEST_F(VisionCli, ATruncatedJpegIsReadWithItsWarningShown) {
  const cv::Mat scene = face_scene(frontal_faces(1)[0], 3);
  std::vector<unsigned char> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", scene, jpeg));
  jpeg.resize(jpeg.size() * 3 / 4);
  std::ofstream(path("cut.jpg"), std::ios::binary).write(reinterpret_cast<const char*>(jpeg.data()),
                                                           static_cast<std::streamsize>(jpeg.size()));
  auto r = moodtunes("classify " + path("cut.jpg") + model_flag());
  ASSERT_EQ(r.lines().size(), 1u) << r.out;
  EXPECT_NE(r.lines()[0].dump().find("truncated"), std::string::npos) << r.out;
  r = moodtunes("suggest " + path("cut.jpg") + model_flag() + " --catalog " + path("none.sqlite"));
  EXPECT_NE(r.err.find("warning: " + path("cut.jpg") + ": truncated"), std::string::npos) << r.err;
}

TEST_F(VisionCli, ValuesTheProgramCannotHonourAreUsageErrors) {
  const auto faces = frontal_faces(1);
  ASSERT_TRUE(cv::imwrite(path("face.png"), faces[0]));
  for (const auto& args : {"detect " + path("face.png") + " --max-pixels 0",
                                 "detect " + path("face.png") + " --max-pixels -5",
                                 "suggest --input " + path("face.png") + " --seconds -1",
                                 std::string("recommend --emotion sad --seed -1"),
                                 std::string("recommend --emotion sad --seed 1e23"),
                                 std::string("recommend --valence nan --arousal 0")}) {
    const auto r = moodtunes(args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
  }
}

TEST_F(VisionCli, AnnotateChecksItsDestinationFirstAndNeverOverwrites) {
  const auto faces = frontal_faces(1);
  fs::create_directories(dir_ / "a");
  fs::create_directories(dir_ / "b");
  const cv::Mat scene = face_scene(faces[0], 4);
  ASSERT_TRUE(cv::imwrite(path("a/x.jpg"), scene));
  ASSERT_TRUE(cv::imwrite(path("b/x.jpg"), scene));
  auto r = moodtunes("detect " + path("a/x.jpg") + " --annotate " + path("out.xyz") + model_flag());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown image type"), std::string::npos) << r.err;
  std::ofstream(path("plain-file")) << "x";
  r = moodtunes("detect " + path("a/x.jpg") + " " + path("b/x.jpg") + " --annotate " + path("plain-file/out/") + model_flag());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot create the folder"), std::string::npos) << r.err;
  r = moodtunes("detect " + path("a/x.jpg") + " " + path("b/x.jpg") + " --annotate " + path("shots/") + model_flag());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "shots/x.annotated.png"));
  EXPECT_TRUE(fs::exists(dir_ / "shots/x-2.annotated.png"));
}
