#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <unordered_set>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "app/catalog_index.hpp"
#include "app/recommend.hpp"
#include "listeners/personal.hpp"
#include "listeners/postgres_store.hpp"
#include "listeners/sqlite_store.hpp"
#include "listeners/store.hpp"
#include "app/errors.hpp"
#include "music/catalog.hpp"
#include "music/importers.hpp"
#include "pg_cluster.hpp"
#include "test_util.hpp"

using namespace moodtunes;
using namespace moodtunes::listeners;
namespace fs = std::filesystem;
using moodtunes::test::TempDir;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// 900 tracks spread over the plane, 3 per artist, neighbours by different artists.
class Listeners : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ostringstream csv;
    csv << "title,artist,valence,arousal\n";
    for (int i = 0; i < 900; ++i) {
      const double v = -0.95 + 1.9 * ((i * 37) % 900) / 899.0, a = -0.95 + 1.9 * ((i * 91) % 900) / 899.0;
      csv << "Song " << i << ",Artist " << i % 300 << "," << v << "," << a << "\n";
    }
    std::ofstream(dir_ / "tracks.csv") << csv.str();
    music::Catalog catalog(dir_ / "catalog.sqlite");
    music::GenericCsvOptions g;
    g.scale = music::ValueScale::kSigned;
    music::import_generic_csv(catalog, dir_ / "tracks.csv", g);
    index_ = app::CatalogIndex::load(catalog);
    table_ = track_table(*index_);
  }

  app::ResolvedMood mood(const char* emotion) { return app::resolve_mood({.emotion = emotion}); }

  // A round: recommend for `events`, answer every track with `taste`, append the answers.
  std::vector<const TrackRef*> round(std::vector<Event>& events, const char* emotion, std::uint64_t seed,
                                     const std::function<Signal(const TrackRef&)>& taste,
                                     music::Strategy strategy = music::Strategy::kMatch) {
    app::RecommendOptions o;
    o.seed = seed;
    o.strategy = strategy;
    const auto m = mood(emotion);
    const auto r = recommend_for_listener(*index_, *table_, m, o, events);
    std::vector<const TrackRef*> list;
    for (const auto& item : r.picks.result.items) {
      const TrackRef* t = table_->find(item.track_id);
      list.push_back(t);
      Event e;
      e.listener = "l";
      e.track_id = t->id;
      e.signal = taste(*t);
      e.mood = m.point;
      e.strategy = std::string(music::strategy_name(strategy));
      e.seq = static_cast<std::int64_t>(events.size()) + 1;
      events.push_back(e);  // the track snapshot is left for fill_from_catalog to complete
    }
    return list;
  }

  TempDir dir_;
  std::shared_ptr<const app::CatalogIndex> index_;
  std::shared_ptr<const TrackTable> table_;
};

Signal lift_me(const TrackRef& t) {
  return t.pos.valence > 0.2f ? Signal::kLike : (t.pos.valence < -0.2f ? Signal::kDislike : Signal::kSkip);
}

TEST_F(Listeners, NewListenerGetsTodaysListExactly) {
  for (const char* e : {"sad", "happy", "neutral"})
    for (auto s : {music::Strategy::kMatch, music::Strategy::kUplift, music::Strategy::kCalm}) {
      app::RecommendOptions o;
      o.strategy = s;
      o.seed = 7;
      const auto today = app::recommend(*index_, mood(e), o);
      const auto mine = recommend_for_listener(*index_, *table_, mood(e), o, {});
      EXPECT_FALSE(mine.personalised);
      ASSERT_EQ(mine.picks.result.items.size(), today.result.items.size());
      for (std::size_t i = 0; i < today.result.items.size(); ++i) {
        EXPECT_EQ(mine.picks.result.items[i].track_id, today.result.items[i].track_id);
        EXPECT_EQ(mine.picks.result.items[i].reason, today.result.items[i].reason);
      }
    }
}

