#include "music/recommender.hpp"

#include <fmt/format.h>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace moodtunes::music {

namespace {

struct StrategyInfo {
  Strategy s;
  std::string_view name;
  MoodPoint goal;         // unused for match
  std::string_view goal_words;
};

// The one table of strategy goals (see recommender.hpp).
constexpr StrategyInfo kStrategyGoals[] = {
    {Strategy::kMatch, "match", {0.0f, 0.0f}, "your mood"},
    {Strategy::kUplift, "uplift", {0.8f, 0.3f}, "a brighter, positive mood"},
    {Strategy::kCalm, "calm", {0.5f, -0.7f}, "calm and positive"},
    {Strategy::kEnergize, "energize", {0.5f, 0.9f}, "high energy"},
};

const StrategyInfo& info(Strategy s) {
  for (const auto& i : kStrategyGoals)
    if (i.s == s) return i;
  throw std::invalid_argument("unknown strategy");
}

// splitmix64: tiny, portable, good enough to jitter targets.
std::uint64_t mix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
double unit(std::uint64_t& x) { return static_cast<double>(mix(x) >> 11) * 0x1.0p-53; }


}  // namespace

std::optional<Strategy> parse_strategy(std::string_view name) {
  for (const auto& i : kStrategyGoals)
    if (i.name == name) return i.s;
  return std::nullopt;
}

std::string_view strategy_name(Strategy s) { return info(s).name; }

MoodPoint strategy_goal(Strategy s, MoodPoint mood) {
  return s == Strategy::kMatch ? mood : info(s).goal;
}

Recommender::Recommender(std::shared_ptr<const MoodIndex> index) : index_(std::move(index)) {
  if (!index_) throw std::invalid_argument("Recommender needs an index");
}

RecommendResult Recommender::recommend(const RecommendRequest& req, std::unordered_set<std::int64_t>* served) const {
  if (!std::isfinite(req.mood.valence) || !std::isfinite(req.mood.arousal))
    throw std::invalid_argument("mood point is not finite");
  if (!(req.jitter >= 0.0f && req.jitter <= 1.0f)) throw std::invalid_argument("jitter must be in [0, 1]");
  const StrategyInfo& si = info(req.strategy);
  RecommendResult out;
  out.mood = req.mood;
  out.goal = strategy_goal(req.strategy, req.mood);
  out.strategy = req.strategy;
  out.items.reserve(req.count);

  std::unordered_set<std::int64_t> picked;
  std::unordered_set<std::uint32_t> artists;
  std::uint64_t rng = req.seed;
  const std::string mood_text = fmt::format("({:+.2f}, {:+.2f})", req.mood.valence, req.mood.arousal) + " " + describe_mood(req.mood);

  for (std::size_t k = 0; k < req.count; ++k) {
    const float t = req.count > 1 ? static_cast<float>(k) / static_cast<float>(req.count - 1) : 0.0f;
    MoodPoint target{req.mood.valence + (out.goal.valence - req.mood.valence) * t,
                     req.mood.arousal + (out.goal.arousal - req.mood.arousal) * t};
    // Uniform point in a disc of radius `jitter`.
    const double rad = req.jitter * std::sqrt(unit(rng)), ang = 2.0 * M_PI * unit(rng);
    MoodPoint aim{target.valence + static_cast<float>(rad * std::cos(ang)),
                  target.arousal + static_cast<float>(rad * std::sin(ang))};

    MoodIndex::NearestStream stream(*index_, aim);
    std::size_t i = 0;
    float d = 0;
    bool found = false;
    while (stream.next(i, d)) {
      const IndexEntry& e = index_->entry(i);
      if (picked.count(e.id) || (served && served->count(e.id))) continue;
      if (!req.allow_artist_repeats && artists.count(e.artist)) continue;
      found = true;
      break;
    }
    if (!found) {
      out.note = "catalog exhausted: " + std::to_string(out.items.size()) + " of " + std::to_string(req.count) +
                 " tracks (session history and one-track-per-artist leave no more)";
      break;
    }
    const IndexEntry& e = index_->entry(i);
    picked.insert(e.id);
    artists.insert(e.artist);
    Recommendation r;
    r.track_id = e.id;
    r.position = {e.valence, e.arousal};
    r.target = target;
    r.distance = std::hypot(e.valence - target.valence, e.arousal - target.arousal);
    r.step = k + 1;
    r.reason = fmt::format("valence {:+.2f}, arousal {:+.2f}; {:.2f} from target ({:+.2f}, {:+.2f}): ", e.valence,
                           e.arousal, r.distance, target.valence, target.arousal);
    if (req.strategy == Strategy::kMatch)
      r.reason += "closest to your mood " + mood_text;
    else
      r.reason += "step " + std::to_string(k + 1) + "/" + std::to_string(req.count) + " from your mood " + mood_text +
                  " toward " + std::string(si.goal_words);
    out.items.push_back(std::move(r));
  }
  if (served)
    for (const auto& r : out.items) served->insert(r.track_id);
  return out;
}

}  // namespace moodtunes::music
