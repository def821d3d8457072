// Simulated listeners with hidden tastes against the per-listener model (docs/listeners.md),
// today's recommender and an oracle, on the Deezer catalog; then speed.
// Targets: like-rate in rounds 41-50 >= 2x today's recommender and within 15 points of an
// oracle (averaged over listener types); after a taste flip, within 15 points of the oracle in
// <= 10 rounds; >= 8 distinct artists per list of 10; a new listener's first list equals
// today's; a learner fed only face reactions (explicit likes off) >= 1.5x today's. Speed:
// POST /api/recommend with learning p99 < 10 ms with 100,000 stored events at 4 concurrent
// clients, through `moodtunes serve` over HTTP (and in-process, to show the server's share),
// against the same requests without a listener; feedback writes >= 2,000/s on SQLite, and the
// same measured on PostgreSQL (a throwaway cluster) when its server is installed.
//
// Usage: bench_listener [--data DIR] [--seeds N] [--first-seed S] [--rounds N] [--sweep] [--no-speed]
//                       [--set NAME=VALUE]...
//   DIR: the deezer-mood folder (default $MOODTUNES_DATA/deezer-mood, else the build's data dir).
//   --set: a ModelParams field for this run (measure a change before making it the default).
//   --first-seed: seeds S .. S+N-1 (default 1): tune on some seeds, confirm on others.
// Each simulated listener runs `rounds` rounds: a mood drawn from the 7 emotions and a strategy
// drawn from the 4, a list of 10, and an answer per track from its hidden utility u plus noise
// (N(0, 0.2)): like above 0.5, dislike below -0.5, skip between; the face-only learner gets
// instead how the face moved (toward the strategy's goal in proportion to u, plus jitter). The
// learners and the oracle never serve a track twice to a listener; today's recommender runs as
// the server does (no session).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <unistd.h>

#include <fmt/printf.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/catalog_index.hpp"
#include "app/recommend.hpp"
#include "listeners/personal.hpp"
#include "listeners/postgres_store.hpp"
#include "listeners/sqlite_store.hpp"
#include "music/catalog.hpp"
#include "music/importers.hpp"
#include "pg_cluster.hpp"
#include "support/server_process.hpp"
#include "support/timing.hpp"

using namespace moodtunes;
using namespace moodtunes::listeners;
namespace fs = std::filesystem;
using moodtunes::bench::Clock;
using moodtunes::bench::ms_since;