TEST_F(Listeners, LearnsALiftMeTasteWhateverTheFaceShows) {
  std::vector<Event> events;
  const char* moods[] = {"sad", "angry", "fear", "neutral"};
  for (std::uint64_t r = 0; r < 12; ++r) round(events, moods[r % 4], r + 1, lift_me);
  // Today a sad face gets sad music; this listener now gets positive music when sad.
  const auto today = app::recommend(*index_, mood("sad"), {});
  int today_positive = 0;
  for (const auto& it : today.result.items) today_positive += it.position.valence > 0.2f;
  const auto mine = recommend_for_listener(*index_, *table_, mood("sad"), {}, events);
  EXPECT_TRUE(mine.personalised);
  EXPECT_EQ(mine.events, events.size());
  int positive = 0;
  for (const auto& it : mine.picks.result.items) positive += it.position.valence > 0.2f;
  EXPECT_EQ(today_positive, 0);
  EXPECT_GE(positive, 8) << "of 10";
  // The target point moved: the list aims at positive valence, and says why.
  EXPECT_GT(mine.picks.result.items[0].target.valence, 0.2f);
  int explained = 0;
  for (const auto& it : mine.picks.result.items)
    explained += it.reason.find("you liked") != std::string::npos && it.reason.find("when sad") != std::string::npos;
  EXPECT_GE(explained, 5) << mine.picks.result.items[0].reason;
  // The export names a positive target when sad.
  const auto ex = export_json("l", events, table_.get());
  EXPECT_GT(ex["profile"]["targets"]["sad"]["valence"].get<double>(), 0.2);
}

TEST_F(Listeners, LearnsArtistAversion) {
  // The artist of today's first track for a neutral face: this listener dislikes it, likes the rest.
  const auto today = app::recommend(*index_, mood("neutral"), {});
  const std::uint32_t hated = table_->find(today.result.items[0].track_id)->artist;
  auto taste = [&](const TrackRef& t) { return t.artist == hated ? Signal::kDislike : Signal::kLike; };
  std::vector<Event> events;
  std::vector<Event> hated_events;
  // Make sure the aversion is seen: a few dislikes of that artist's tracks.
  for (std::size_t j = 0, n = 0; j < table_->size() && n < 3; ++j)
    if (table_->at(j).artist == hated) {
      Event e;
      e.listener = "l";
      e.track_id = table_->at(j).id;
      e.signal = Signal::kDislike;
      e.mood = mood("neutral").point;
      e.seq = ++n;
      events.push_back(e);
    }
  ASSERT_FALSE(events.empty());
  for (std::uint64_t r = 0; r < 6; ++r) round(events, "neutral", r + 1, taste);
  const auto ex = export_json("l", events, table_.get());
  ASSERT_FALSE(ex["profile"]["artists"].empty());
  EXPECT_EQ(ex["profile"]["artists"][0]["artist"], table_->artist_name(hated));
  EXPECT_LT(ex["profile"]["artists"][0]["affinity"].get<double>(), -0.3);
  for (std::uint64_t r = 0; r < 10; ++r)
    for (const TrackRef* t : round(events, "neutral", 100 + r, taste)) EXPECT_NE(t->artist, hated);
}

TEST_F(Listeners, SameEventsAndSeedGiveTheSameListAndNoRepeats) {
  std::vector<Event> events;
  for (std::uint64_t r = 0; r < 5; ++r) round(events, "happy", r + 1, lift_me);
  const auto a = recommend_for_listener(*index_, *table_, mood("happy"), {}, events);
  const auto b = recommend_for_listener(*index_, *table_, mood("happy"), {}, events);
  ASSERT_EQ(a.picks.tracks.size(), 10u);
  std::unordered_set<std::int64_t> rated, artists;
  for (const auto& e : events) rated.insert(e.track_id);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(a.picks.tracks[i].id, b.picks.tracks[i].id);
    EXPECT_FALSE(rated.count(a.picks.tracks[i].id)) << "a track the listener already rated";
    artists.insert(table_->find(a.picks.tracks[i].id)->artist);
  }
  EXPECT_EQ(artists.size(), 10u);
}

