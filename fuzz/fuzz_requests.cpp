// libFuzzer target: the HTTP API's JSON request bodies (server/requests.hpp) on any bytes, as
// /api/recommend, /api/feedback and /api/playlist read them; an accepted mood request is then
// recommended from a small in-memory catalog, as the server would. The first byte picks the
// route; the rest is the body.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "app/catalog_index.hpp"
#include "app/errors.hpp"
#include "music/catalog.hpp"
#include "server/requests.hpp"

using namespace moodtunes;

namespace {

const app::CatalogIndex& index() {
  static const std::shared_ptr<const app::CatalogIndex> idx = [] {
    music::Catalog catalog(":memory:");
    {
      music::Catalog::Import tx(catalog);
      for (int i = 0; i < 60; ++i) {
        music::Track t;
        t.source = "fuzz";
        t.source_id = std::to_string(i);
        t.title = "Track " + std::to_string(i);
        t.artist = "Artist " + std::to_string(i % 9);
        t.valence = static_cast<float>(std::sin(i * 0.7));
        t.arousal = static_cast<float>(std::cos(i * 1.3));
        tx.upsert(t);
      }
      tx.commit();
    }
    return app::CatalogIndex::load(catalog);
  }();
  return *idx;
}

void check_mood(const server::MoodRequest& m) {
  const auto& p = m.mood.point;
  if (!(p.valence >= -1 && p.valence <= 1 && p.arousal >= -1 && p.arousal <= 1)) std::abort();
  if (m.options.count < 1 || m.options.count > static_cast<std::size_t>(server::kMaxTracks)) std::abort();
  const app::Recommendations r = app::recommend(index(), m.mood, m.options);
  if (r.tracks.size() > m.options.count) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned route = data[0] % 3;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const nlohmann::json j = server::parse_json_object("application/json", body);
    switch (route) {
      case 0: check_mood(server::parse_mood_request(j)); break;
      case 1: {
        const server::Feedback f = server::parse_feedback_request(j);
        if (f.listener.empty() || f.listener.size() > server::kMaxIdChars) std::abort();
        if (f.signal != "like" && f.signal != "skip" && f.signal != "dislike" && f.signal != "reaction") std::abort();
        if ((f.signal == "reaction") != f.reaction.has_value()) std::abort();
        for (const auto& p : {f.mood, f.reaction})
          if (p && !(std::isfinite(p->valence) && std::isfinite(p->arousal))) std::abort();
        break;
      }
      default: {
        const server::PlaylistRequest p = server::parse_playlist_request(j);
        if (p.track_ids.has_value() == p.mood.has_value()) std::abort();
        if (p.track_ids && (p.track_ids->empty() || p.track_ids->size() > server::kMaxPlaylistTracks)) std::abort();
        if (p.mood) check_mood(*p.mood);
        break;
      }
    }
  } catch (const server::HttpError& e) {
    if (e.status != 400 && e.status != 413) std::abort();  // 415 only for another Content-Type
  } catch (const app::InvalidInput&) {
  }
  return 0;
}
