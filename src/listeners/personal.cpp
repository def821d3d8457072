#include "listeners/personal.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "app/errors.hpp"

namespace moodtunes::listeners {

using nlohmann::json;

namespace {

double r4(double x) { return std::round(x * 1e4) / 1e4; }
json point_json(MoodPoint p) { return {{"valence", r4(p.valence)}, {"arousal", r4(p.arousal)}}; }

}  // namespace

std::shared_ptr<const TrackTable> track_table(const app::CatalogIndex& index) {
  const auto& mi = index.recommender().index();
  std::vector<TrackRef> tracks;
  tracks.reserve(mi.size());
  std::vector<std::string> names;
  for (std::size_t i = 0; i < mi.size(); ++i) {
    const auto& e = mi.entry(i);
    tracks.push_back({e.id, {e.valence, e.arousal}, e.artist});
    if (e.artist >= names.size()) names.resize(e.artist + 1);
    if (names[e.artist].empty())
      if (const auto* t = index.find(e.id)) names[e.artist] = t->artist;
  }
  // Entries come in grid-cell order; id order makes the model's scan independent of the grid.
  std::sort(tracks.begin(), tracks.end(), [](const TrackRef& a, const TrackRef& b) { return a.id < b.id; });
  return std::make_shared<const TrackTable>(std::move(tracks), std::move(names));
}

void fill_from_catalog(std::vector<Event>& events, const TrackTable& table) {
  for (auto& e : events) {
    if (e.track && !e.artist.empty()) continue;
    const TrackRef* t = table.find(e.track_id);
    if (!t) continue;
    if (!e.track) e.track = t->pos;
    if (e.artist.empty()) e.artist = table.artist_name(t->artist);
  }
}

namespace {

// Fitting and scoring are CPU-bound: more of them at once than there are cores only time-slice
// them, and a call preempted midway waits whole scheduler slices (the p99 at 4 callers on 2
// cores was 13 ms for a 1 ms call). Calls beyond the cores wait here, first come first served
// (a semaphore let a caller that had just left cut in again: a p99 of 21 ms).
class CpuSlot {
 public:
  CpuSlot() {
    std::unique_lock lock(gate().mu);
    const std::uint64_t ticket = gate().issued++;
    gate().cv.wait(lock, [&] { return ticket < gate().released + gate().slots; });
  }
  ~CpuSlot() {
    {
      std::lock_guard lock(gate().mu);
      ++gate().released;
    }
    gate().cv.notify_all();
  }
  CpuSlot(const CpuSlot&) = delete;
  CpuSlot& operator=(const CpuSlot&) = delete;

 private:
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    std::uint64_t issued = 0, released = 0;
    const std::uint64_t slots = std::max(1u, std::thread::hardware_concurrency());
  };
  static Gate& gate() {
    static Gate g;
    return g;
  }
};

ListenerRecommendations recommend_in_slot(const app::CatalogIndex& index, const TrackTable& table,
                                          const app::ResolvedMood& mood, const app::RecommendOptions& options,
                                          std::vector<Event> events, const ModelParams& params,
                                          const std::unordered_set<std::int64_t>* served) {
  if (index.size() == 0) throw app::Unavailable("the catalog is empty (run `moodtunes catalog setup`)");
  fill_from_catalog(events, table);
  std::erase_if(events, [](const Event& e) { return !e.track; });
  if (events.size() > params.max_events)
    events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(params.max_events));
  ListenerRecommendations out;
  out.events = events.size();
  if (events.empty()) {
    // A new listener: today's behaviour, exactly.
    out.picks = app::recommend(index, mood, options);
    return out;
  }
  out.personalised = true;
  const Profile profile = fit(events, params);
  std::unordered_set<std::int64_t> exclude;
  if (served) exclude = *served;
  for (const auto& e : events) exclude.insert(e.track_id);
  PickRequest req;
  req.mood = mood.point;
  req.strategy = options.strategy;
  req.count = options.count;
  // A new draw after each new event; the same events and seed give the same list.
  req.seed = options.seed ^ (static_cast<std::uint64_t>(events.back().seq + 1) * 0x9E3779B97F4A7C15ull) ^
             (static_cast<std::uint64_t>(events.size()) << 32);
  req.allow_artist_repeats = options.allow_artist_repeats;
  req.exclude = &exclude;
  const std::vector<Pick> picks = pick(profile, events, table, req, params);

