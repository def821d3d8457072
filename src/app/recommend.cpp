#include "app/recommend.hpp"

#include <memory>
#include <unordered_set>

#include "app/errors.hpp"

namespace moodtunes::app {

std::filesystem::path catalog_file(const std::string& flag) {
  return flag.empty() ? music::default_catalog_path() : std::filesystem::path(flag);
}

ResolvedMood resolve_mood(const MoodInput& in) {
  const int given = int(!in.emotion.empty()) + int(in.probs.has_value()) + int(in.point.has_value());
  if (given == 0) throw InvalidInput("give the mood: --emotion E, --probs P1..P7 or --valence V --arousal A");
  if (given > 1) throw InvalidInput("give the mood one way only: an emotion, probabilities, or valence and arousal");
  if (!in.emotion.empty()) {
    const auto e = emotion_from_name(in.emotion);
    if (!e) throw InvalidInput("unknown emotion '" + in.emotion + "' (angry, disgust, fear, happy, neutral, sad, surprise)");
    return {mood_for_emotion(*e), "emotion " + in.emotion};
  }
  if (in.probs) return mood_of_probs(*in.probs);
  const MoodPoint p = *in.point;
  if (!(p.valence >= -1 && p.valence <= 1 && p.arousal >= -1 && p.arousal <= 1))
    throw InvalidInput("valence and arousal must lie in [-1, 1]");
  return {p, "valence/arousal"};
}

ResolvedMood mood_of_probs(const EmotionProbs& probs) {
  try {
    return {mood_from_probs(probs), "emotion probabilities"};
  } catch (const std::invalid_argument& e) {
    throw InvalidInput(e.what());
  }
}

music::RecommendResult recommend_picks(const music::Recommender& recommender, const ResolvedMood& mood,
                                       const RecommendOptions& options, std::unordered_set<std::int64_t>* served) {
  music::RecommendRequest req;
  req.mood = mood.point;
  req.strategy = options.strategy;
  req.count = options.count;
  req.seed = options.seed;
  req.allow_artist_repeats = options.allow_artist_repeats;
  return recommender.recommend(req, served);
}

Recommendations recommend(music::Catalog& catalog, const ResolvedMood& mood, const RecommendOptions& options) {
  if (catalog.size() == 0)
    throw Unavailable("the catalog at " + catalog.path().string() + " is empty (run `moodtunes catalog setup`)");
  Recommendations out{mood, options, {}, {}};
  const music::Recommender rec(std::make_shared<const music::MoodIndex>(catalog.load_index_entries()));
  std::unordered_set<std::int64_t> served;
  const bool in_session = !options.session.empty();
  if (in_session) served = catalog.session_served(options.session);
  out.result = recommend_picks(rec, mood, options, in_session ? &served : nullptr);
  std::vector<std::int64_t> ids;
  for (const auto& item : out.result.items) ids.push_back(item.track_id);
  out.tracks = catalog.get_many(ids);
  if (in_session) catalog.record_served(options.session, ids);
  return out;
}

}  // namespace moodtunes::app
