#include "app/providers.hpp"

#include <cstdlib>
#include <ctime>
#include <memory>

#include <spdlog/spdlog.h>

#include "app/errors.hpp"
#include "music/importers.hpp"
#include "providers/cache.hpp"
#include "providers/dataset_download.hpp"
#include "providers/deezer.hpp"
#include "providers/spotify_auth.hpp"

namespace moodtunes::app {

using namespace moodtunes::providers;

namespace {
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}
}  // namespace

SpotifyEndpoints spotify_endpoints() {
  SpotifyEndpoints ep;
  ep.accounts = env_or("MOODTUNES_SPOTIFY_ACCOUNTS", ep.accounts);
  ep.api = env_or("MOODTUNES_SPOTIFY_API", ep.api);
  return ep;
}

std::string deezer_mood_url(const std::string& flag) {
  return flag.empty() ? env_or("MOODTUNES_DEEZER_MOOD_URL", std::string(music::kDeezerMoodBaseUrl)) : flag;
}

std::vector<Enrichment> enrich(music::Catalog& catalog, const std::vector<music::Track>& tracks) {
  return enrich(catalog, tracks, EnrichLimits{}).items;
}

EnrichResult enrich(music::Catalog& catalog, const std::vector<music::Track>& tracks, const EnrichLimits& limits) {
  CurlHttpClient http;
  http.max_connect_timeout = limits.connect_timeout;
  http.max_timeout = limits.timeout;
  EnrichmentCache cache(catalog);
  DeezerClient deezer(http, env_or("MOODTUNES_DEEZER_API", "https://api.deezer.com"));
  std::unique_ptr<SpotifyAccounts> accounts;
  std::unique_ptr<AppTokenSource> tokens;
  std::unique_ptr<SpotifyApi> spotify;
  try {
    const auto creds = CredentialStore(default_spotify_config_path()).load();
    if (!creds.client_id.empty() && !creds.client_secret.empty()) {
      accounts = std::make_unique<SpotifyAccounts>(http, spotify_endpoints());
      tokens = std::make_unique<AppTokenSource>(*accounts, creds.client_id, creds.client_secret);
      spotify = std::make_unique<SpotifyApi>(http, *tokens, spotify_endpoints());
    }
  } catch (const ProviderError& e) {
    spdlog::warn("Spotify off: {}", e.what());
  }
  Enricher enricher(&cache, &deezer, spotify.get());
  EnrichResult out;
  out.items.reserve(tracks.size());
  for (const auto& t : tracks) out.items.push_back(enricher.enrich(t));
  out.online = enricher.deezer_enabled();
  return out;
}

void require_spotify_login() {
  const SpotifyCredentials creds = CredentialStore(default_spotify_config_path()).load();
  if (creds.refresh_token.empty() && creds.access_token.empty())
    throw Unavailable("not logged in to Spotify: run `moodtunes spotify login` first");
}

PlaylistExport export_playlist(music::Catalog& catalog, const Recommendations& picks, std::string title, bool is_public) {
  CredentialStore store(default_spotify_config_path());
  SpotifyCredentials creds = store.load();
  if (creds.refresh_token.empty() && creds.access_token.empty())
    throw Unavailable("not logged in to Spotify: run `moodtunes spotify login` first");
  CurlHttpClient http;
  const SpotifyEndpoints ep = spotify_endpoints();
  SpotifyAccounts accounts(http, ep);
  UserTokenSource tokens(accounts, creds, &store);
  SpotifyApi api(http, tokens, ep);
  EnrichmentCache cache(catalog);
  Enricher enricher(&cache, nullptr, &api);
  PlaylistExport out;
  std::vector<std::string> uris;
  for (const auto& t : picks.tracks) {
    const Enrichment e = enricher.enrich(t);
    if (!e.spotify_uri.empty()) uris.push_back(e.spotify_uri);
    else ++out.missing;
    if (!enricher.spotify_enabled()) break;  // Spotify became unusable: stop asking
  }
  if (uris.empty()) throw Unavailable("no recommended track could be found on Spotify; no playlist created");
  const std::string strategy(music::strategy_name(picks.result.strategy));
  if (title.empty()) {
    std::time_t now = std::time(nullptr);
    char day[16];
    std::strftime(day, sizeof day, "%Y-%m-%d", std::localtime(&now));
    title = "moodtunes " + strategy + " " + day;
  }
  try {
    const SpotifyPlaylist pl =
        api.create_playlist(title, "moodtunes: " + describe_mood(picks.result.mood) + ", strategy " + strategy, is_public);
    api.add_items(pl.id, uris);
    out.title = title;
    out.url = pl.url;
    out.added = uris.size();
  } catch (const ProviderError& e) {
    throw Unavailable(std::string("Spotify playlist export failed: ") + e.what());
  }
  return out;
}

}  // namespace moodtunes::app
