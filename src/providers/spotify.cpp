#include "providers/spotify.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "music/catalog.hpp"

namespace moodtunes::providers {

using nlohmann::json;

namespace {

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json parse_object(const HttpResponse& r, const std::string& where) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw ProviderError(ErrorKind::kBadResponse, where + ": malformed JSON (HTTP " + std::to_string(r.status) + ")");
  return j;
}

// Web API error object {"error":{"status":N,"message":"..."}} -> readable text.
std::string api_error_message(const HttpResponse& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.is_object())
    if (auto e = j.find("error"); e != j.end() && e->is_object()) return str(*e, "message");
  return "";
}

void trim_slash(std::string& s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
}

}  // namespace

std::string search_title(const std::string& title) {
  std::string out;
  int depth = 0;
  for (char c : title) {
    if (c == '(' || c == '[') { ++depth; continue; }
    if ((c == ')' || c == ']') && depth > 0) { --depth; continue; }
    if (depth == 0 && c != '"') out.push_back(c);
  }
  if (auto dash = out.find(" - "); dash != std::string::npos && dash > 0) out.resize(dash);
  auto b = out.find_first_not_of(' '), e = out.find_last_not_of(' ');
  return b == std::string::npos ? title : out.substr(b, e - b + 1);
}

// ---- Accounts ------------------------------------------------------------------------------

SpotifyAccounts::SpotifyAccounts(HttpClient& http, SpotifyEndpoints endpoints, RetryPolicy retry)
    : http_(http), ep_(std::move(endpoints)), retry_(std::move(retry)) {
  trim_slash(ep_.accounts);
  trim_slash(ep_.api);
}

TokenSet SpotifyAccounts::post_token(const std::vector<std::pair<std::string, std::string>>& form,
                                     const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpRequest req;
  req.method = "POST";
  req.url = ep_.accounts + "/api/token";
  req.headers = headers;
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.body = form_encode(form);
  const HttpResponse r = send_with_retry(http_, req, retry_);
  const std::string where = "Spotify token endpoint";
  if (r.status != 200) {
    // {"error":"invalid_grant","error_description":"..."}: safe to show (no secrets in it).
    auto j = json::parse(r.body, nullptr, false);
    std::string msg = "HTTP " + std::to_string(r.status);
    if (!j.is_discarded() && j.is_object()) {
      if (auto e = j.find("error"); e != j.end() && e->is_string()) msg += " " + e->get<std::string>();
      if (auto d = str(j, "error_description"); !d.empty()) msg += ": " + d;
    }
    throw ProviderError(r.status == 400 || r.status == 401 || r.status == 403 ? ErrorKind::kAuth : ErrorKind::kRejected,
                        where + ": " + msg);
  }
  const json j = parse_object(r, where);
  TokenSet t;
  t.access_token = Secret(str(j, "access_token"));
  if (t.access_token.empty()) throw ProviderError(ErrorKind::kBadResponse, where + ": no access_token in response");
  t.refresh_token = Secret(str(j, "refresh_token"));
  t.scope = str(j, "scope");
  long long expires_in = 3600;
  if (auto e = j.find("expires_in"); e != j.end() && e->is_number_integer()) expires_in = e->get<long long>();
  t.expires_at = std::chrono::system_clock::now() + std::chrono::seconds(expires_in);
  return t;
}

TokenSet SpotifyAccounts::client_credentials(const std::string& client_id, const Secret& client_secret) {
  if (client_id.empty() || client_secret.empty())
    throw ProviderError(ErrorKind::kConfig, "Spotify: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET for search");
  return post_token({{"grant_type", "client_credentials"}},
                    {{"Authorization", "Basic " + base64_encode(client_id + ":" + client_secret.reveal())}});
}