TEST(ListenerModel, ALovedArtistGetsASecondPlaceAndTheListKeepsEightArtists) {
  // 400 tracks on a grid; artist 0 has every 10th, the others one each.
  std::vector<TrackRef> tracks;
  std::vector<std::string> names = {"Loved"};
  for (int i = 0; i < 400; ++i) {
    const MoodPoint pos{-0.95f + 0.1f * static_cast<float>(i % 20), -0.95f + 0.1f * static_cast<float>(i / 20)};
    std::uint32_t artist = 0;
    if (i % 10 != 0) {
      artist = static_cast<std::uint32_t>(names.size());
      names.push_back("Artist " + std::to_string(i));
    }
    tracks.push_back({i + 1, pos, artist});
  }
  const TrackTable table(tracks, names);
  std::vector<Event> events;
  for (int i = 0; i < 40; ++i) {  // liked the loved artist's tracks, skipped the others
    const TrackRef& t = table.at(static_cast<std::size_t>(i * 7 % 400));
    Event e;
    e.listener = "l";
    e.track_id = t.id;
    e.signal = t.artist == 0 ? Signal::kLike : Signal::kSkip;
    e.mood = MoodPoint{0, 0};
    e.track = t.pos;
    e.artist = table.artist_name(t.artist);
    e.seq = i + 1;
    events.push_back(e);
  }
  const Profile profile = fit(events);
  ASSERT_GE(profile.artists.at("loved").affinity, ModelParams{}.loved_affinity);
  const auto picks = pick(profile, events, table, PickRequest{});
  ASSERT_EQ(picks.size(), 10u);
  std::map<std::uint32_t, int> per_artist;
  for (const auto& p : picks) ++per_artist[p.track->artist];
  EXPECT_EQ(per_artist[0], 2) << "a loved artist holds two places, no more";
  EXPECT_GE(per_artist.size(), 8u);
  ModelParams no_repeats;
  no_repeats.loved_slots = 0;
  per_artist.clear();
  for (const auto& p : pick(profile, events, table, PickRequest{}, no_repeats)) ++per_artist[p.track->artist];
  EXPECT_EQ(per_artist[0], 1);
}

TEST_F(Listeners, TheLocalCorrectionServesTracksCloseToWhatWasLiked) {
  // A listener who likes only tracks within 0.2 of the face's mood, whatever the strategy.
  const MoodPoint sad = mood("sad").point;
  auto near_mood = [&](const TrackRef& t) {
    const double d = std::hypot(t.pos.valence - sad.valence, t.pos.arousal - sad.arousal);
    return d < 0.2 ? Signal::kLike : (d > 0.6 ? Signal::kDislike : Signal::kSkip);
  };
  std::vector<Event> events;
  const music::Strategy strategies[] = {music::Strategy::kUplift, music::Strategy::kMatch, music::Strategy::kCalm};
  for (std::uint64_t r = 0; r < 9; ++r) round(events, "sad", r + 1, near_mood, strategies[r % 3]);
  auto mean_distance = [&](double local_weight) {
    ModelParams p;
    p.local_weight = local_weight;
    app::RecommendOptions o;
    o.strategy = music::Strategy::kUplift;
    const auto r = recommend_for_listener(*index_, *table_, mood("sad"), o, events, p);
    double d = 0;
    for (const auto& it : r.picks.result.items)
      d += std::hypot(it.position.valence - sad.valence, it.position.arousal - sad.arousal);
    return d / static_cast<double>(r.picks.result.items.size());
  };
  const double with = mean_distance(1.0), without = mean_distance(0.0);
  EXPECT_LT(with, without) << "with the local correction " << with << ", without " << without;
}

// ---- stores ---------------------------------------------------------------------------------

Event event(const std::string& listener, std::int64_t track, Signal s, const std::string& id = {}) {
  Event e;
  e.listener = listener;
  e.track_id = track;
  e.signal = s;
  e.event_id = id;
  return e;
}

// `prefix` followed by `n` (GCC 12 warns, wrongly, on "literal" + std::to_string() here).
std::string numbered(std::string prefix, int n) {
  prefix += std::to_string(n);
  return prefix;
}

// ---- the same suite on both stores ----------------------------------------------------------

// One throwaway PostgreSQL cluster for this test program, started on first use; each test gets a
// database of its own.
moodtunes::test::PgCluster& cluster() {
  struct Holder {
    TempDir dir;
    moodtunes::test::PgCluster pg{dir.path()};
  };
  static Holder h;
  return h.pg;
}

class Stores : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<ListenerStore> make() {
    if (GetParam() == "sqlite") return std::make_unique<SqliteListenerStore>(dir_ / "listeners.sqlite");
    return std::make_unique<PostgresListenerStore>(cluster().create_database());
  }
  TempDir dir_;
};

