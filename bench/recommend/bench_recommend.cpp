// Targets (issue "Music"): recommend on the 18,644-track catalog p99 < 5 ms; on a synthetic
// 1,000,000-track catalog p99 < 50 ms; Deezer import < 2 s.
//
// Usage: bench_recommend [--data DIR] [--queries N] [--skip-million]
//   DIR: the deezer-mood folder (default $MOODTUNES_DATA/deezer-mood, else the build's data dir).
// Each query: random mood (uniform in [-1,1]^2), random strategy, 10 tracks, random seed, and a
// per-query session of the tracks already served (grown over the run, up to 200 ids), so the
// filters do real work. Latency is recommend() on a loaded index; "with details" adds the SQLite
// lookup of the 10 tracks, as the CLI does.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include <fmt/core.h>

#include <unistd.h>

#include "music/catalog.hpp"
#include "music/importers.hpp"
#include "music/mood_index.hpp"
#include "music/recommender.hpp"
#include "support/timing.hpp"

using namespace moodtunes::music;
namespace fs = std::filesystem;
using moodtunes::bench::Clock;
using moodtunes::bench::ms_since;

namespace {

struct Pct {
  double p50, p90, p99, max;
};
Pct percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))]; };
  return {at(0.50), at(0.90), at(0.99), v.back()};
}

Pct run_queries(const Recommender& rec, int queries, unsigned seed, Catalog* details) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<double> lat;
  std::unordered_set<std::int64_t> served;
  const Strategy strategies[] = {Strategy::kMatch, Strategy::kUplift, Strategy::kCalm, Strategy::kEnergize};
  for (int q = 0; q < queries; ++q) {
    if (served.size() > 200) served.clear();  // a new listening session
    RecommendRequest req;
    req.mood = {u(rng), u(rng)};
    req.strategy = strategies[rng() % 4];
    req.count = 10;
    req.seed = rng();
    const auto t0 = Clock::now();
    auto r = rec.recommend(req, &served);
    if (details) {
      std::vector<std::int64_t> ids;
      for (const auto& it : r.items) ids.push_back(it.track_id);
      auto tracks = details->get_many(ids);
      if (tracks.size() != ids.size()) std::abort();
    }
    lat.push_back(ms_since(t0));
    if (r.items.size() != 10) { fmt::print(stderr, "short list: {}\n", r.note.c_str()); std::exit(1); }
  }
  return percentiles(std::move(lat));
}

void print(const char* name, const Pct& p, double target) {
  fmt::print("  {:<34} p50 {:7.3f} ms  p90 {:7.3f} ms  p99 {:7.3f} ms  max {:7.3f} ms  {}\n", name, p.p50, p.p90, p.p99, p.max,
              target <= 0 ? "" : (p.p99 < target ? "PASS" : "FAIL"));
}

std::vector<IndexEntry> synthetic(std::size_t n, unsigned seed) {
  // Shaped like the Deezer catalog after normalisation: roughly normal, sd ~0.4, clamped.
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, 0.4f);
  std::vector<IndexEntry> v(n);
  const auto artists = static_cast<std::uint32_t>(std::max<std::size_t>(1, n / 5));
  for (std::size_t i = 0; i < n; ++i)
    v[i] = {static_cast<std::int64_t>(i + 1), std::clamp(g(rng), -1.0f, 1.0f), std::clamp(g(rng), -1.0f, 1.0f),
            static_cast<std::uint32_t>(rng() % artists)};
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path data;
  int queries = 5000;
  bool million = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) data = argv[++i];
    else if (a == "--queries" && i + 1 < argc) queries = std::max(100, std::atoi(argv[++i]));
    else if (a == "--skip-million") million = false;
    else { fmt::print(stderr, "usage: bench_recommend [--data DIR] [--queries N] [--skip-million]\n"); return 2; }
  }
  if (data.empty()) {
    const char* env = std::getenv("MOODTUNES_DATA");
    data = env && *env ? fs::path(env) / "deezer-mood" : fs::path(MOODTUNES_DATA_DIR) / "deezer-mood";
  }
  bool ok = true;
  const fs::path tmp = fs::temp_directory_path() / ("moodtunes-bench-" + std::to_string(::getpid()));
  fs::create_directories(tmp);

  // 1. Deezer import into a fresh catalog file (best and worst of 5).
  fmt::print("Deezer Mood Detection import ({})\n", data.string().c_str());
  std::vector<double> imports;
  for (int run = 0; run < 5; ++run) {
    const fs::path file = tmp / ("import" + std::to_string(run) + ".sqlite");
    const auto t0 = Clock::now();
    Catalog c(file);
    auto r = import_deezer_mood(c, deezer_mood_files(data), {.strict = true, .require_checksums = true});
    imports.push_back(ms_since(t0));
    if (r.inserted != 18644) { fmt::print(stderr, "expected 18644 tracks, got {}\n", r.inserted); return 1; }
  }
  std::sort(imports.begin(), imports.end());
  fmt::print("  fresh import of 18,644 rows (sha256 + parse + SQLite): best {:.0f} ms, median {:.0f} ms, worst {:.0f} ms  {}\n",
              imports.front(), imports[2], imports.back(), imports.back() < 2000 ? "PASS (< 2 s)" : "FAIL (>= 2 s)");
  ok &= imports.back() < 2000;
  {
    Catalog c(tmp / "import0.sqlite");
    const auto t0 = Clock::now();
    auto r = import_deezer_mood(c, deezer_mood_files(data));
    fmt::print("  re-import (all unchanged: {}): {:.0f} ms\n", r.unchanged, ms_since(t0));
  }

  // 2. recommend on the real catalog.
  {
    Catalog c(tmp / "import0.sqlite");
    auto t0 = Clock::now();
    auto entries = c.load_index_entries();
    auto index = std::make_shared<const MoodIndex>(std::move(entries));
    fmt::print("recommend, Deezer catalog ({} tracks; index load from SQLite + build {:.1f} ms, grid {}x{})\n",
                index->size(), ms_since(t0), index->grid_size(), index->grid_size());
    Recommender rec(index);
    auto p = run_queries(rec, queries, 1, nullptr);
    print("recommend() n=10", p, 5.0);
    ok &= p.p99 < 5.0;
    print("recommend() + SQLite details", run_queries(rec, queries, 2, &c), 5.0);
  }

  // 3. Synthetic catalogs: scaling.
  for (std::size_t n : {std::size_t(100000), std::size_t(1000000)}) {
    if (n == 1000000 && !million) break;
    auto t0 = Clock::now();
    auto index = std::make_shared<const MoodIndex>(synthetic(n, 42));
    const double build = ms_since(t0);
    fmt::print("recommend, synthetic catalog ({} tracks; index build {:.0f} ms, grid {}x{})\n", n, build,
                index->grid_size(), index->grid_size());
    Recommender rec(index);
    auto p = run_queries(rec, n == 1000000 ? queries : queries / 2, 3, nullptr);
    const double target = n == 1000000 ? 50.0 : 0.0;
    print("recommend() n=10", p, target);
    if (target > 0) ok &= p.p99 < target;
  }
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fmt::print("{}\n", ok ? "all targets met" : "SOME TARGETS MISSED");
  return ok ? 0 : 1;
}