TokenSet SpotifyAccounts::exchange_code(const std::string& client_id, const Secret& code, const Secret& verifier,
                                        const std::string& redirect_uri) {
  return post_token({{"grant_type", "authorization_code"},
                     {"code", code.reveal()},
                     {"redirect_uri", redirect_uri},
                     {"client_id", client_id},
                     {"code_verifier", verifier.reveal()}},
                    {});
}

TokenSet SpotifyAccounts::refresh(const std::string& client_id, const Secret& refresh_token) {
  if (refresh_token.empty()) throw ProviderError(ErrorKind::kConfig, "Spotify: not logged in (run `moodtunes spotify login`)");
  TokenSet t = post_token({{"grant_type", "refresh_token"}, {"refresh_token", refresh_token.reveal()}, {"client_id", client_id}}, {});
  if (t.refresh_token.empty()) t.refresh_token = refresh_token;
  return t;
}

AppTokenSource::AppTokenSource(SpotifyAccounts& accounts, std::string client_id, Secret client_secret)
    : accounts_(accounts), client_id_(std::move(client_id)), secret_(std::move(client_secret)) {}

Secret AppTokenSource::token() {
  if (tokens_.expired()) tokens_ = accounts_.client_credentials(client_id_, secret_);
  return tokens_.access_token;
}

// ---- Web API -------------------------------------------------------------------------------

SpotifyApi::SpotifyApi(HttpClient& http, TokenSource& tokens, SpotifyEndpoints endpoints, RetryPolicy retry)
    : http_(http), tokens_(tokens), ep_(std::move(endpoints)), retry_(std::move(retry)) {
  trim_slash(ep_.api);
  trim_slash(ep_.accounts);
}