TEST_P(Stores, EventsAreIdempotentPerListenerAndRoundTrip) {
  auto s = make();
  ListenerStore& store = *s;
  Event e = event("ana", 5, Signal::kReaction, "e-1");
  e.mood = MoodPoint{-0.5f, 0.25f};
  e.strategy = "uplift";
  e.track = MoodPoint{0.5f, -0.5f};
  e.artist = "Björk";
  e.reaction = MoodPoint{0.125f, 0.0f};
  EXPECT_TRUE(store.add(e));
  EXPECT_FALSE(store.add(e)) << "a retried event is stored once";
  EXPECT_TRUE(store.add(event("bo", 6, Signal::kLike, "e-1"))) << "event ids are per listener";
  EXPECT_TRUE(store.add(event("ana", 7, Signal::kSkip)));
  EXPECT_TRUE(store.add(event("ana", 7, Signal::kSkip))) << "without an id every event counts";
  EXPECT_EQ(store.count("ana"), 3u);
  EXPECT_EQ(store.total(), 4u);
  const auto got = store.events("ana");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].track_id, 5);
  EXPECT_EQ(got[0].signal, Signal::kReaction);
  EXPECT_EQ(got[0].event_id, "e-1");
  EXPECT_FLOAT_EQ(got[0].mood->valence, -0.5f);
  EXPECT_EQ(got[0].strategy, "uplift");
  EXPECT_FLOAT_EQ(got[0].track->arousal, -0.5f);
  EXPECT_EQ(got[0].artist, "Björk");
  EXPECT_FLOAT_EQ(got[0].reaction->valence, 0.125f);
  EXPECT_FALSE(got[1].mood.has_value());
  EXPECT_TRUE(got[1].artist.empty());
  EXPECT_LT(got[0].seq, got[1].seq);
  const auto newest = store.events("ana", 1);
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_EQ(newest[0].seq, got[2].seq);
}

TEST_P(Stores, AddManyIsOneTransactionAndSkipsRepeats) {
  auto store = make();
  std::vector<Event> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(event("cy", i, Signal::kLike, "b-" + std::to_string(i % 40)));
  EXPECT_EQ(store->add_many(batch), 40u) << "ten repeats of an id inside the batch";
  EXPECT_EQ(store->add_many(batch), 0u) << "the whole batch again";
  EXPECT_EQ(store->count("cy"), 40u);
}

TEST_P(Stores, ConcurrentWritersLoseNothing) {
  auto store = make();
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string id = numbered(numbered("w", t) + "-", i);
        store->add(event("dee", i, Signal::kSkip, id));
        if (i % 10 == 0) store->add(event("dee", i, Signal::kSkip, id));  // a retry
      }
    });
  for (auto& w : writers) w.join();
  EXPECT_EQ(store->count("dee"), 800u);
}

TEST_P(Stores, ForgetErasesTheListenerOnly) {
  auto store = make();
  for (int i = 0; i < 30; ++i) store->add(event("eve", i, Signal::kLike, numbered("x", i)));
  store->add(event("fay", 1, Signal::kDislike));
  EXPECT_EQ(store->forget("eve"), 30u);
  EXPECT_EQ(store->count("eve"), 0u);
  EXPECT_TRUE(store->events("eve").empty());
  EXPECT_EQ(store->total(), 1u) << "other listeners are untouched";
  EXPECT_TRUE(store->add(event("eve", 1, Signal::kLike, "x1"))) << "a forgotten listener starts afresh";
}

