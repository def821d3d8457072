// Enricher: adds online details (Deezer preview/cover/link, Spotify id/link/cover) to catalog
// tracks, through the cache, and never fails the caller.
//
// Each provider is optional (null pointer = off). Any ProviderError degrades to the offline
// result with a note ("deezer: rate-limited ..."); a provider that fails on transport, rate
// limits, server errors or auth is switched off for the rest of this Enricher's life, so a
// dead network costs one timeout per provider for a whole list, not one per track.
// Results are cached (found: `ttl`, not found: `negative_ttl`); errors are not cached.
// Not thread-safe (one per list / thread).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "music/catalog.hpp"
#include "providers/cache.hpp"
#include "providers/deezer.hpp"
#include "providers/spotify.hpp"

namespace moodtunes::providers {

struct Enrichment {
  std::string preview_url, cover_url, deezer_link;
  std::string spotify_id, spotify_uri, spotify_url;
  std::vector<std::string> notes;  // why something is missing; safe to print
  nlohmann::json to_json() const;
};

struct EnricherOptions {
  std::chrono::seconds ttl{std::chrono::hours(24 * 14)};
  std::chrono::seconds negative_ttl{std::chrono::hours(24)};
};

class Enricher {
 public:
  Enricher(EnrichmentCache* cache, DeezerClient* deezer, SpotifyApi* spotify, EnricherOptions options = {});
  Enrichment enrich(const music::Track& track);
  bool deezer_enabled() const { return deezer_ != nullptr; }
  bool spotify_enabled() const { return spotify_ != nullptr; }

 private:
  void from_deezer(const music::Track& t, Enrichment& e);
  void from_spotify(const music::Track& t, Enrichment& e);
  EnrichmentCache* cache_;
  DeezerClient* deezer_;
  SpotifyApi* spotify_;
  EnricherOptions opt_;
};

}  // namespace moodtunes::providers
