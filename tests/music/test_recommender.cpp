#include <algorithm>
#include <cmath>
#include <random>
#include <map>
#include <set>
#include <unordered_set>

#include <gtest/gtest.h>

#include "music/mood_index.hpp"
#include "music/recommender.hpp"

using namespace moodtunes::music;
using moodtunes::MoodPoint;

namespace {

std::vector<IndexEntry> random_entries(std::size_t n, std::uint32_t artists, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 0.4f);
  std::vector<IndexEntry> v;
  for (std::size_t i = 0; i < n; ++i)
    v.push_back({static_cast<std::int64_t>(i + 1), std::clamp(g(rng), -1.0f, 1.0f), std::clamp(g(rng), -1.0f, 1.0f),
                 static_cast<std::uint32_t>(rng() % artists)});
  return v;
}

std::shared_ptr<const MoodIndex> index_of(std::vector<IndexEntry> v) {
  return std::make_shared<const MoodIndex>(std::move(v));
}

}  // namespace

TEST(MoodIndex, StreamsInExactDistanceOrder) {
  auto entries = random_entries(5000, 100, 7);
  MoodIndex ix(entries);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.4f, 1.4f);  // include queries outside the grid
  for (int q = 0; q < 50; ++q) {
    const MoodPoint p{u(rng), u(rng)};
    std::vector<float> brute;
    for (const auto& e : entries) brute.push_back(std::hypot(e.valence - p.valence, e.arousal - p.arousal));
    std::sort(brute.begin(), brute.end());
    MoodIndex::NearestStream s(ix, p);
    std::size_t i = 0;
    float d = 0;
    std::set<std::int64_t> seen;
    for (std::size_t k = 0; k < brute.size(); ++k) {
      ASSERT_TRUE(s.next(i, d)) << "stream ended early at " << k;
      ASSERT_NEAR(d, brute[k], 1e-5) << "query " << q << " rank " << k;
      seen.insert(ix.entry(i).id);
    }
    EXPECT_FALSE(s.next(i, d));
    EXPECT_EQ(seen.size(), entries.size());
  }
}

TEST(MoodIndex, EmptyAndTinyIndexes) {
  MoodIndex empty({});
  MoodIndex::NearestStream s(empty, {0, 0});
  std::size_t i;
  float d;
  EXPECT_FALSE(s.next(i, d));
  MoodIndex one({{42, 0.9f, -0.9f, 0}});
  MoodIndex::NearestStream s1(one, {-1, 1});
  ASSERT_TRUE(s1.next(i, d));
  EXPECT_EQ(one.entry(i).id, 42);
  EXPECT_THROW(MoodIndex({{1, NAN, 0, 0}}), std::invalid_argument);
}

TEST(Recommender, MatchPicksNearestWithDistinctArtists) {
  auto entries = random_entries(3000, 40, 11);
  Recommender rec(index_of(entries));
  RecommendRequest req;
  req.mood = {0.2f, -0.1f};
  req.count = 10;
  req.jitter = 0.0f;
  auto r = rec.recommend(req);
  ASSERT_EQ(r.items.size(), 10u);
  std::set<std::uint32_t> artists;
  std::map<std::int64_t, std::uint32_t> artist_of;
  for (const auto& e : entries) artist_of[e.id] = e.artist;
  for (const auto& it : r.items) EXPECT_TRUE(artists.insert(artist_of[it.track_id]).second) << "artist repeated";
  // The first pick is the global nearest track.
  auto best = std::min_element(entries.begin(), entries.end(), [&](const auto& a, const auto& b) {
    return std::hypot(a.valence - 0.2f, a.arousal + 0.1f) < std::hypot(b.valence - 0.2f, b.arousal + 0.1f);
  });
  EXPECT_EQ(r.items[0].track_id, best->id);
  for (const auto& it : r.items) {
    EXPECT_FALSE(it.reason.empty());
    EXPECT_NE(it.reason.find("valence"), std::string::npos);
    EXPECT_LT(it.distance, 0.2f);
  }
}