INSTANTIATE_TEST_SUITE_P(BothStores, Stores, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// ---- the SQLite store ------------------------------------------------------------------------

TEST(SqliteStore, ForgetLeavesNothingOfTheListenerInTheFiles) {
  TempDir dir;
  const fs::path file = dir / "listeners.sqlite";
  const std::string secret = "listener-7f3a9c-unique-marker";
  {
    SqliteListenerStore store(file);
    for (int i = 0; i < 300; ++i) {
      Event e = event(secret, i, Signal::kLike, "ev-" + std::to_string(i));
      e.artist = "Marker Artist 7f3a9c";
      store.add(e);
    }
    store.add(event("other", 1, Signal::kDislike));
    EXPECT_EQ(store.forget(secret), 300u);
    EXPECT_EQ(store.count(secret), 0u);
    EXPECT_TRUE(store.events(secret).empty());
    EXPECT_EQ(export_json(secret, store.events(secret))["events"].size(), 0u);
    EXPECT_EQ(store.total(), 1u) << "other listeners are untouched";
    for (const char* suffix : {"", "-wal"}) {
      const std::string bytes = slurp(file.string() + suffix);
      EXPECT_EQ(bytes.find(secret), std::string::npos) << "listener id left in " << file.string() + suffix;
      EXPECT_EQ(bytes.find("7f3a9c"), std::string::npos) << "a value of the listener left in " << suffix;
    }
  }
}

TEST(SqliteStore, MigratesTheFirstLayoutKeepingItsRows) {
  TempDir dir;
  const fs::path file = dir / "listeners.sqlite";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE feedback(id INTEGER PRIMARY KEY, listener TEXT NOT NULL, track_id INTEGER NOT NULL,"
                         " signal TEXT NOT NULL CHECK(signal IN ('like','skip','dislike')), event_id TEXT UNIQUE,"
                         " created_at INTEGER NOT NULL);"
                         "CREATE INDEX feedback_listener ON feedback(listener, created_at);"
                         "INSERT INTO feedback(listener, track_id, signal, event_id, created_at) VALUES"
                         " ('ana', 3, 'like', 'e-1', 100), ('bo', 4, 'dislike', NULL, 101);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  SqliteListenerStore store(file);
  ASSERT_EQ(store.count("ana"), 1u);
  EXPECT_EQ(store.events("ana")[0].event_id, "e-1");
  EXPECT_EQ(store.events("ana")[0].created_at, 100);
  EXPECT_FALSE(store.add(event("ana", 3, Signal::kLike, "e-1"))) << "old ids still deduplicate";
  Event r = event("ana", 3, Signal::kReaction, "e-2");
  r.reaction = MoodPoint{0.1f, 0.0f};
  EXPECT_TRUE(store.add(r)) << "the new signal is accepted after the migration";
  EXPECT_EQ(store.total(), 3u);
}

TEST(SqliteStore, UnwritablePlaceIsUnavailable) {
  SqliteListenerStore store("/proc/moodtunes-no-such-dir/listeners.sqlite");
  EXPECT_THROW(store.add(event("a", 1, Signal::kLike)), app::Unavailable);
}

// ---- the PostgreSQL store --------------------------------------------------------------------

TEST(PostgresStore, ForgetLeavesNoRowAndVacuumsTheTable) {
  auto& pg = cluster();
  const std::string url = pg.create_database();
  PostgresListenerStore store(url);
  for (int i = 0; i < 200; ++i) store.add(event("gil-4b2e", i, Signal::kLike, numbered("g", i)));
  EXPECT_EQ(store.forget("gil-4b2e"), 200u);
  const std::string db = url.substr(url.rfind('/') + 1);
  EXPECT_EQ(pg.sql(db, "SELECT COUNT(*) FROM feedback WHERE listener LIKE 'gil%'"), "0");
  EXPECT_EQ(pg.sql(db, "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'feedback'"), "0")
      << "the deleted rows' space was not reclaimed";
}

TEST(PostgresStore, AnUnreachableServerIsUnavailableQuicklyAndRecovers) {
  TempDir dir;
  moodtunes::test::PgCluster pg(dir.path());
  PostgresListenerStore store(pg.url());
  EXPECT_TRUE(store.add(event("hal", 1, Signal::kLike, "h1")));
  pg.stop();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(store.add(event("hal", 2, Signal::kLike, "h2")), app::Unavailable);
  EXPECT_THROW(store.events("hal"), app::Unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  pg.start();
  EXPECT_TRUE(store.add(event("hal", 2, Signal::kLike, "h2"))) << "reconnects when the server is back";
  EXPECT_FALSE(store.add(event("hal", 1, Signal::kLike, "h1")));
  EXPECT_EQ(store.count("hal"), 2u);
}

TEST(PostgresStore, ThePasswordIsNeverShown) {
  EXPECT_EQ(redact_conninfo("postgresql://mt:s3cret@db.example:5432/mt?sslmode=require"),
            "postgresql://mt:***@db.example:5432/mt?sslmode=require");
  EXPECT_EQ(redact_conninfo("postgres://db.example/mt?user=mt&password=s3cret&x=1"),
            "postgres://db.example/mt?user=mt&password=***&x=1");
  EXPECT_EQ(redact_conninfo("host=db user=mt password='s3 cret' dbname=mt"), "host=db user=mt password=*** dbname=mt");
  // A refused connection's message names the server, never the password.
  PostgresListenerStore store("postgresql://mt:s3cret@127.0.0.1:1/mt");
  EXPECT_EQ(store.describe().find("s3cret"), std::string::npos);
  try {
    store.total();
    FAIL() << "port 1 answered";
  } catch (const app::Unavailable& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
  }
}

TEST(OpenStore, PicksTheStoreByTheFormOfTheName) {
  TempDir dir;
  EXPECT_EQ(open_store("", dir / "catalog.sqlite")->describe(), "sqlite " + (dir / "listeners.sqlite").string());
  EXPECT_EQ(open_store((dir / "x.db").string(), dir / "catalog.sqlite")->describe(), "sqlite " + (dir / "x.db").string());
  EXPECT_EQ(open_store("postgresql://a:b@h/db", dir / "catalog.sqlite")->describe().rfind("postgresql postgresql://a:***@h/db", 0), 0u);
}

}  // namespace
