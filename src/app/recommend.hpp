// The recommend use case: a mood (given, or read from faces) -> tracks from the catalog, with
// the listening session's history. The one sequence behind `recommend`, `suggest`,
// `spotify playlist` and a server's recommend route.
//
// resolve_mood(): exactly one of an emotion name, 7 probabilities or a valence/arousal point
// (InvalidInput otherwise, or for an unknown emotion or invalid probabilities).
// recommend(): builds the index from the catalog, excludes the session's served tracks and
// records the new picks in it (when RecommendOptions::session is set). Unavailable when the
// catalog is empty. Borrows the catalog; not thread-safe with other users of that Catalog.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/emotion.hpp"
#include "mood/mood.hpp"
#include "music/catalog.hpp"
#include "music/recommender.hpp"

namespace moodtunes::app {

// The catalog file: `flag` when given, else $MOODTUNES_CATALOG or the per-user default.
std::filesystem::path catalog_file(const std::string& flag);

// Every member has a default initializer, so designated initializers may name only the one given.
struct MoodInput {
  std::string emotion{};                // a class name (core/emotion.hpp)
  std::optional<EmotionProbs> probs{};  // 7 probabilities, renormalised
  std::optional<MoodPoint> point{};     // valence and arousal in [-1, 1]
};

struct ResolvedMood {
  MoodPoint point{};
  std::string from{};  // how it was given: "emotion happy", "emotion probabilities", "valence/arousal"
};

ResolvedMood resolve_mood(const MoodInput& input);
// The mood of a face reading (the expectation of the emotion coordinates).
ResolvedMood mood_of_probs(const EmotionProbs& probs);

struct RecommendOptions {
  music::Strategy strategy = music::Strategy::kMatch;
  std::size_t count = 10;
  std::uint64_t seed = 1;
  std::string session{};  // empty: no history
  bool allow_artist_repeats = false;
};

struct Recommendations {
  ResolvedMood mood{};
  RecommendOptions options{};
  music::RecommendResult result{};
  std::vector<music::Track> tracks{};  // in the order of result.items
};

Recommendations recommend(music::Catalog& catalog, const ResolvedMood& mood, const RecommendOptions& options);

// The step both recommend() and the server's shared index (app/catalog_index.hpp) take: the
// recommender's picks for `mood` under `options` (excluding and extending `served` when given).
music::RecommendResult recommend_picks(const music::Recommender& recommender, const ResolvedMood& mood,
                                       const RecommendOptions& options, std::unordered_set<std::int64_t>* served);

}  // namespace moodtunes::app