namespace {

double pct(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

constexpr int kWindows = 5;
constexpr std::size_t kList = 10;
constexpr double kNoise = 0.2;

struct Taste {
  std::string name;
  // Hidden utility of a track for a listener with this face mood in this round.
  std::function<double(const TrackRef&, MoodPoint, int)> u;
};

// kFace: the learner fed only face reactions (likes switched off).
enum Method { kToday, kLearner, kFace, kOracle, kMethods };
const char* kMethodNames[] = {"today", "learner", "face", "oracle"};

struct Run {
  std::vector<double> like_rate;  // per round
  double min_artists = 1e9, sum_artists = 0;
  int lists = 0;
  bool first_equal = true;
};

Signal answer(double x) { return x > 0.5 ? Signal::kLike : (x < -0.5 ? Signal::kDislike : Signal::kSkip); }

// How the listener's smoothed face mood moves while a track plays: toward the strategy's goal
// (for "match", whose goal is the mood itself, toward more positive valence: a smile) in
// proportion to how much they like it, plus the reading's own jitter (N(0, 0.1) per axis).
MoodPoint face_reaction(double x, MoodPoint mood, music::Strategy strategy, std::mt19937_64& rng) {
  const MoodPoint d = reaction_direction(strategy, mood);
  std::normal_distribution<double> jitter(0.0, 0.1);
  const double step = 0.25 * std::clamp(x, -1.0, 1.0);
  return {static_cast<float>(step * d.valence + jitter(rng)), static_cast<float>(step * d.arousal + jitter(rng))};
}

// One listener of one taste under one method for `rounds` rounds.
Run simulate(const app::CatalogIndex& index, const TrackTable& table, const Taste& taste, Method method, int rounds,
             std::uint64_t seed, const ModelParams& params) {
  std::mt19937_64 ctx_rng(seed * 7919 + 17);    // the moods and strategies: the same for every method
  std::mt19937_64 ans_rng(seed * 104729 + 3);   // the answers' noise
  std::mt19937_64 tie_rng(seed * 31 + 5);
  Run run;
  std::vector<Event> events;
  std::unordered_set<std::int64_t> served;
  for (int round = 0; round < rounds; ++round) {
    const auto e = static_cast<std::size_t>(ctx_rng() % kNumEmotions);
    const auto strategy = static_cast<music::Strategy>(ctx_rng() % 4);
    const app::ResolvedMood mood{mood_for_emotion(static_cast<Emotion>(e)), "emotion"};
    app::RecommendOptions opt;
    opt.strategy = strategy;
    opt.count = kList;
    opt.seed = seed * 1000 + static_cast<std::uint64_t>(round) + 1;
    std::vector<const TrackRef*> list;
    if (method == kToday || method == kLearner || method == kFace) {
      const app::Recommendations r = method == kToday
                                         ? app::recommend(index, mood, opt)
                                         : recommend_for_listener(index, table, mood, opt, events, params).picks;
      for (const auto& item : r.result.items) list.push_back(table.find(item.track_id));
      if (method == kLearner && round == 0) {
        const app::Recommendations today = app::recommend(index, mood, opt);
        run.first_equal = today.result.items.size() == r.result.items.size();
        for (std::size_t i = 0; run.first_equal && i < r.result.items.size(); ++i)
          run.first_equal = today.result.items[i].track_id == r.result.items[i].track_id &&
                            today.result.items[i].reason == r.result.items[i].reason;
      }
    } else {
      // The oracle: the 10 tracks of highest hidden utility (ties broken at random), distinct
      // artists, none served before.
      std::vector<std::pair<double, std::size_t>> scored;
      scored.reserve(table.size());
      std::uniform_real_distribution<double> tiny(0.0, 1e-3);
      for (std::size_t j = 0; j < table.size(); ++j)
        if (!served.count(table.at(j).id)) scored.emplace_back(taste.u(table.at(j), mood.point, round) + tiny(tie_rng), j);
      std::partial_sort(scored.begin(), scored.begin() + 400, scored.end(), std::greater<>());
      std::vector<std::uint32_t> artists;
      for (std::size_t k = 0; k < 400 && list.size() < kList; ++k) {
        const TrackRef& t = table.at(scored[k].second);
        if (std::find(artists.begin(), artists.end(), t.artist) != artists.end()) continue;
        artists.push_back(t.artist);
        list.push_back(&t);
      }
    }
    int likes = 0;
    std::vector<std::uint32_t> artists;
    for (const TrackRef* t : list) {
      std::normal_distribution<double> noise(0.0, kNoise);
      const double x = taste.u(*t, mood.point, round) + noise(ans_rng);
      const Signal s = answer(x);
      likes += s == Signal::kLike;
      if (std::find(artists.begin(), artists.end(), t->artist) == artists.end()) artists.push_back(t->artist);
      served.insert(t->id);
      Event ev;
      ev.listener = "sim";
      ev.track_id = t->id;
      ev.signal = s;
      if (method == kFace) {
        ev.signal = Signal::kReaction;
        ev.reaction = face_reaction(x, mood.point, strategy, ans_rng);
      }
      ev.mood = mood.point;
      ev.strategy = std::string(music::strategy_name(strategy));
      ev.track = t->pos;
      ev.artist = table.artist_name(t->artist);
      ev.seq = static_cast<std::int64_t>(events.size()) + 1;
      events.push_back(std::move(ev));
    }
    run.like_rate.push_back(list.empty() ? 0.0 : static_cast<double>(likes) / static_cast<double>(list.size()));
    run.min_artists = std::min(run.min_artists, static_cast<double>(artists.size()));
    run.sum_artists += static_cast<double>(artists.size());
    ++run.lists;
  }
  return run;
}

std::vector<Taste> make_tastes(const app::CatalogIndex& index, const TrackTable& table, int flip_round) {
  auto dist = [](MoodPoint a, MoodPoint b) { return std::hypot(a.valence - b.valence, a.arousal - b.arousal); };
  auto match = [dist](const TrackRef& t, MoodPoint m) { return 1.0 - 2.5 * dist(t.pos, m); };
  // The artist lover loves the 10 artists with the most tracks; the artist hater hates the 10
  // artists today's recommender serves most often (so aversion has something to act on).
  std::map<std::uint32_t, int> tracks_by;
  for (std::size_t j = 0; j < table.size(); ++j) ++tracks_by[table.at(j).artist];
  std::vector<std::pair<int, std::uint32_t>> by_count;
  for (auto [a, n] : tracks_by) by_count.emplace_back(n, a);
  std::sort(by_count.rbegin(), by_count.rend());
  std::unordered_set<std::uint32_t> loved;
  for (std::size_t i = 0; i < 10 && i < by_count.size(); ++i) loved.insert(by_count[i].second);
  std::map<std::uint32_t, int> served_by;
  for (std::size_t e = 0; e < kNumEmotions; ++e)
    for (int s = 0; s < 4; ++s)
      for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        app::RecommendOptions o;
        o.strategy = static_cast<music::Strategy>(s);
        o.seed = seed;
        const auto r = app::recommend(index, {mood_for_emotion(static_cast<Emotion>(e)), ""}, o);
        for (const auto& it : r.result.items) ++served_by[table.find(it.track_id)->artist];
      }
  std::vector<std::pair<int, std::uint32_t>> served_count;
  for (auto [a, n] : served_by) served_count.emplace_back(n, a);
  std::sort(served_count.rbegin(), served_count.rend());
  std::unordered_set<std::uint32_t> hated;
  for (std::size_t i = 0; i < 10 && i < served_count.size(); ++i) hated.insert(served_count[i].second);

  std::vector<Taste> t;
  t.push_back({"lift-me", [](const TrackRef& x, MoodPoint, int) { return 2.5 * x.pos.valence; }});
  t.push_back({"match-me", [match](const TrackRef& x, MoodPoint m, int) { return match(x, m); }});
  t.push_back({"arousal-band", [](const TrackRef& x, MoodPoint, int) {
                 return 1.0 - 3.0 * std::max(0.0, std::abs(x.pos.arousal + 0.4) - 0.1);
               }});
  t.push_back({"artist-lover", [match, loved](const TrackRef& x, MoodPoint m, int) {
                 return loved.count(x.artist) ? 1.0 : match(x, m) - 0.5;
               }});
  t.push_back({"artist-hater", [match, hated](const TrackRef& x, MoodPoint m, int) {
                 return hated.count(x.artist) ? -1.5 : match(x, m);
               }});
  t.push_back({"flip", [flip_round](const TrackRef& x, MoodPoint, int round) {
                 return (round < flip_round ? 2.5 : -2.5) * x.pos.valence;
               }});
  return t;
}

struct Summary {
  // [type][method][round] like-rate averaged over seeds
  std::vector<std::array<std::vector<double>, kMethods>> rate;
  double min_artists = 1e9, mean_artists = 0;
  bool first_equal = true;
};

Summary evaluate(const app::CatalogIndex& index, const TrackTable& table, const std::vector<Taste>& tastes, int rounds,
                 int seeds, const ModelParams& params, int first_seed = 1, bool learner_only = false) {
  Summary s;
  s.rate.resize(tastes.size());
  double artist_sum = 0;
  int lists = 0;
  for (std::size_t ti = 0; ti < tastes.size(); ++ti)
    for (int m = 0; m < kMethods; ++m) {
      if (learner_only && m != kLearner && m != kOracle && m != kToday) continue;
      auto& acc = s.rate[ti][m];
      acc.assign(static_cast<std::size_t>(rounds), 0.0);
      for (int sd = first_seed; sd < first_seed + seeds; ++sd) {
        const Run r = simulate(index, table, tastes[ti], static_cast<Method>(m), rounds, static_cast<std::uint64_t>(sd), params);
        for (int k = 0; k < rounds; ++k) acc[static_cast<std::size_t>(k)] += r.like_rate[static_cast<std::size_t>(k)] / seeds;
        if (m == kLearner) {
          s.min_artists = std::min(s.min_artists, r.min_artists);
          artist_sum += r.sum_artists;
          lists += r.lists;
          s.first_equal = s.first_equal && r.first_equal;
        }
      }
    }
  s.mean_artists = artist_sum / std::max(1, lists);
  return s;
}

double window(const std::vector<double>& v, int from, int to) {  // rounds [from, to), 0-based
  double sum = 0;
  for (int k = from; k < to; ++k) sum += v[static_cast<std::size_t>(k)];
  return sum / (to - from);
}

// Rounds after the flip until the learner's like-rate (3-round mean) is within 15 points of the
// oracle's; -1 if never.
int recovery(const std::array<std::vector<double>, kMethods>& r, int flip_round, int rounds) {
  for (int k = flip_round; k + 3 <= rounds; ++k)
    if (window(r[kLearner], k, k + 3) >= window(r[kOracle], k, k + 3) - 0.15) return k - flip_round + 1;
  return -1;
}

struct Headline {
  double learner, face, today, oracle;
  int recover;
};

Headline headline(const Summary& s, const std::vector<Taste>& tastes, int rounds, int flip_round) {
  Headline h{0, 0, 0, 0, -1};
  const int from = rounds - rounds / kWindows;
  for (std::size_t ti = 0; ti < tastes.size(); ++ti) {
    h.learner += window(s.rate[ti][kLearner], from, rounds) / static_cast<double>(tastes.size());
    h.today += window(s.rate[ti][kToday], from, rounds) / static_cast<double>(tastes.size());
    h.face += window(s.rate[ti][kFace], from, rounds) / static_cast<double>(tastes.size());
    h.oracle += window(s.rate[ti][kOracle], from, rounds) / static_cast<double>(tastes.size());
    if (tastes[ti].name == "flip") h.recover = recovery(s.rate[ti], flip_round, rounds);
  }
  return h;
}

// "name=value" onto the ModelParams field of that name (to measure a change before making it
// the default).
bool set_param(ModelParams& p, const std::string& kv) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos) return false;
  const std::string k = kv.substr(0, eq);
  char* end = nullptr;
  const double v = std::strtod(kv.c_str() + eq + 1, &end);
  if (end == kv.c_str() + eq + 1 || *end != 0) return false;
  const std::map<std::string, double*> fields = {
      {"prior_precision", &p.prior_precision}, {"forget", &p.forget},           {"explore", &p.explore},
      {"anchor", &p.anchor},                   {"anchor_half", &p.anchor_half}, {"artist_shrink", &p.artist_shrink},
      {"artist_forget", &p.artist_forget},     {"skip_reward", &p.skip_reward}, {"reaction_weight", &p.reaction_weight},
      {"local_weight", &p.local_weight},       {"local_bandwidth", &p.local_bandwidth},
      {"local_mood_bandwidth", &p.local_mood_bandwidth}, {"local_shrink", &p.local_shrink},
      {"local_forget", &p.local_forget},       {"local_clamp", &p.local_clamp}};
  if (k == "explore_slots") return p.explore_slots = static_cast<std::size_t>(v), true;
  if (k == "loved_slots") return p.loved_slots = static_cast<std::size_t>(v), true;
  if (k == "loved_affinity") return p.loved_affinity = v, true;
  if (k == "max_events") return p.max_events = static_cast<std::size_t>(v), true;
  const auto it = fields.find(k);
  if (it == fields.end()) return false;
  *it->second = v;
  return true;
}

