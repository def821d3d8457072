// `moodtunes suggest`: the whole flow in one command — photo(s), a video or the camera →
// faces → emotion probabilities → mood (valence, arousal) → tracks from the offline catalog.
#include <chrono>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>
#include <opencv2/videoio.hpp>

#include "cli/commands.hpp"
#include "model/classifier.hpp"
#include "music/catalog.hpp"
#include "music/mood.hpp"
#include "music/mood_index.hpp"
#include "music/recommender.hpp"
#include "vision/face_detector.hpp"
#include "vision/image_io.hpp"
#include "vision/pipeline.hpp"

namespace moodtunes::cli {

namespace {

using nlohmann::json;

struct SuggestOptions {
  std::vector<std::string> images;
  int camera = -1;
  std::string video, model, catalog, strategy = "match", session;
  double seconds = 3.0;
  std::size_t count = 10;
  std::uint64_t seed = 1;
  bool json = false;
};

// Faces up to this size with no detection are taken to be a face crop already (FER-style).
constexpr int kCropMaxSide = 128;

struct Reading {
  EmotionProbs probs{};
  double weight = 0;  // accumulated face area
  json faces = json::array();
};

void accumulate(Reading& r, const EmotionProbs& p, double weight) {
  for (std::size_t c = 0; c < kNumEmotions; ++c) r.probs[c] += static_cast<float>(p[c] * weight);
  r.weight += weight;
}

json probs_json(const EmotionProbs& p) {
  json j;
  for (std::size_t c = 0; c < kNumEmotions; ++c) j[std::string(kEmotionNames[c])] = std::round(p[c] * 1e4) / 1e4;
  return j;
}

Reading read_images(const SuggestOptions& o, const EmotionClassifier& clf) {
  Reading r;
  auto detector = vision::make_detector(vision::kDefaultDetector);
  for (const auto& path : o.images) {
    vision::DecodedImage img;
    try {
      img = vision::read_image(path);
    } catch (const std::exception& e) {
      throw CliExit(kExitError, path + ": " + e.what());
    }
    const auto frame = vision::analyse_image(img.bgr, *detector, clf);
    if (!frame.faces.empty()) {
      for (const auto& f : frame.faces) {
        accumulate(r, f.probs, double(f.box.area()));
        r.faces.push_back({{"image", path}, {"emotion", emotion_name(argmax(f.probs))}, {"probabilities", probs_json(f.probs)},
                           {"box", {{"x", f.box.x}, {"y", f.box.y}, {"w", f.box.width}, {"h", f.box.height}}}});
      }
    } else if (img.bgr.rows <= kCropMaxSide && img.bgr.cols <= kCropMaxSide) {
      const auto p = clf.classify(img.bgr);  // a small image with no detectable face: a face crop
      accumulate(r, p, double(img.bgr.total()));
      r.faces.push_back({{"image", path}, {"emotion", emotion_name(argmax(p))}, {"probabilities", probs_json(p)},
                         {"note", "small image without a detectable face: read as a face crop"}});
    } else {
      std::fprintf(stderr, "moodtunes: %s: no face found\n", path.c_str());
    }
  }
  return r;
}

Reading read_stream(const SuggestOptions& o, const EmotionClassifier& clf) {
  cv::VideoCapture cap;
  const bool camera = o.video.empty();
  if (camera ? !cap.open(o.camera) : !cap.open(o.video))
    throw CliExit(kExitError, camera ? "cannot open camera " + std::to_string(o.camera) : "cannot open video " + o.video);
  vision::Pipeline pipeline(clf);
  Reading r;
  const auto start = std::chrono::steady_clock::now();
  const double fps = camera ? 0 : cap.get(cv::CAP_PROP_FPS);
  cv::Mat frame;  // camera frames stay in memory only
  for (long index = 0;; ++index) {
    const double t = camera ? std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
                            : double(index) / (fps > 0 ? fps : 30.0);
    if (t > o.seconds || !cap.read(frame) || frame.empty()) break;
    const auto reading = pipeline.process(frame, t);
    if (reading.group) accumulate(r, reading.group->probs, 1.0);
  }
  return r;
}

std::string spotify_search_link(const music::Track& t) {
  std::string q = t.artist + " " + t.title, out;
  for (unsigned char c : q) {
    if (std::isalnum(c)) out += static_cast<char>(c);
    else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return "https://open.spotify.com/search/" + out;
}

void run_suggest(const SuggestOptions& o) {
  if (o.images.empty() && o.camera < 0 && o.video.empty())
    throw CliExit(kExitUsage, "give one or more images, --camera N or --input VIDEO");
  const auto clf = EmotionClassifier::load(model_path(o.model),
                                           o.images.empty() ? std::nullopt : std::optional(kPhotoEngine));
  Reading r = o.images.empty() ? read_stream(o, clf) : read_images(o, clf);
  if (r.weight <= 0) throw CliExit(kExitNoFace, "no face found");
  for (auto& p : r.probs) p = static_cast<float>(p / r.weight);

  const music::MoodPoint mood = music::mood_from_probs(r.probs);
  music::Catalog catalog(o.catalog.empty() ? music::default_catalog_path() : std::filesystem::path(o.catalog),
                         music::OpenMode::kMustExist);
  if (catalog.size() == 0)
    throw CliExit(kExitError, "the catalog at " + catalog.path().string() + " is empty (run `moodtunes catalog setup`)");
  music::Recommender rec(std::make_shared<const music::MoodIndex>(catalog.load_index_entries()));
  music::RecommendRequest req;
  req.mood = mood;
  req.strategy = *music::parse_strategy(o.strategy);
  req.count = o.count;
  req.seed = o.seed;
  std::unordered_set<std::int64_t> served;
  if (!o.session.empty()) served = catalog.session_served(o.session);
  const auto result = rec.recommend(req, o.session.empty() ? nullptr : &served);
  std::vector<std::int64_t> ids;
  for (const auto& item : result.items) ids.push_back(item.track_id);
  const auto tracks = catalog.get_many(ids);
  if (!o.session.empty()) catalog.record_served(o.session, ids);

  const Emotion top = argmax(r.probs);
  if (o.json) {
    json out = {{"faces", r.faces},
                {"emotion", emotion_name(top)},
                {"probabilities", probs_json(r.probs)},
                {"mood", {{"valence", mood.valence}, {"arousal", mood.arousal}, {"description", music::describe_mood(mood)}}},
                {"strategy", o.strategy},
                {"tracks", json::array()}};
    for (std::size_t i = 0; i < tracks.size(); ++i) {
      json t = {{"title", tracks[i].title}, {"artist", tracks[i].artist}, {"valence", tracks[i].valence},
                {"arousal", tracks[i].arousal}, {"reason", result.items[i].reason},
                {"spotify_search", spotify_search_link(tracks[i])}};
      if (tracks[i].deezer_id) t["deezer"] = "https://www.deezer.com/track/" + std::to_string(*tracks[i].deezer_id);
      out["tracks"].push_back(t);
    }
    if (!result.note.empty()) out["note"] = result.note;
    std::cout << out.dump() << std::endl;
    return;
  }
  std::printf("%zu face(s): %s %.0f%%\n", r.faces.size(), std::string(emotion_name(top)).c_str(),
              100 * r.probs[static_cast<std::size_t>(top)]);
  for (std::size_t c = 0; c < kNumEmotions; ++c)
    std::printf("  %-9s %5.1f%%\n", std::string(kEmotionNames[c]).c_str(), 100 * r.probs[c]);
  std::printf("mood: valence %+.2f, arousal %+.2f (%s); strategy %s\n\n", mood.valence, mood.arousal,
              music::describe_mood(mood).c_str(), o.strategy.c_str());
  for (std::size_t i = 0; i < tracks.size(); ++i) {
    std::printf("%2zu. %s - %s\n    %s\n", i + 1, tracks[i].artist.c_str(), tracks[i].title.c_str(),
                result.items[i].reason.c_str());
    if (tracks[i].deezer_id) std::printf("    https://www.deezer.com/track/%lld\n", static_cast<long long>(*tracks[i].deezer_id));
    std::printf("    %s\n", spotify_search_link(tracks[i]).c_str());
  }
  if (!result.note.empty()) std::printf("\n%s\n", result.note.c_str());
}

}  // namespace

void add_suggest_command(CLI::App& app) {
  auto o = std::make_shared<SuggestOptions>();
  auto* cmd = app.add_subcommand("suggest", "Read the emotion in photos, a video or the camera and recommend music for it");
  cmd->add_option("images", o->images, "Photos (the faces' size-weighted reading is used)");
  auto* cam = cmd->add_option("--camera", o->camera, "Read the camera with this index for --seconds");
  cmd->add_option("--input", o->video, "Read a video file for --seconds")->excludes(cam);
  cmd->add_option("--seconds", o->seconds, "How long to watch a camera or video")->capture_default_str();
  cmd->add_option("-m,--model", o->model, kModelOptionHelp);
  cmd->add_option("--catalog", o->catalog, "Catalog file (default $MOODTUNES_CATALOG or ~/.local/share/moodtunes/catalog.sqlite)");
  cmd->add_option("--strategy", o->strategy, "match | uplift | calm | energize")->capture_default_str()
      ->check(CLI::IsMember({"match", "uplift", "calm", "energize"}));
  cmd->add_option("-n", o->count, "Number of tracks")->capture_default_str()->check(CLI::Range(1, 100));
  cmd->add_option("--seed", o->seed, "Seed (same seed and input: same list)")->capture_default_str();
  cmd->add_option("--session", o->session, "Listening session: never repeat a track within it");
  cmd->add_flag("--json", o->json, "One JSON object");
  cmd->callback([o] { run_suggest(*o); });
}

}  // namespace moodtunes::cli
