// Recommender: picks a list of catalog tracks for a mood point and a strategy.
//
// Strategies (the goals are in kStrategyGoals in recommender.cpp, one place):
//   match     every position targets the listener's mood.
//   uplift    the iso principle of music therapy: position 1 targets the current mood, and the
//             target moves in equal steps to a positive goal (valence +0.8, arousal +0.3) at
//             the last position.
//   calm      the same stepwise path toward low arousal, positive valence (+0.5, -0.7).
//   energize  the same stepwise path toward high arousal (+0.5, +0.9).
// For each position the nearest eligible track to the target is taken, eligible meaning: not
// already in the list, not served earlier in the session, and (unless allow_artist_repeats) by
// an artist not yet in the list. A seed jitters each target by at most `jitter` (uniform in a
// disc) so different seeds give different but equally fitting lists; the same seed, catalog and
// session give the same list (own RNG arithmetic, no std:: distributions, so it is portable).
//
// Sessions: `served` (optional) holds ids already played in the listening session; it is read
// to exclude them and extended with the new picks. app::recommend() (src/app) persists it in the
// catalog's session_history table (Catalog::session_served / record_served).
//
// Thread-safety: recommend() is const and reads an immutable index, so concurrent calls are
// safe as long as each caller passes its own `served` set.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "mood/mood.hpp"
#include "music/mood_index.hpp"

namespace moodtunes::music {

enum class Strategy { kMatch, kUplift, kCalm, kEnergize };
std::optional<Strategy> parse_strategy(std::string_view name);
std::string_view strategy_name(Strategy s);
// Where a strategy ends for a given start mood (match: the mood itself).
MoodPoint strategy_goal(Strategy s, MoodPoint mood);

struct RecommendRequest {
  MoodPoint mood;
  Strategy strategy = Strategy::kMatch;
  std::size_t count = 10;
  std::uint64_t seed = 1;
  float jitter = 0.05f;              // max target perturbation, in scale units
  bool allow_artist_repeats = false;
};

struct Recommendation {
  std::int64_t track_id = 0;
  MoodPoint position;   // the track's valence/arousal
  MoodPoint target;     // what this position aimed at
  float distance = 0;   // |position - target|
  std::size_t step = 0; // 1-based position in the list
  std::string reason;   // short human explanation
};

struct RecommendResult {
  MoodPoint mood, goal;
  Strategy strategy = Strategy::kMatch;
  std::vector<Recommendation> items;
  std::string note;  // e.g. "catalog exhausted: 3 of 10" (empty when all went well)
};

class Recommender {
 public:
  explicit Recommender(std::shared_ptr<const MoodIndex> index);
  RecommendResult recommend(const RecommendRequest& request,
                            std::unordered_set<std::int64_t>* served = nullptr) const;
  const MoodIndex& index() const { return *index_; }

 private:
  std::shared_ptr<const MoodIndex> index_;
};

}  // namespace moodtunes::music
