// The use-case layer (src/app): shipped-model names, mood resolution, the recommend sequence with
// session history, and the one JSON schema. A real SQLite catalog in a temp folder; no network.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "app/errors.hpp"
#include "app/json.hpp"
#include "app/model_path.hpp"
#include "app/recommend.hpp"
#include "test_util.hpp"

using namespace moodtunes;
using moodtunes::test::TempDir;

namespace {
music::Track make(const std::string& id, const std::string& artist, float v, float a) {
  music::Track t;
  t.source = "test";
  t.source_id = id;
  t.title = "Song " + id;
  t.artist = artist;
  t.valence = v;
  t.arousal = a;
  return t;
}

// Unsets a variable for one test and restores it.
struct EnvGuard {
  explicit EnvGuard(const char* name) : name(name) {
    if (const char* v = std::getenv(name)) saved = v;
    unsetenv(name);
  }
  ~EnvGuard() {
    if (saved) setenv(name, saved->c_str(), 1);
    else unsetenv(name);
  }
  const char* name;
  std::optional<std::string> saved;
};
}  // namespace

TEST(AppModelPath, NamesTheShippedModelsAndPassesFilesThrough) {
  EnvGuard env("MOODTUNES_MODEL");
  EXPECT_TRUE(app::model_path().ends_with("models/moodtunes-fer.mtm"));
  EXPECT_EQ(app::model_path(), app::model_path("accurate"));
  EXPECT_TRUE(app::model_path("fast").ends_with("models/moodtunes-fer-fast.mtm"));
  EXPECT_TRUE(app::model_path("real").ends_with("models/moodtunes-fer-real.mtm"));
  EXPECT_EQ(app::model_path("runs/x/best.mtm"), "runs/x/best.mtm");
  EXPECT_EQ(app::model_display_name(), "accurate");
  EXPECT_EQ(app::model_display_name("real"), "real");
  EXPECT_EQ(app::model_display_name("runs/x/best.mtm"), "best.mtm");
  setenv("MOODTUNES_MODEL", "fast", 1);
  EXPECT_EQ(app::model_path(), app::model_path("fast"));
  EXPECT_EQ(app::model_display_name(), "fast");
  EXPECT_EQ(app::model_path("other.mtm"), "other.mtm");  // a flag wins over the environment
}

TEST(AppMood, ResolvesExactlyOneWayOfGivingTheMood) {
  const auto happy = app::resolve_mood({.emotion = "happy"});
  EXPECT_EQ(happy.from, "emotion happy");
  EXPECT_FLOAT_EQ(happy.point.valence, mood_for_emotion(Emotion::kHappy).valence);
  EmotionProbs p{};
  p[static_cast<std::size_t>(Emotion::kSad)] = 2;  // renormalised
  const auto sad = app::resolve_mood({.probs = p});
  EXPECT_EQ(sad.from, "emotion probabilities");
  EXPECT_FLOAT_EQ(sad.point.arousal, mood_for_emotion(Emotion::kSad).arousal);
  EXPECT_EQ(app::resolve_mood({.point = MoodPoint{0.5f, -0.25f}}).from, "valence/arousal");

  EXPECT_THROW(app::resolve_mood({}), app::InvalidInput);
  EXPECT_THROW(app::resolve_mood({.emotion = "bored"}), app::InvalidInput);
  EXPECT_THROW(app::resolve_mood({.emotion = "happy", .point = MoodPoint{}}), app::InvalidInput);
  EXPECT_THROW(app::resolve_mood({.probs = EmotionProbs{}}), app::InvalidInput);  // sums to 0
  EXPECT_THROW(app::resolve_mood({.point = MoodPoint{1.5f, 0}}), app::InvalidInput);
}

class AppRecommend : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = std::make_unique<music::Catalog>(dir_ / "catalog.sqlite");
    music::Catalog::Import tx(*catalog_);
    for (int i = 0; i < 12; ++i) {
      auto t = make(std::to_string(i), "Artist " + std::to_string(i % 4), -0.9f + 0.15f * i, 0.5f - 0.08f * i);
      if (i == 0) t.deezer_id = 3135556;
      if (i == 1) t.spotify_id = "4uLU6hMCjMI75M1A2tKUQC";
      tx.upsert(t);
    }
    tx.commit();
  }
  TempDir dir_;
  std::unique_ptr<music::Catalog> catalog_;
};

TEST_F(AppRecommend, KeepsArtistsDistinctUnlessAskedAndNeverRepeatsWithinASession) {
  const auto mood = app::resolve_mood({.emotion = "neutral"});
  const auto distinct = app::recommend(*catalog_, mood, {.count = 6});
  EXPECT_EQ(distinct.tracks.size(), 4u);  // only 4 artists
  EXPECT_FALSE(distinct.result.note.empty());
  const auto repeats = app::recommend(*catalog_, mood, {.count = 6, .allow_artist_repeats = true});
  EXPECT_EQ(repeats.tracks.size(), 6u);

  std::set<std::int64_t> seen;
  for (int call = 0; call < 3; ++call) {
    const auto picks = app::recommend(*catalog_, mood, {.count = 4, .session = "s", .allow_artist_repeats = true});
    ASSERT_EQ(picks.tracks.size(), 4u);
    for (const auto& t : picks.tracks) EXPECT_TRUE(seen.insert(t.id).second) << "track " << t.id << " served twice";
  }
}

