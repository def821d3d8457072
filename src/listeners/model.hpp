// The per-listener preference model: what one listener's like / skip / dislike (and face
// reactions) say about where in the mood plane, and by which artists, they want music in a
// given context, and the list it picks from that. Pure: no I/O, deterministic given the seed.
//
// Method (docs/listeners.md has the why and the measurements):
//   utility(track | mood) = theta . phi(track, mood) + beta[artist]
//   phi = [1, v, a, v^2, a^2, (v-mv)^2, (a-ma)^2, mv, ma, mv^2, ma^2] (track (v, a), mood (mv, ma)):
//   a quadratic surface whose peak is the listener's target point, moving with the mood.
//   theta: Bayesian ridge regression on rewards (like +1, skip, dislike -1; a reaction counts
//   as a weaker event), each event discounted by `forget` per newer event so a changed taste
//   wins within a few lists. beta: the mean residual per artist, shrunk toward 0.
//   Exploration: Thompson sampling: one draw of theta and of each seen artist's beta per list,
//   used by `explore_slots` positions; the others exploit the posterior means (measured: a
//   whole list from the draw lost a third of the likes on the simulated listeners).
//   Local correction: a kernel average of the residuals (reward less theta's and beta's
//   utility) of events near the track and in moods near this one, on a grid, added to the
//   score; it sharpens the surface where the listener has answered.
//   A list: for position k of today's path (app::recommend's target t_k for the strategy),
//   the eligible track maximising sampled utility - anchor(evidence) * |track - t_k|^2, where
//   the anchor to today's behaviour fades as evidence grows. A listener with no events is not
//   handled here: the caller serves today's list unchanged.
// Thread-safety: a TrackTable is immutable; the functions are pure.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "listeners/event.hpp"
#include "mood/mood.hpp"
#include "music/recommender.hpp"

namespace moodtunes::listeners {

struct ModelParams {
  double prior_precision = 1.0;  // ridge strength on theta
  double forget = 0.98;          // weight factor per newer event (1: never forget)
  double explore = 1.0;          // Thompson draw scale (0: greedy on the posterior mean)
  std::size_t explore_slots = 1; // positions per list scored with the draw; the rest exploit
  double anchor = 1.0;           // pull toward today's target with no evidence...
  double anchor_half = 10.0;     // ...halved at this much (discounted) evidence
  double artist_shrink = 2.0;    // pseudo-events at 0 in each artist's mean
  double artist_forget = 0.98;   // artists' own discount per newer event
  double skip_reward = -0.3;
  double reaction_weight = 0.4;  // a reaction's weight beside an explicit signal's 1
  std::size_t max_events = 400;  // the newest events used (older ones weigh < forget^400 anyway)
  // The local correction: a kernel average of what the surface and the artists' terms leave
  // unexplained near each track, in moods like this one (a quadratic cannot be as sharp as a
  // taste that likes only tracks close to the face's mood, and its peak drifts toward where
  // past lists happened to sample).
  double local_weight = 2.0;          // 0: off
  double local_bandwidth = 0.12;      // kernel width in the track plane
  double local_mood_bandwidth = 0.25; // kernel width between the event's mood and this one
  double local_shrink = 1.0;          // pseudo-weight at 0 in each local average
  double local_forget = 0.98;         // its own discount per newer event
  double local_clamp = 0.7;           // residuals clamped to +-this: an old answer that the
                                      // surface now contradicts (a changed taste) pulls less
  // A loved artist may hold a second place in a list (at most `loved_slots` such places, so a
  // list of 10 keeps >= 8 artists) once its affinity reaches `loved_affinity`.
  std::size_t loved_slots = 2;
  double loved_affinity = 0.2;
};

inline constexpr std::size_t kDim = 11;

struct TrackRef {
  std::int64_t id = 0;
  MoodPoint pos{};
  std::uint32_t artist = 0;  // index into TrackTable's artist names
};

// The catalog as the model scores it: built once, shared read-only by every request.
class TrackTable {
 public:
  // artist_names[i]: the display name of artist id i (ids are TrackRef::artist).
  TrackTable(std::vector<TrackRef> tracks, std::vector<std::string> artist_names);
  std::size_t size() const { return tracks_.size(); }
  const TrackRef& at(std::size_t i) const { return tracks_[i]; }
  const TrackRef* find(std::int64_t id) const;
  std::optional<std::uint32_t> artist_id(const std::string& name) const;  // case-insensitive
  const std::string& artist_name(std::uint32_t id) const { return artist_names_[id]; }

 private:
  std::vector<TrackRef> tracks_;
  std::vector<std::string> artist_names_;
  std::unordered_map<std::int64_t, std::size_t> by_id_;
  std::unordered_map<std::string, std::uint32_t> by_artist_;
};

std::string fold_artist(const std::string& name);  // the key artists are compared by

struct ArtistStat {
  std::string name;
  double weight = 0, residual = 0;  // discounted count and sum of residual rewards
  double affinity = 0;              // the posterior mean of beta
  int likes = 0, skips = 0, dislikes = 0;
};

struct Profile {
  std::size_t events = 0;  // events the fit used (with a known track position)
  double evidence = 0;     // their discounted weight
  std::array<double, kDim> mean{};            // posterior mean of theta
  std::array<double, kDim * kDim> chol{};     // Cholesky factor L of the posterior precision (L L^T)
  std::unordered_map<std::string, ArtistStat> artists;  // by fold_artist()
  struct Local {
    MoodPoint track{}, mood{};
    double weight = 0, residual = 0;  // discounted weight; reward less the fitted utility
  };
  std::vector<Local> local;  // the events the local correction averages
};

// The unit direction in the mood plane that a face reaction counts toward: toward the
// strategy's goal; for match, whose goal is the mood itself, toward more positive valence (a
// smile).
MoodPoint reaction_direction(music::Strategy strategy, MoodPoint mood);

// Events without a track position are left out (fill them from the catalog first).
Profile fit(std::span<const Event> events, const ModelParams& params = {});
double mean_utility(const Profile& p, MoodPoint track, MoodPoint mood);
// Where the listener's fitted utility peaks for this mood (grid search over [-1, 1]^2): the
// listener's own target point in this context.
MoodPoint preferred_point(const Profile& p, MoodPoint mood);
// The emotion whose coordinates lie nearest a mood ("sad"): the context words of reasons.
std::string_view nearest_emotion(MoodPoint mood);

struct PickRequest {
  MoodPoint mood{};
  music::Strategy strategy = music::Strategy::kMatch;
  std::size_t count = 10;
  std::uint64_t seed = 1;
  bool allow_artist_repeats = false;
  const std::unordered_set<std::int64_t>* exclude = nullptr;  // never picked (heard, served)
};

struct Pick {
  const TrackRef* track = nullptr;
  MoodPoint target{};  // where this position aimed: the peak of its (mean) score
  std::string reason;
};

// `events`: those `profile` was fitted on (for the reasons). Fewer than count picks when the
// eligible tracks run out.
std::vector<Pick> pick(const Profile& profile, std::span<const Event> events, const TrackTable& table,
                       const PickRequest& request, const ModelParams& params = {});

}  // namespace moodtunes::listeners