  app::Recommendations& r = out.picks;
  r.mood = mood;
  r.options = options;
  r.options.session.clear();
  r.result.mood = mood.point;
  r.result.goal = music::strategy_goal(options.strategy, mood.point);
  r.result.strategy = options.strategy;
  std::vector<std::int64_t> ids;
  for (std::size_t k = 0; k < picks.size(); ++k) {
    const Pick& p = picks[k];
    music::Recommendation item;
    item.track_id = p.track->id;
    item.position = p.track->pos;
    item.target = p.target;
    item.distance = std::hypot(p.track->pos.valence - p.target.valence, p.track->pos.arousal - p.target.arousal);
    item.step = k + 1;
    item.reason = p.reason;
    r.result.items.push_back(std::move(item));
    ids.push_back(p.track->id);
  }
  if (picks.size() < options.count)
    r.result.note = "catalog exhausted: " + std::to_string(picks.size()) + " of " + std::to_string(options.count) +
                    " tracks (tracks already rated, served or by a listed artist leave no more)";
  r.tracks = index.tracks(ids);
  return out;
}

}  // namespace

ListenerRecommendations recommend_for_listener(const app::CatalogIndex& index, const TrackTable& table,
                                               const app::ResolvedMood& mood, const app::RecommendOptions& options,
                                               std::vector<Event> events, const ModelParams& params,
                                               const std::unordered_set<std::int64_t>* served) {
  const CpuSlot slot;
  return recommend_in_slot(index, table, mood, options, std::move(events), params, served);
}

ListenerRecommendations recommend_for_listener(const app::CatalogIndex& index, const TrackTable& table,
                                               const app::ResolvedMood& mood, const app::RecommendOptions& options,
                                               ListenerStore& store, const std::string& listener,
                                               const ModelParams& params,
                                               const std::unordered_set<std::int64_t>* served) {
  // The store's read is in the slot too: a call preempted while it holds the store's
  // connection would stall the others.
  const CpuSlot slot;
  std::vector<Event> events;
  try {
    events = store.events(listener, params.max_events);
  } catch (const app::Unavailable& e) {
    ListenerRecommendations out = recommend_in_slot(index, table, mood, options, {}, params, served);
    out.store_error = e.what();
    return out;
  }
  return recommend_in_slot(index, table, mood, options, std::move(events), params, served);
}

json listener_summary_json(const std::string& listener, const ListenerRecommendations& r) {
  json out = {{"id", listener}, {"events", r.events}, {"personalised", r.personalised}};
  if (!r.store_error.empty()) out["note"] = "the listener store is unavailable: not personalised";
  return out;
}

json export_json(const std::string& listener, std::vector<Event> events, const TrackTable* table,
                 const ModelParams& params) {
  if (table) fill_from_catalog(events, *table);
  json ev = json::array();
  for (const auto& e : events) {
    json j = {{"track_id", e.track_id}, {"signal", signal_name(e.signal)}, {"created_at", e.created_at}};
    if (!e.event_id.empty()) j["event_id"] = e.event_id;
    if (e.mood) j["mood"] = point_json(*e.mood);
    if (!e.strategy.empty()) j["strategy"] = e.strategy;
    if (e.track) j["track"] = point_json(*e.track);
    if (!e.artist.empty()) j["artist"] = e.artist;
    if (e.reaction) j["reaction"] = point_json(*e.reaction);
    ev.push_back(std::move(j));
  }
  const Profile p = fit(events, params);
  json targets = json::object();
  if (p.events > 0)
    for (std::size_t i = 0; i < kNumEmotions; ++i)
      targets[std::string(emotion_name(i))] = point_json(preferred_point(p, emotion_coordinates()[i]));
  std::vector<const ArtistStat*> artists;
  for (const auto& [key, st] : p.artists) artists.push_back(&st);
  std::sort(artists.begin(), artists.end(), [](const ArtistStat* a, const ArtistStat* b) {
    return std::abs(a->affinity) != std::abs(b->affinity) ? std::abs(a->affinity) > std::abs(b->affinity) : a->name < b->name;
  });
  json aj = json::array();
  for (const auto* a : artists)
    aj.push_back({{"artist", a->name}, {"likes", a->likes}, {"skips", a->skips}, {"dislikes", a->dislikes},
                  {"affinity", r4(a->affinity)}});
  return {{"listener", listener},
          {"events", std::move(ev)},
          {"profile", {{"events", p.events}, {"evidence", r4(p.evidence)}, {"targets", targets}, {"artists", aj}}}};
}

}  // namespace moodtunes::listeners
