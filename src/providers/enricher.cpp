#include "providers/enricher.hpp"

#include <spdlog/spdlog.h>

namespace moodtunes::providers {

using nlohmann::json;

json Enrichment::to_json() const {
  json j = json::object();
  auto put = [&](const char* k, const std::string& v) { if (!v.empty()) j[k] = v; };
  put("preview_url", preview_url);
  put("cover_url", cover_url);
  put("deezer_link", deezer_link);
  put("spotify_id", spotify_id);
  put("spotify_uri", spotify_uri);
  put("spotify_url", spotify_url);
  if (!notes.empty()) j["notes"] = notes;
  return j;
}

namespace {
// Errors that say "this provider is unusable right now" rather than "this track is unknown".
bool disables(ErrorKind k) {
  return k == ErrorKind::kNetwork || k == ErrorKind::kTimeout || k == ErrorKind::kRateLimited ||
         k == ErrorKind::kServer || k == ErrorKind::kAuth || k == ErrorKind::kConfig;
}
std::string s(const json& j, const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : ""; }
}  // namespace

Enricher::Enricher(EnrichmentCache* cache, DeezerClient* deezer, SpotifyApi* spotify, EnricherOptions options)
    : cache_(cache), deezer_(deezer), spotify_(spotify), opt_(options) {}

Enrichment Enricher::enrich(const music::Track& t) {
  Enrichment e;
  from_deezer(t, e);
  from_spotify(t, e);
  return e;
}

void Enricher::from_deezer(const music::Track& t, Enrichment& e) {
  if (!t.deezer_id) return;
  const std::string key = std::to_string(*t.deezer_id);
  std::optional<json> v;
  try {
    if (cache_) v = cache_->get("deezer", key);
  } catch (const std::exception& ex) {
    spdlog::debug("enrichment cache: {}", ex.what());
  }
  if (!v) {
    if (!deezer_) return;
    try {
      const DeezerTrack d = deezer_->track(*t.deezer_id);
      v = json{{"preview", d.preview_url}, {"cover", d.cover_url}, {"link", d.link}, {"isrc", d.isrc}};
      if (cache_) cache_->put("deezer", key, *v, opt_.ttl);
    } catch (const ProviderError& ex) {
      if (ex.kind == ErrorKind::kNotFound) {
        v = json{{"missing", true}};
        if (cache_) cache_->put("deezer", key, *v, opt_.negative_ttl);
      } else {
        e.notes.push_back(std::string("deezer: ") + error_kind_name(ex.kind) + " (offline result)");
        spdlog::warn("Deezer unavailable, using the offline catalog: {}", ex.what());
        if (disables(ex.kind)) deezer_ = nullptr;
        return;
      }
    } catch (const std::exception& ex) {  // e.g. SQLite busy on cache write: still degrade
      e.notes.emplace_back("deezer: error (offline result)");
      spdlog::warn("Deezer enrichment failed: {}", ex.what());
      return;
    }
  }
  if (v->value("missing", false)) { e.notes.emplace_back("deezer: track no longer available"); return; }
  e.preview_url = s(*v, "preview");
  e.cover_url = s(*v, "cover");
  e.deezer_link = s(*v, "link");
}

void Enricher::from_spotify(const music::Track& t, Enrichment& e) {
  const std::string key = !t.spotify_id.empty() ? "id:" + t.spotify_id
                          : !t.isrc.empty()     ? "isrc:" + t.isrc
                                                : "name:" + music::fold_key(t.artist) + "|" + music::fold_key(t.title);
  std::optional<json> v;
  try {
    if (cache_) v = cache_->get("spotify", key);
  } catch (const std::exception& ex) {
    spdlog::debug("enrichment cache: {}", ex.what());
  }
  if (!v && !t.spotify_id.empty() && !spotify_) {
    // The catalog already knows the Spotify id: link without any request.
    e.spotify_id = t.spotify_id;
    e.spotify_uri = "spotify:track:" + t.spotify_id;
    e.spotify_url = "https://open.spotify.com/track/" + t.spotify_id;
    return;
  }
  if (!v) {
    if (!spotify_) return;
    try {
      auto r = spotify_->resolve(t.title, t.artist, t.isrc);
      if (r) {
        v = json{{"id", r->id}, {"uri", r->uri}, {"url", r->url}, {"cover", r->cover_url}};
        if (cache_) cache_->put("spotify", key, *v, opt_.ttl);
      } else {
        v = json{{"missing", true}};
        if (cache_) cache_->put("spotify", key, *v, opt_.negative_ttl);
      }
    } catch (const ProviderError& ex) {
      e.notes.push_back(std::string("spotify: ") + error_kind_name(ex.kind) + " (offline result)");
      spdlog::warn("Spotify unavailable, using the offline catalog: {}", ex.what());
      if (disables(ex.kind)) spotify_ = nullptr;
      return;
    } catch (const std::exception& ex) {
      e.notes.emplace_back("spotify: error (offline result)");
      spdlog::warn("Spotify enrichment failed: {}", ex.what());
      return;
    }
  }
  if (v->value("missing", false)) { e.notes.emplace_back("spotify: no match found"); return; }
  e.spotify_id = s(*v, "id");
  e.spotify_uri = s(*v, "uri");
  e.spotify_url = s(*v, "url");
  if (e.cover_url.empty()) e.cover_url = s(*v, "cover");
}

}  // namespace moodtunes::providers
