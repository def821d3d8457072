// Spotify Web API client: resolve catalog tracks (Search) and export playlists.
//
// Only endpoints open to new development-mode apps are used (2026): Search with type=track and
// limit <= 10 (clamped here), POST /me/playlists (not /users/{id}/playlists) and
// POST /playlists/{id}/items (not /tracks), at most 100 URIs per call. No Recommendations,
// Audio Features or preview_url: the mood choice is made in our own catalog.
//
// Tokens come from a TokenSource: AppTokenSource (client credentials, for Search) or
// UserTokenSource (spotify_auth.hpp, Authorization Code with PKCE, for playlists). A 401 from the
// API invalidates the token and the call is retried once with a fresh one; a second 401 is kAuth.
// API errors {"error":{"status","message"}} become ProviderError; tokens never appear in
// messages or logs. Borrows HttpClient and TokenSource; not thread-safe (tokens are cached).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "providers/http.hpp"
#include "providers/retry.hpp"
#include "providers/secret.hpp"

namespace moodtunes::providers {

struct SpotifyEndpoints {
  std::string accounts = "https://accounts.spotify.com";  // /authorize, /api/token
  std::string api = "https://api.spotify.com/v1";
};

struct TokenSet {
  Secret access_token;
  Secret refresh_token;  // empty for client credentials
  std::chrono::system_clock::time_point expires_at{};
  std::string scope;
  bool expired(std::chrono::seconds margin = std::chrono::seconds(60)) const {
    return access_token.empty() || std::chrono::system_clock::now() + margin >= expires_at;
  }
};

// The Accounts service (token endpoint). Errors: 400/401 {"error","error_description"} -> kAuth.
class SpotifyAccounts {
 public:
  SpotifyAccounts(HttpClient& http, SpotifyEndpoints endpoints, RetryPolicy retry = {});
  TokenSet client_credentials(const std::string& client_id, const Secret& client_secret);
  TokenSet exchange_code(const std::string& client_id, const Secret& code, const Secret& code_verifier,
                         const std::string& redirect_uri);
  // A response without a new refresh_token keeps the old one.
  TokenSet refresh(const std::string& client_id, const Secret& refresh_token);
  const SpotifyEndpoints& endpoints() const { return ep_; }

 private:
  TokenSet post_token(const std::vector<std::pair<std::string, std::string>>& form,
                      const std::vector<std::pair<std::string, std::string>>& headers);
  HttpClient& http_;
  SpotifyEndpoints ep_;
  RetryPolicy retry_;
};

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  virtual Secret token() = 0;     // a valid access token (fetching/refreshing as needed)
  virtual void invalidate() = 0;  // the API said 401: forget the cached token
};

class AppTokenSource : public TokenSource {
 public:
  AppTokenSource(SpotifyAccounts& accounts, std::string client_id, Secret client_secret);
  Secret token() override;
  void invalidate() override { tokens_ = {}; }

 private:
  SpotifyAccounts& accounts_;
  std::string client_id_;
  Secret secret_;
  TokenSet tokens_;
};

struct SpotifyTrack {
  std::string id, uri, name, artists, url, cover_url, isrc;
};

struct SpotifyPlaylist {
  std::string id, url;
};

class SpotifyApi {
 public:
  SpotifyApi(HttpClient& http, TokenSource& tokens, SpotifyEndpoints endpoints, RetryPolicy retry = {});
  // Raw search: GET /search?q=..&type=track&limit=min(limit,10).
  std::vector<SpotifyTrack> search_tracks(const std::string& query, int limit = 10);
  // Finds a catalog track: by ISRC when known, else by title and artist; only a result whose
  // artist matches is accepted. nullopt when nothing matches.
  std::optional<SpotifyTrack> resolve(const std::string& title, const std::string& artist, const std::string& isrc = "");
  SpotifyPlaylist create_playlist(const std::string& name, const std::string& description, bool is_public);
  // Adds URIs in batches of 100; returns the last snapshot_id.
  std::string add_items(const std::string& playlist_id, const std::vector<std::string>& uris);

 private:
  HttpResponse call(HttpRequest req);  // auth header, retries, 401 refresh, error mapping
  HttpClient& http_;
  TokenSource& tokens_;
  SpotifyEndpoints ep_;
  RetryPolicy retry_;
};

// The title without "(...)"/"[...]" parts and " - Remastered..." suffixes, for search queries.
std::string search_title(const std::string& title);

}  // namespace moodtunes::providers