TEST(Recommender, ArtistRepeatsOnlyWhenAllowed) {
  // Two artists only: without repeats the list stops at 2 and says why.
  std::vector<IndexEntry> v;
  for (int i = 0; i < 20; ++i) v.push_back({i + 1, 0.01f * static_cast<float>(i), 0.0f, static_cast<std::uint32_t>(i % 2)});
  Recommender rec(index_of(v));
  RecommendRequest req;
  req.count = 5;
  auto r = rec.recommend(req);
  EXPECT_EQ(r.items.size(), 2u);
  EXPECT_NE(r.note.find("exhausted"), std::string::npos);
  req.allow_artist_repeats = true;
  EXPECT_EQ(rec.recommend(req).items.size(), 5u);
}

TEST(Recommender, DeterministicGivenSeed) {
  Recommender rec(index_of(random_entries(20000, 2000, 5)));
  RecommendRequest req;
  req.mood = {-0.3f, 0.4f};
  req.strategy = Strategy::kUplift;
  req.seed = 99;
  auto ids = [&](std::uint64_t seed) {
    req.seed = seed;
    std::vector<std::int64_t> out;
    for (const auto& it : rec.recommend(req).items) out.push_back(it.track_id);
    return out;
  };
  EXPECT_EQ(ids(99), ids(99));
  EXPECT_NE(ids(99), ids(100));
}

TEST(Recommender, SessionNeverRepeats) {
  Recommender rec(index_of(random_entries(200, 200, 9)));
  RecommendRequest req;
  req.count = 30;
  std::unordered_set<std::int64_t> served;
  std::set<std::int64_t> all;
  for (int round = 0; round < 6; ++round) {
    auto r = rec.recommend(req, &served);
    for (const auto& it : r.items) EXPECT_TRUE(all.insert(it.track_id).second) << "repeat in session";
  }
  EXPECT_EQ(all.size(), 180u);
  EXPECT_EQ(served.size(), 180u);
  auto last = rec.recommend(req, &served);  // only 20 left
  EXPECT_EQ(last.items.size(), 20u);
  EXPECT_FALSE(last.note.empty());
}

TEST(Recommender, UpliftMovesStepByStepFromMoodToPositiveGoal) {
  Recommender rec(index_of(random_entries(50000, 5000, 1)));
  RecommendRequest req;
  req.mood = {-0.6f, -0.3f};
  req.strategy = Strategy::kUplift;
  req.count = 8;
  req.jitter = 0.0f;
  auto r = rec.recommend(req);
  ASSERT_EQ(r.items.size(), 8u);
  EXPECT_NEAR(r.items.front().target.valence, -0.6f, 1e-6);  // iso principle: start at the mood
  EXPECT_NEAR(r.items.back().target.valence, r.goal.valence, 1e-6);
  EXPECT_GT(r.goal.valence, 0.5f);
  for (std::size_t i = 1; i < r.items.size(); ++i) EXPECT_GT(r.items[i].target.valence, r.items[i - 1].target.valence);
  EXPECT_LT(r.items.front().position.valence, r.items.back().position.valence);
  EXPECT_NE(r.items[2].reason.find("step 3/8"), std::string::npos);
}

TEST(Recommender, CalmAndEnergizeMoveArousal) {
  Recommender rec(index_of(random_entries(50000, 5000, 2)));
  RecommendRequest req;
  req.mood = {0.0f, 0.1f};
  req.count = 6;
  req.jitter = 0.0f;
  req.strategy = Strategy::kCalm;
  auto calm = rec.recommend(req);
  EXPECT_LT(calm.items.back().position.arousal, calm.items.front().position.arousal - 0.3f);
  EXPECT_GT(calm.items.back().position.valence, 0.0f);
  req.strategy = Strategy::kEnergize;
  auto energize = rec.recommend(req);
  EXPECT_GT(energize.items.back().position.arousal, energize.items.front().position.arousal + 0.3f);
}

TEST(Recommender, StrategyNamesAndBadInput) {
  EXPECT_EQ(parse_strategy("uplift"), Strategy::kUplift);
  EXPECT_FALSE(parse_strategy("sadder"));
  EXPECT_EQ(strategy_name(Strategy::kEnergize), "energize");
  Recommender rec(index_of(random_entries(10, 10, 1)));
  RecommendRequest req;
  req.mood = {NAN, 0};
  EXPECT_THROW(rec.recommend(req), std::invalid_argument);
}