TEST_F(AppRecommend, AnEmptyCatalogIsUnavailable) {
  music::Catalog empty(dir_ / "empty.sqlite");
  EXPECT_THROW(app::recommend(empty, app::resolve_mood({.emotion = "sad"}), {}), app::Unavailable);
}

TEST_F(AppRecommend, TheRecommendationObjectFollowsTheSchema) {
  const auto picks = app::recommend(*catalog_, app::resolve_mood({.emotion = "sad"}),
                                    {.strategy = music::Strategy::kUplift, .count = 4, .seed = 7, .session = "x"});
  const auto j = app::recommendation_json(picks);
  EXPECT_EQ(j["schema"], app::kSchemaVersion);
  EXPECT_EQ(j["strategy"], "uplift");
  EXPECT_EQ(j["seed"], 7);
  EXPECT_EQ(j["session"], "x");
  EXPECT_EQ(j["mood"]["from"], "emotion sad");
  for (const char* k : {"valence", "arousal", "description"}) EXPECT_TRUE(j["mood"].contains(k)) << k;
  for (const char* k : {"valence", "arousal"}) EXPECT_TRUE(j["goal"].contains(k)) << k;
  ASSERT_EQ(j["tracks"].size(), 4u);
  for (const auto& t : j["tracks"]) {
    for (const char* k : {"id", "title", "artist", "valence", "arousal", "source", "source_id", "links", "position",
                          "target", "distance", "reason"})
      EXPECT_TRUE(t.contains(k)) << k;
    EXPECT_TRUE(t["links"].contains("spotify"));
  }
}

TEST(AppJson, TrackLinksComeFromTheIdsTheCatalogKnowsAndEnrichmentOverridesThem) {
  auto t = make("1", "AC/DC", 0.1f, 0.2f);
  t.title = "T.N.T.";
  auto j = app::track_json(t);
  EXPECT_FALSE(j["links"].contains("deezer"));
  EXPECT_EQ(j["links"]["spotify"], "https://open.spotify.com/search/AC%2FDC%20T%2EN%2ET%2E");
  t.deezer_id = 42;
  t.spotify_id = "abc";
  j = app::track_json(t);
  EXPECT_EQ(j["links"]["deezer"], "https://www.deezer.com/track/42");
  EXPECT_EQ(j["links"]["spotify"], "https://open.spotify.com/track/abc");
  EXPECT_EQ(j["deezer_id"], 42);
  providers::Enrichment e;
  e.preview_url = "https://p/1.mp3";
  e.cover_url = "https://c/1.jpg";
  e.spotify_url = "https://open.spotify.com/track/xyz";
  e.notes = {"deezer: not found"};
  j = app::track_json(t, &e);
  EXPECT_EQ(j["links"]["spotify"], "https://open.spotify.com/track/xyz");
  EXPECT_EQ(j["preview"], "https://p/1.mp3");
  EXPECT_EQ(j["cover"], "https://c/1.jpg");
  EXPECT_EQ(j["notes"].size(), 1u);
}

TEST(AppJson, FacesGroupsAndProbabilitiesHaveOneShape) {
  vision::FaceReading f;
  f.track_id = 3;
  f.box = cv::Rect(10, 20, 30, 40);
  f.probs[static_cast<std::size_t>(Emotion::kHappy)] = 0.123456f;
  f.emotion = Emotion::kHappy;
  const auto one_shot = app::face_json(f);
  EXPECT_EQ(one_shot["box"], (nlohmann::json{{"x", 10}, {"y", 20}, {"w", 30}, {"h", 40}}));
  EXPECT_EQ(one_shot["emotion"], "happy");
  EXPECT_EQ(one_shot["probabilities"].size(), kNumEmotions);
  EXPECT_DOUBLE_EQ(one_shot["probabilities"]["happy"].get<double>(), 0.1235);
  EXPECT_FALSE(one_shot.contains("id"));
  EXPECT_FALSE(one_shot.contains("smoothed"));
  const auto tracked = app::face_json(f, true);
  EXPECT_EQ(tracked["id"], 3);
  EXPECT_EQ(tracked["smoothed"].size(), kNumEmotions);
  EXPECT_TRUE(app::group_json(std::nullopt).is_null());
  EXPECT_EQ(app::group_json(vision::GroupReading{f.probs, Emotion::kHappy})["emotion"], "happy");
  EXPECT_FALSE(app::mood_json(MoodPoint{0.5f, 0.5f}).contains("from"));
}
