// The personalised recommend use case: a listener's stored events + the shared catalog index
// -> that listener's list, with reasons; and the export of what is stored about a listener.
//
// recommend_for_listener(): with no usable event (a new listener) it returns exactly
// app::recommend(index, mood, options); otherwise the model's list (listeners/model.hpp),
// never repeating a track the listener already rated or one in `served`. Events lacking the
// track snapshot (older rows) are completed from the catalog first. Deterministic given the
// events, the options' seed and the catalog. Unavailable (app/errors.hpp) for an empty index.
// Thread-safety: pure over immutable inputs; concurrent calls are safe. At most one call per
// core fits and scores at a time (CPU-bound work gains nothing from more); the others wait.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/catalog_index.hpp"
#include "app/recommend.hpp"
#include "listeners/event.hpp"
#include "listeners/model.hpp"

namespace moodtunes::listeners {

std::shared_ptr<const TrackTable> track_table(const app::CatalogIndex& index);

// Sets each event's track position and artist from the catalog where they are missing.
void fill_from_catalog(std::vector<Event>& events, const TrackTable& table);

struct ListenerRecommendations {
  app::Recommendations picks;
  std::size_t events = 0;      // events the model learnt from
  bool personalised = false;   // false: today's list (no events yet, or the store unavailable)
  std::string store_error;     // why the store could not be read (today's list); empty: it was read
};

ListenerRecommendations recommend_for_listener(const app::CatalogIndex& index, const TrackTable& table,
                                               const app::ResolvedMood& mood, const app::RecommendOptions& options,
                                               std::vector<Event> events, const ModelParams& params = {},
                                               const std::unordered_set<std::int64_t>* served = nullptr);

// The same for `listener`, whose newest params.max_events events are read from `store`. When
// the store cannot be read (app::Unavailable), the answer is today's list with store_error
// set: recommendations outlive the store. Other store errors propagate.
ListenerRecommendations recommend_for_listener(const app::CatalogIndex& index, const TrackTable& table,
                                               const app::ResolvedMood& mood, const app::RecommendOptions& options,
                                               ListenerStore& store, const std::string& listener,
                                               const ModelParams& params = {},
                                               const std::unordered_set<std::int64_t>* served = nullptr);

// {"id","events","personalised","note"?}: added to a recommendation for a listener.
nlohmann::json listener_summary_json(const std::string& listener, const ListenerRecommendations& r);

// Everything stored about a listener, and what the model makes of it:
// {"listener","events":[{event_id?,track_id,signal,created_at,mood?,strategy?,track?,artist?,
//  reaction?}],"profile":{"events","evidence","targets":{emotion:{valence,arousal}},
//  "artists":[{"artist","likes","skips","dislikes","affinity"}]}}.
// `table` (optional) completes older events' track snapshots for the profile.
nlohmann::json export_json(const std::string& listener, std::vector<Event> events, const TrackTable* table = nullptr,
                           const ModelParams& params = {});

}  // namespace moodtunes::listeners
