// `moodtunes suggest`: the whole flow in one command — photo(s), a video or the camera →
// faces → emotion probabilities → mood (valence, arousal) → tracks from the offline catalog.
// The steps are the use cases of src/app (reading, recommend, json); this file parses and prints.
#include <cstdio>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "app/errors.hpp"
#include "app/json.hpp"
#include "app/reading.hpp"
#include "app/recommend.hpp"
#include "cli/commands.hpp"
#include "cli/validators.hpp"
#include "model/classifier.hpp"
#include "music/catalog.hpp"

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
  bool allow_artist_repeats = false;
  bool json = false;
  bool small_faces = false;
};

void run_suggest(const SuggestOptions& o) {
  if (o.images.empty() && o.camera < 0 && o.video.empty())
    throw CliExit(kExitUsage, "give one or more images, --camera N or --input VIDEO");
  if (o.small_faces && o.images.empty())
    throw CliExit(kExitUsage, "--small-faces applies to photos, not to --camera or --input");
  const auto clf = EmotionClassifier::load(model_path(o.model),
                                           o.images.empty() ? std::nullopt : std::optional(kPhotoEngine));
  app::PhotoReading photos;
  std::optional<vision::GroupReading> group;
  if (o.images.empty()) {
    group = app::read_stream({.camera = o.camera, .video = o.video, .seconds = o.seconds}, clf);
  } else {
    photos = app::read_photos(o.images, clf, o.small_faces);
    for (const auto& [path, held] : photos.without_face)
      fmt::print(stderr, "moodtunes: {}: {}\n", path.c_str(), held ? kSmallFaceHint : "no face found");
    for (const auto& w : photos.warnings) fmt::print(stderr, "moodtunes: warning: {}\n", w.c_str());
    group = photos.group;
  }
  if (!group) throw app::NoFace("no face found");

  music::Catalog catalog(app::catalog_file(o.catalog),
                         o.session.empty() ? music::OpenMode::kReadOnly : music::OpenMode::kMustExist);
  const auto picks = app::recommend(catalog, app::mood_of_probs(group->probs),
                                    {.strategy = *music::parse_strategy(o.strategy),
                                     .count = o.count,
                                     .seed = o.seed,
                                     .session = o.session,
                                     .allow_artist_repeats = o.allow_artist_repeats});
  const MoodPoint mood = picks.result.mood;

  if (o.json) {
    json out = app::recommendation_json(picks);
    out["faces"] = json::array();
    for (const auto& f : photos.faces) {
      json j = app::face_json(f.face);
      j["image"] = f.image;
      if (f.read_as_crop) j["note"] = "small image without a detectable face: read as a face crop";
      out["faces"].push_back(std::move(j));
    }
    out["group"] = app::group_json(group);
    if (!photos.warnings.empty()) out["warnings"] = photos.warnings;
    fmt::print("{}\n", app::dump(out));
    return;
  }
  const Emotion top = argmax(group->probs);
  fmt::print("{} face(s): {} {:.0f}%\n", photos.faces.size(), std::string(emotion_name(top)).c_str(),
              100 * group->probs[static_cast<std::size_t>(top)]);
  for (std::size_t c = 0; c < kNumEmotions; ++c)
    fmt::print("  {:<9} {:5.1f}%\n", std::string(kEmotionNames[c]).c_str(), 100 * group->probs[c]);
  fmt::print("mood: valence {:+.2f}, arousal {:+.2f} ({}); strategy {}\n\n", mood.valence, mood.arousal,
              describe_mood(mood).c_str(), o.strategy.c_str());
  for (std::size_t i = 0; i < picks.tracks.size(); ++i) {
    const auto t = app::track_json(picks.tracks[i]);
    fmt::print("{:2}. {} - {}\n    {}\n", i + 1, picks.tracks[i].artist.c_str(), picks.tracks[i].title.c_str(),
                picks.result.items[i].reason.c_str());
    if (t["links"].contains("deezer")) fmt::print("    {}\n", t["links"]["deezer"].get<std::string>().c_str());
    fmt::print("    {}\n", t["links"]["spotify"].get<std::string>().c_str());
  }
  if (!picks.result.note.empty()) fmt::print("\n{}\n", picks.result.note.c_str());
}

}  // namespace

void add_suggest_command(CLI::App& app) {
  auto o = std::make_shared<SuggestOptions>();
  auto* cmd = app.add_subcommand("suggest", "Read the emotion in photos, a video or the camera and recommend music for it");
  cmd->add_option("images", o->images, "Photos (the faces' size-weighted reading is used)");
  auto* cam = cmd->add_option("--camera", o->camera, "Read the camera with this index for --seconds");
  cmd->add_option("--input", o->video, "Read a video file for --seconds")->excludes(cam);
  cmd->add_flag("--small-faces", o->small_faces,
                "Photos: also count a lone face under ~80 px, as `detect --small-faces` (by default such faces "
                "count only in a group of two or more)");
  cmd->add_option("--seconds", o->seconds, "How long to watch a camera or video")->capture_default_str()->check(positive_seconds());
  cmd->add_option("-m,--model", o->model, model_option_help());
  cmd->add_option("--catalog", o->catalog, "Catalog file (default $MOODTUNES_CATALOG or ~/.local/share/moodtunes/catalog.sqlite)");
  cmd->add_option("--strategy", o->strategy, "match | uplift | calm | energize")->capture_default_str()
      ->check(CLI::IsMember({"match", "uplift", "calm", "energize"}));
  cmd->add_option("-n", o->count, "Number of tracks")->capture_default_str()->check(CLI::Range(1, 100));
  cmd->add_option("--seed", o->seed, "Seed (same seed and input: same list)")->capture_default_str()->check(seed_check());
  cmd->add_option("--session", o->session, "Listening session: never repeat a track within it");
  cmd->add_flag("--allow-artist-repeats", o->allow_artist_repeats, "Allow an artist more than once in the list");
  cmd->add_flag("--json", o->json, "One JSON object");
  cmd->callback([o] { run_suggest(*o); });
}

}  // namespace moodtunes::cli
