// Spotify user authorisation: Authorization Code with PKCE, the loopback callback, and the
// on-disk credential/token store.
//
// Flow (spotify login): make_pkce() -> authorize_url() printed for the listener -> the browser
// redirects to http://127.0.0.1:PORT/callback (Spotify refuses "localhost" redirects; the
// exact URI must be registered in the app) -> LoopbackCallback::wait_for_code() -> 
// SpotifyAccounts::exchange_code() -> CredentialStore::save(). Later commands use
// UserTokenSource, which refreshes the access token when it is (about to be) expired or after a
// 401, and saves a rotated refresh token.
//
// Secrets: client secret, tokens, the code and the verifier are Secret values; they are written
// only to the store file, which is created with mode 0600 (temp file + rename, folder 0700), and
// never logged. Credentials: SPOTIFY_CLIENT_ID / SPOTIFY_CLIENT_SECRET from the environment
// override the file. Not thread-safe.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "providers/spotify.hpp"

namespace moodtunes::providers {

struct PkcePair {
  Secret verifier;        // 64 chars from the RFC 7636 unreserved set
  std::string challenge;  // base64url(sha256(verifier)), no padding
};
PkcePair make_pkce();
std::string pkce_challenge(const std::string& verifier);
std::string random_token(std::size_t chars);  // [A-Za-z0-9], from OpenSSL RAND_bytes

inline constexpr const char* kSpotifyScopes = "playlist-modify-private playlist-modify-public";

std::string authorize_url(const SpotifyEndpoints& ep, const std::string& client_id, const std::string& redirect_uri,
                          const std::string& challenge, const std::string& state,
                          const std::string& scopes = kSpotifyScopes);

// A one-shot HTTP server on 127.0.0.1 that receives the authorisation redirect.
// Requests with a missing or wrong state get 400 and are ignored (keeps waiting); an `error`
// parameter with the right state (e.g. access_denied) ends the wait with kAuth.
class LoopbackCallback {
 public:
  LoopbackCallback(int port, std::string expected_state);  // port 0: any free port
  ~LoopbackCallback();
  LoopbackCallback(const LoopbackCallback&) = delete;
  LoopbackCallback& operator=(const LoopbackCallback&) = delete;
  int port() const { return port_; }
  std::string redirect_uri() const { return "http://127.0.0.1:" + std::to_string(port_) + "/callback"; }
  // Blocks until the code arrives; kTimeout after `timeout`, kAuth on a denial.
  Secret wait_for_code(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

struct SpotifyCredentials {
  std::string client_id;
  Secret client_secret;   // optional for PKCE, needed for client-credentials search
  Secret refresh_token;   // set after login
  Secret access_token;
  std::chrono::system_clock::time_point expires_at{};
  std::string scope;
  bool secret_from_env = false;  // then save() does not copy it into the file
};

// $MOODTUNES_SPOTIFY_CONFIG, else $XDG_CONFIG_HOME/moodtunes/spotify.json, else
// ~/.config/moodtunes/spotify.json.
std::filesystem::path default_spotify_config_path();

class CredentialStore {
 public:
  explicit CredentialStore(std::filesystem::path file);
  const std::filesystem::path& path() const { return file_; }
  // File values, then the environment (SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET) on top.
  // A file readable by group/others is tightened to 0600 (with a warning). Malformed file ->
  // ProviderError kConfig.
  SpotifyCredentials load() const;
  // Writes atomically with mode 0600. Environment-only values are not written unless `c` has them.
  void save(const SpotifyCredentials& c) const;
  bool remove() const;

 private:
  std::filesystem::path file_;
};

class UserTokenSource : public TokenSource {
 public:
  // `store` may be null (tests, or no persistence wanted).
  UserTokenSource(SpotifyAccounts& accounts, SpotifyCredentials creds, const CredentialStore* store);
  Secret token() override;
  void invalidate() override { creds_.access_token = Secret(); }
  const SpotifyCredentials& credentials() const { return creds_; }

 private:
  SpotifyAccounts& accounts_;
  SpotifyCredentials creds_;
  const CredentialStore* store_;
};

}  // namespace moodtunes::providers