const char* met(bool ok) { return ok ? "met" : "NOT MET"; }

// Feedback writes: one add() (one transaction) per event, as the feedback route does.
void write_rate(ListenerStore& store, const TrackTable& table, const std::string& what) {
  for (int threads : {1, 4}) {
    constexpr int kWrites = 4000;
    std::vector<std::thread> pool;
    const auto t0 = Clock::now();
    for (int th = 0; th < threads; ++th)
      pool.emplace_back([&, th] {
        for (int k = 0; k < kWrites / threads; ++k) {
          Event e;
          e.listener = "writer-" + std::to_string(th);
          e.track_id = table.at(static_cast<std::size_t>(k) % table.size()).id;
          e.signal = Signal::kLike;
          e.event_id = "w-" + std::to_string(threads) + "-" + std::to_string(k);
          e.mood = MoodPoint{0.1f, 0.2f};
          store.add(e);
        }
      });
    for (auto& t : pool) t.join();
    const double s = ms_since(t0) / 1e3;
    fmt::printf("feedback writes (%s), %d writer thread(s): %.0f events/s -> %s (>= 2,000/s)\n", what.c_str(), threads,
                kWrites / s, met(kWrites / s >= 2000));
  }
}

// The same writes on PostgreSQL: a throwaway cluster (tests/pg_cluster.hpp) when Debian's
// postgresql-15 server is installed.
void postgres_write_rate(const TrackTable& table, const fs::path& dir) {
  try {
    moodtunes::test::PgCluster cluster(dir);
    PostgresListenerStore store(cluster.create_database());
    write_rate(store, table, "PostgreSQL 15, local, default durability");
  } catch (const std::exception& e) {
    fmt::printf("feedback writes on PostgreSQL: skipped (%s)\n", e.what());
  }
}

