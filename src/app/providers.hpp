// Provider wiring: how the use cases reach Deezer and Spotify (clients, endpoints, credentials,
// cache), so front ends never assemble provider objects themselves.
//
// Base URLs can be redirected (tests, proxies): MOODTUNES_DEEZER_API, MOODTUNES_SPOTIFY_ACCOUNTS,
// MOODTUNES_SPOTIFY_API, MOODTUNES_DEEZER_MOOD_URL.
// enrich(): Deezer always, Spotify search when app credentials (client id and secret) are
// stored; never fails (providers/enricher.hpp degrades to notes). export_playlist(): needs a
// user login (`moodtunes spotify login`); Unavailable when not logged in, when no track is on
// Spotify, or when Spotify refuses. Borrow the catalog (its enrichment cache); not thread-safe
// with other users of that Catalog. Secrets never reach messages.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "app/recommend.hpp"
#include "music/catalog.hpp"
#include "providers/enricher.hpp"
#include "providers/spotify.hpp"

namespace moodtunes::app {

providers::SpotifyEndpoints spotify_endpoints();
// Where the Deezer Mood dataset is downloaded from: `flag`, else $MOODTUNES_DEEZER_MOOD_URL, else
// the pinned commit.
std::string deezer_mood_url(const std::string& flag);

// One entry per track, in order.
std::vector<providers::Enrichment> enrich(music::Catalog& catalog, const std::vector<music::Track>& tracks);

// enrich() with caps on each provider request's timeouts (a server answering a listener keeps
// them short), saying whether the providers stayed reachable: `online` is false when Deezer
// failed on transport, rate limits, server errors or auth (the enricher then stops asking it).
struct EnrichLimits {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds timeout{60000};
};
struct EnrichResult {
  std::vector<providers::Enrichment> items{};  // one per track, in order
  bool online = true;
};
EnrichResult enrich(music::Catalog& catalog, const std::vector<music::Track>& tracks, const EnrichLimits& limits);

// Throws Unavailable("not logged in to Spotify: ...") when no user token is stored. Cheap: call it
// before recommending, so a refused export does not record picks in the session.
void require_spotify_login();

struct PlaylistExport {
  std::string title{}, url{};
  std::size_t added = 0, missing = 0;  // missing: recommended tracks not found on Spotify
};

// A new playlist in the logged-in user's account with the recommended tracks found on Spotify.
// `title` empty: "moodtunes <strategy> <YYYY-MM-DD>".
PlaylistExport export_playlist(music::Catalog& catalog, const Recommendations& picks, std::string title, bool is_public);

}  // namespace moodtunes::app