HttpResponse SpotifyApi::call(HttpRequest req) {
  const std::string where = "Spotify " + req.method + " " + url_for_log(req.url).substr(ep_.api.size());
  req.headers.emplace_back("Accept", "application/json");
  if (!req.body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  for (int attempt = 0;; ++attempt) {
    HttpRequest r = req;
    r.headers.emplace_back("Authorization", "Bearer " + tokens_.token().reveal());
    HttpResponse resp = send_with_retry(http_, r, retry_);
    if (resp.status == 401 && attempt == 0) {
      tokens_.invalidate();  // expired or revoked: fetch/refresh once and try again
      continue;
    }
    if (resp.status >= 200 && resp.status < 300) return resp;
    const std::string msg = where + ": HTTP " + std::to_string(resp.status) +
                            [&] { auto m = api_error_message(resp); return m.empty() ? std::string() : " " + m; }();
    if (resp.status == 401 || resp.status == 403) throw ProviderError(ErrorKind::kAuth, msg);
    if (resp.status == 404) throw ProviderError(ErrorKind::kNotFound, msg);
    throw ProviderError(ErrorKind::kRejected, msg);
  }
}

std::vector<SpotifyTrack> SpotifyApi::search_tracks(const std::string& query, int limit) {
  limit = std::clamp(limit, 1, 10);  // Search's limit is at most 10 for development-mode apps
  HttpRequest req;
  req.url = ep_.api + "/search?q=" + url_encode(query) + "&type=track&limit=" + std::to_string(limit);
  const HttpResponse r = call(req);
  const json j = parse_object(r, "Spotify search");
  auto tracks = j.find("tracks");
  if (tracks == j.end() || !tracks->is_object()) throw ProviderError(ErrorKind::kBadResponse, "Spotify search: no 'tracks' in response");
  auto items = tracks->find("items");
  if (items == tracks->end() || !items->is_array()) throw ProviderError(ErrorKind::kBadResponse, "Spotify search: no 'tracks.items' in response");
  std::vector<SpotifyTrack> out;
  for (const auto& it : *items) {
    if (!it.is_object()) continue;  // Spotify may return null entries
    SpotifyTrack t;
    t.id = str(it, "id");
    if (t.id.empty()) continue;
    t.uri = str(it, "uri");
    if (t.uri.empty()) t.uri = "spotify:track:" + t.id;
    t.name = str(it, "name");
    if (auto a = it.find("artists"); a != it.end() && a->is_array())
      for (const auto& ar : *a)
        if (ar.is_object()) t.artists += (t.artists.empty() ? "" : ", ") + str(ar, "name");
    if (auto e = it.find("external_urls"); e != it.end() && e->is_object()) t.url = str(*e, "spotify");
    if (auto e = it.find("external_ids"); e != it.end() && e->is_object()) t.isrc = str(*e, "isrc");
    if (auto al = it.find("album"); al != it.end() && al->is_object())
      if (auto im = al->find("images"); im != al->end() && im->is_array() && !im->empty()) {
        // Images come largest first; take the one closest to 300 px for a list view.
        int best = -1;
        for (const auto& img : *im) {
          if (!img.is_object()) continue;
          const int w = img.value("width", 0);
          if (t.cover_url.empty() || std::abs(w - 300) < std::abs(best - 300)) { t.cover_url = str(img, "url"); best = w; }
        }
      }
    out.push_back(std::move(t));
  }
  return out;
}

std::optional<SpotifyTrack> SpotifyApi::resolve(const std::string& title, const std::string& artist, const std::string& isrc) {
  const std::string want_artist = music::fold_key(artist), want_title = music::fold_key(search_title(title));
  auto artist_ok = [&](const SpotifyTrack& t) {
    // artists is "A, B": accept when any credited artist matches.
    std::string all = t.artists + ",";
    std::size_t b = 0;
    for (std::size_t p; (p = all.find(',', b)) != std::string::npos; b = p + 1)
      if (music::fold_key(all.substr(b, p - b)) == want_artist) return true;
    return false;
  };
  auto pick = [&](const std::vector<SpotifyTrack>& items) -> std::optional<SpotifyTrack> {
    const SpotifyTrack* best = nullptr;
    for (const auto& t : items) {
      if (!artist_ok(t)) continue;
      if (music::fold_key(search_title(t.name)) == want_title) return t;
      if (!best) best = &t;
    }
    if (best) return *best;
    return std::nullopt;
  };
  if (!isrc.empty()) {
    auto items = search_tracks("isrc:" + isrc, 10);
    if (!items.empty()) return items.front();
  }
  std::string t = search_title(title), a = artist;
  std::erase(a, '"');
  auto r = pick(search_tracks("track:\"" + t + "\" artist:\"" + a + "\"", 10));
  if (r) return r;
  return pick(search_tracks(a + " " + t, 10));
}

SpotifyPlaylist SpotifyApi::create_playlist(const std::string& name, const std::string& description, bool is_public) {
  HttpRequest req;
  req.method = "POST";
  req.url = ep_.api + "/me/playlists";
  req.body = json{{"name", name}, {"description", description}, {"public", is_public}}.dump(-1, ' ', false, json::error_handler_t::replace);
  const json j = parse_object(call(req), "Spotify create playlist");
  SpotifyPlaylist p;
  p.id = str(j, "id");
  if (p.id.empty()) throw ProviderError(ErrorKind::kBadResponse, "Spotify create playlist: no id in response");
  if (auto e = j.find("external_urls"); e != j.end() && e->is_object()) p.url = str(*e, "spotify");
  return p;
}

std::string SpotifyApi::add_items(const std::string& playlist_id, const std::vector<std::string>& uris) {
  std::string snapshot;
  for (std::size_t i = 0; i < uris.size(); i += 100) {
    HttpRequest req;
    req.method = "POST";
    req.url = ep_.api + "/playlists/" + url_encode(playlist_id) + "/items";
    const auto end = std::min(uris.size(), i + 100);
    req.body = json{{"uris", std::vector<std::string>(uris.begin() + static_cast<long>(i), uris.begin() + static_cast<long>(end))}}.dump();
    const json j = parse_object(call(req), "Spotify add items");
    snapshot = str(j, "snapshot_id");
  }
  return snapshot;
}

}  // namespace moodtunes::providers