// Listeners in the store speed() fills, 200 events each.
constexpr int kListeners = 500;

void speed(const app::CatalogIndex& index, const TrackTable& table, const fs::path& dir) {
  const fs::path file = dir / "listeners.sqlite";
  SqliteListenerStore store(file);
  std::mt19937_64 rng(42);
  // 100,000 events: 500 listeners x 200 events of random tracks, moods and signals.
  constexpr int kPer = 200;
  std::vector<Event> batch;
  for (int l = 0; l < kListeners; ++l)
    for (int k = 0; k < kPer; ++k) {
      const TrackRef& t = table.at(rng() % table.size());
      Event e;
      e.listener = "listener-" + std::to_string(l);
      e.track_id = t.id;
      e.signal = static_cast<Signal>(rng() % 3);
      e.event_id = "ev-" + std::to_string(k);
      e.mood = mood_for_emotion(static_cast<Emotion>(rng() % kNumEmotions));
      e.strategy = "match";
      e.track = t.pos;
      e.artist = table.artist_name(t.artist);
      batch.push_back(std::move(e));
    }
  const auto t_load = Clock::now();
  store.add_many(batch);
  fmt::printf("\nstore: %zu events in %s (%.0f ms in one transaction)\n", store.total(), file.filename().c_str(), ms_since(t_load));

  write_rate(store, table, "SQLite, WAL, synchronous=NORMAL");

  // Recommend with learning: read the listener's newest events from the store, fit, pick.
  for (int threads : {1, 4}) {
    constexpr int kCalls = 400;
    std::vector<std::vector<double>> lat(static_cast<std::size_t>(threads));
    std::vector<std::thread> pool;
    for (int th = 0; th < threads; ++th)
      pool.emplace_back([&, th] {
        std::mt19937_64 r(static_cast<std::uint64_t>(th) + 7);
        for (int k = 0; k < kCalls; ++k) {
          const auto t0 = Clock::now();
          const std::string who = "listener-" + std::to_string(r() % kListeners);
          app::RecommendOptions o;
          o.strategy = static_cast<music::Strategy>(r() % 4);
          o.seed = r();
          const auto res =
              recommend_for_listener(index, table, {mood_for_emotion(static_cast<Emotion>(r() % 7)), ""}, o, store, who);
          lat[static_cast<std::size_t>(th)].push_back(ms_since(t0));
          if (res.picks.tracks.size() != 10) std::abort();
        }
      });
    for (auto& t : pool) t.join();
    std::vector<double> all;
    for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    fmt::printf("recommend with learning (200 events per listener, 100,000 stored), %d concurrent caller(s): "
                "p50 %.2f ms, p99 %.2f ms -> %s (p99 < 10 ms)\n",
                threads, pct(all, 0.5), pct(all, 0.99), met(pct(all, 0.99) < 10.0));
  }
}

// POST /api/recommend through `moodtunes serve` (its own process, default threads, the catalog
// and the 100,000-event store of speed()), each client on one kept-alive connection as a page's;
// with a listener (learning) and, as the baseline in the same run, without.
void http_recommend(const fs::path& dir) {
  try {
    moodtunes::test::ServerProcess server({"--catalog", (dir / "catalog.sqlite").string(), "--offline"}, dir,
                                          {{"MOODTUNES_API_KEY", ""}});
    for (const bool learning : {false, true})
      for (const int clients : {1, 4}) {
        constexpr int kCalls = 400;
        std::vector<std::vector<double>> lat(static_cast<std::size_t>(clients));
        std::atomic<int> failures{0}, unpersonalised{0};
        std::vector<std::thread> pool;
        for (int c = 0; c < clients; ++c)
          pool.emplace_back([&, c] {
            auto http = server.client();
            http->set_keep_alive(true);
            http->set_tcp_nodelay(true);
            std::mt19937_64 r(static_cast<std::uint64_t>(c) + 11);
            for (int k = 0; k < kCalls + 20; ++k) {  // the first 20: warm-up, not counted
              nlohmann::json body = {{"emotion", emotion_name(static_cast<std::size_t>(r() % kNumEmotions))},
                                     {"strategy", music::strategy_name(static_cast<music::Strategy>(r() % 4))}};
              if (learning) body["listener"] = "listener-" + std::to_string(r() % static_cast<std::uint64_t>(kListeners));
              const auto t0 = Clock::now();
              const auto res = http->Post("/api/recommend", body.dump(), "application/json");
              const double ms = ms_since(t0);
              if (!res || res->status != 200) {
                ++failures;
                continue;
              }
              if (learning && !nlohmann::json::parse(res->body)["listener"].value("personalised", false)) ++unpersonalised;
              if (k >= 20) lat[static_cast<std::size_t>(c)].push_back(ms);
            }
          });
        for (auto& t : pool) t.join();
        std::vector<double> all;
        for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
        if (all.empty()) throw std::runtime_error("no request succeeded:\n" + server.output());
        fmt::printf("POST /api/recommend over HTTP, %s, %d client(s): p50 %.2f ms, p99 %.2f ms, %d failed, "
                    "%d not personalised%s\n",
                    learning ? "with learning (100,000 stored)" : "no listener (baseline)", clients, pct(all, 0.5),
                    pct(all, 0.99), failures.load(), unpersonalised.load(),
                    learning ? fmt::sprintf(" -> %s (p99 < 10 ms)", met(pct(all, 0.99) < 10.0 && failures == 0 && unpersonalised == 0)) : "");
      }
  } catch (const std::exception& e) {
    fmt::printf("POST /api/recommend over HTTP: not measured (%s)\n", e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  fs::path data;
  int seeds = 100, rounds = 50, first_seed = 1;
  bool sweep = false, with_speed = true;
  ModelParams params;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) data = argv[++i];
    else if (a == "--set" && i + 1 < argc) {
      if (!set_param(params, argv[++i])) {
        fmt::fprintf(stderr, "bench_listener: --set NAME=VALUE with NAME a ModelParams field, not '%s'\n", argv[i]);
        return 2;
      }
    }
    else if (a == "--seeds" && i + 1 < argc) seeds = std::atoi(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
    else if (a == "--first-seed" && i + 1 < argc) first_seed = std::atoi(argv[++i]);
    else if (a == "--sweep") sweep = true;
    else if (a == "--no-speed") with_speed = false;
    else {
      fmt::fprintf(stderr, "usage: bench_listener [--data DIR] [--seeds N] [--rounds N] [--first-seed S] [--sweep] [--no-speed]\n"
                   "                      [--set NAME=VALUE]...\n");
      return 2;
    }
  }
  if (data.empty()) {
    const char* env = std::getenv("MOODTUNES_DATA");
    data = fs::path(env && *env ? env : MOODTUNES_DATA_DIR) / "deezer-mood";
  }
  const fs::path tmp = fs::temp_directory_path() / ("moodtunes-bench-listener-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  int rc = 0;
  try {
    std::shared_ptr<const app::CatalogIndex> index;
    {
      music::Catalog catalog(tmp / "catalog.sqlite");
      music::import_deezer_mood(catalog, music::deezer_mood_files(data), {});
      index = app::CatalogIndex::load(catalog);
    }
    const auto table = track_table(*index);
    const int flip_round = rounds / 2;
    const auto tastes = make_tastes(*index, *table, flip_round);
    fmt::printf("catalog: %zu tracks; %zu listener types x %d rounds x %d seeds\n", index->size(), tastes.size(), rounds, seeds);

    if (sweep) {
      fmt::printf("%-7s %-7s %-6s %-6s %-6s | %-7s %-7s %-7s %-7s | learner 41-50 per type\n", "forget", "slots",
                  "anchor", "shrink", "prior", "learner", "today", "oracle", "recover");
      for (double forget : {0.97, 0.98})
        for (std::size_t slots : {0, 1, 2})
          for (double anchor : {0.5, 1.0})
            for (double shrink : {0.5, 2.0}) {
              ModelParams p;
              p.forget = forget;
              p.explore_slots = slots;
              p.anchor = anchor;
              p.artist_shrink = shrink;
              const Summary s = evaluate(*index, *table, tastes, rounds, seeds, p);
              const Headline h = headline(s, tastes, rounds, flip_round);
              fmt::printf("%-7.3f %-7zu %-6.1f %-6.1f %-6.1f | %-7.3f %-7.3f %-7.3f %-7d |", forget, slots, anchor,
                          shrink, p.prior_precision, h.learner, h.today, h.oracle, h.recover);
              for (std::size_t ti = 0; ti < tastes.size(); ++ti)
                fmt::printf(" %.2f", window(s.rate[ti][kLearner], rounds - rounds / kWindows, rounds));
              fmt::printf("\n");
              std::fflush(stdout);
            }
    } else {
      const auto t0 = Clock::now();
      const Summary s = evaluate(*index, *table, tastes, rounds, seeds, params, first_seed);
      fmt::printf("simulated in %.1f s\n\nlike-rate per window of rounds (mean over %d seeds)\n", ms_since(t0) / 1e3, seeds);
      fmt::printf("%-13s %-8s", "listener", "method");
      const int w = rounds / kWindows;
      for (int k = 0; k < kWindows; ++k) fmt::printf(" %2d-%-3d", k * w + 1, (k + 1) * w);
      fmt::printf("\n");
      for (std::size_t ti = 0; ti < tastes.size(); ++ti)
        for (int m = 0; m < kMethods; ++m) {
          fmt::printf("%-13s %-8s", tastes[ti].name.c_str(), kMethodNames[m]);
          for (int k = 0; k < kWindows; ++k) fmt::printf(" %5.2f ", window(s.rate[ti][m], k * w, (k + 1) * w));
          fmt::printf("\n");
        }
      const Headline h = headline(s, tastes, rounds, flip_round);
      fmt::printf("\nrounds %d-%d, mean over types: learner %.3f, today %.3f, oracle %.3f\n", rounds - w + 1, rounds,
                  h.learner, h.today, h.oracle);
      fmt::printf("  >= 2x today: %.2fx -> %s\n", h.learner / std::max(1e-9, h.today), met(h.learner >= 2 * h.today));
      fmt::printf("  face reactions only, likes off: %.3f, %.2fx today -> %s (>= 1.5x)\n", h.face,
                  h.face / std::max(1e-9, h.today), met(h.face >= 1.5 * h.today));
      fmt::printf("  within 15 points of the oracle: %.1f points -> %s\n", 100 * (h.oracle - h.learner),
                  met(h.learner >= h.oracle - 0.15));
      fmt::printf("after the flip at round %d: within 15 points of the oracle after %d round(s) -> %s (<= 10)\n",
                  flip_round, h.recover, met(h.recover >= 1 && h.recover <= 10));
      fmt::printf("distinct artists per list of 10 (learner): min %.0f, mean %.2f -> %s (>= 8)\n", s.min_artists,
                  s.mean_artists, met(s.min_artists >= 8));
      fmt::printf("a new listener's first list equals today's (every type and seed): %s\n", met(s.first_equal));
      if (with_speed) {
        speed(*index, *table, tmp);
        http_recommend(tmp);
        postgres_write_rate(*table, tmp);
      }
    }
  } catch (const std::exception& e) {
    fmt::fprintf(stderr, "bench_listener: %s\n", e.what());
    rc = 1;
  }
  std::error_code ec;
  fs::remove_all(tmp, ec);
  return rc;
}
