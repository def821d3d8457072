// A fake Spotify (Accounts service + Web API) on 127.0.0.1, answering in the documented
// shapes: token responses {access_token, token_type, expires_in, [refresh_token, scope]},
// token errors {error, error_description}, API errors {"error":{"status","message"}}, search
// {tracks:{items:[...]}} and the 2026 playlist endpoints. Old endpoints answer 404 and are
// counted, so a test can prove they are not used.
#pragma once

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "fake_server.hpp"
#include "providers/http.hpp"
#include "providers/spotify_auth.hpp"

namespace moodtunes::test {

inline nlohmann::json spotify_track(const std::string& id, const std::string& name, const std::string& artist,
                                    const std::string& isrc) {
  return {{"id", id},
          {"name", name},
          {"uri", "spotify:track:" + id},
          {"type", "track"},
          {"artists", {{{"id", "a1"}, {"name", artist}, {"type", "artist"}}}},
          {"album", {{"name", "Album"},
                     {"images", {{{"url", "https://i.scdn.co/image/640"}, {"height", 640}, {"width", 640}},
                                 {{"url", "https://i.scdn.co/image/300"}, {"height", 300}, {"width", 300}},
                                 {{"url", "https://i.scdn.co/image/64"}, {"height", 64}, {"width", 64}}}}}},
          {"external_urls", {{"spotify", "https://open.spotify.com/track/" + id}}},
          {"external_ids", {{"isrc", isrc}}},
          {"preview_url", nullptr}};
}

class FakeSpotify {
 public:
  std::string client_id = "test-client-id";
  std::string client_secret = "s3cr3t-client-secret";
  std::string expected_challenge;    // set by the test from the authorize URL
  std::string expected_redirect;
  std::set<std::string> valid_tokens, expired_tokens;
  std::map<std::string, int> hits;   // "METHOD path" -> count
  std::vector<std::size_t> added_batches;
  std::string last_playlist_body;
  std::string search_mode = "ok";    // ok | malformed | 429 | 500
  int token_counter = 0;
  std::mutex mu;

  FakeSpotify() {
    using httplib::Request;
    using httplib::Response;
    auto json_reply = [](Response& res, int status, const nlohmann::json& j) {
      res.status = status;
      res.set_content(j.dump(), "application/json");
    };
    fs.server.Post("/api/token", [this, json_reply](const Request& req, Response& res) {
      std::lock_guard lock(mu);
      ++hits["POST /api/token"];
      const std::string grant = req.get_param_value("grant_type");
      if (grant == "client_credentials") {
        const std::string want = "Basic " + moodtunes::providers::base64_encode(client_id + ":" + client_secret);
        if (req.get_header_value("Authorization") != want)
          return json_reply(res, 400, {{"error", "invalid_client"}, {"error_description", "Invalid client secret"}});
        const std::string t = "app-token-" + std::to_string(++token_counter);
        valid_tokens.insert(t);
        return json_reply(res, 200, {{"access_token", t}, {"token_type", "Bearer"}, {"expires_in", 3600}});
      }
      if (grant == "authorization_code") {
        if (req.get_param_value("code") != "good-code" || req.get_param_value("client_id") != client_id ||
            req.get_param_value("redirect_uri") != expected_redirect ||
            moodtunes::providers::pkce_challenge(req.get_param_value("code_verifier")) != expected_challenge)
          return json_reply(res, 400, {{"error", "invalid_grant"}, {"error_description", "Invalid authorization code"}});
        valid_tokens.insert("user-access-1");
        return json_reply(res, 200, {{"access_token", "user-access-1"}, {"token_type", "Bearer"},
                                     {"scope", "playlist-modify-private playlist-modify-public"},
                                     {"expires_in", 3600}, {"refresh_token", "refresh-1"}});
      }
      if (grant == "refresh_token") {
        const std::string rt = req.get_param_value("refresh_token");
        if (req.get_param_value("client_id") != client_id || (rt != "refresh-1" && rt != "refresh-2"))
          return json_reply(res, 400, {{"error", "invalid_grant"}, {"error_description", "Refresh token revoked"}});
        valid_tokens.insert("user-access-2");
        return json_reply(res, 200, {{"access_token", "user-access-2"}, {"token_type", "Bearer"},
                                     {"scope", "playlist-modify-private"}, {"expires_in", 3600},
                                     {"refresh_token", "refresh-2"}});
      }
      json_reply(res, 400, {{"error", "unsupported_grant_type"}});
    });
    // Bearer check shared by API routes; returns false after answering 401.
    auto authed = [this, json_reply](const Request& req, Response& res) {
      const std::string h = req.get_header_value("Authorization");
      const std::string tok = h.rfind("Bearer ", 0) == 0 ? h.substr(7) : "";
      if (expired_tokens.count(tok)) {
        json_reply(res, 401, {{"error", {{"status", 401}, {"message", "The access token expired"}}}});
        return false;
      }
      if (!valid_tokens.count(tok)) {
        json_reply(res, 401, {{"error", {{"status", 401}, {"message", "Invalid access token"}}}});
        return false;
      }
      return true;
    };
    fs.server.Get("/v1/search", [this, json_reply, authed](const Request& req, Response& res) {
      std::lock_guard lock(mu);
      ++hits["GET /v1/search"];
      if (!authed(req, res)) return;
      if (req.get_param_value("type") != "track")
        return json_reply(res, 400, {{"error", {{"status", 400}, {"message", "Bad search type field"}}}});
      const int limit = std::stoi(req.get_param_value("limit"));
      if (limit < 1 || limit > 10)  // development-mode apps, 2026
        return json_reply(res, 400, {{"error", {{"status", 400}, {"message", "Invalid limit"}}}});
      if (search_mode == "malformed") return res.set_content("{\"tracks\": {\"items\": [", "application/json");
      if (search_mode == "500") { res.status = 500; return; }
      if (search_mode == "429") { res.status = 429; res.set_header("Retry-After", "30"); return; }
      const std::string q = req.get_param_value("q");
      nlohmann::json items = nlohmann::json::array();
      if (q == "isrc:GBDUW0000059") items.push_back(spotify_track("5W3cjX2J3tjhG8zb6u0qHn", "Harder, Better, Faster, Stronger", "Daft Punk", "GBDUW0000059"));
      else if (q.find("Insanity") != std::string::npos) {
        items.push_back(spotify_track("wrongartist0000000000", "Insanity's Crescendo", "Cover Band", "X"));
        items.push_back(spotify_track("right00000000000000000", "Insanity's Crescendo - Remastered", "Dark Tranquillity", "SE123"));
      } else if (q.find("Nobody") != std::string::npos) {
        items.push_back(spotify_track("other0000000000000000", "Some Other Song", "Somebody Else", "Y"));
      }
      json_reply(res, 200, {{"tracks", {{"href", "https://api.spotify.com/v1/search"}, {"items", items}, {"limit", limit},
                                        {"next", nullptr}, {"offset", 0}, {"previous", nullptr}, {"total", items.size()}}}});
    });
    fs.server.Post("/v1/me/playlists", [this, json_reply, authed](const Request& req, Response& res) {
      std::lock_guard lock(mu);
      ++hits["POST /v1/me/playlists"];
      if (!authed(req, res)) return;
      last_playlist_body = req.body;
      json_reply(res, 201, {{"id", "3cEYpjA9oz9GiPac4AsH4n"}, {"name", nlohmann::json::parse(req.body)["name"]},
                            {"public", false}, {"external_urls", {{"spotify", "https://open.spotify.com/playlist/3cEYpjA9oz9GiPac4AsH4n"}}},
                            {"owner", {{"id", "listener"}}}, {"snapshot_id", "snap0"}});
    });
    fs.server.Post(R"(/v1/playlists/([^/]+)/items)", [this, json_reply, authed](const Request& req, Response& res) {
      std::lock_guard lock(mu);
      ++hits["POST /v1/playlists/{id}/items"];
      if (!authed(req, res)) return;
      const auto body = nlohmann::json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.contains("uris") || body["uris"].size() > 100)
        return json_reply(res, 400, {{"error", {{"status", 400}, {"message", "Too many ids requested"}}}});
      added_batches.push_back(body["uris"].size());
      json_reply(res, 201, {{"snapshot_id", "snap" + std::to_string(added_batches.size())}});
    });
    // Endpoints closed to development-mode apps since Feb 2026.
    fs.server.Post(R"(/v1/users/.*)", [this](const Request&, Response& res) { std::lock_guard l(mu); ++hits["old"]; res.status = 404; });
    fs.server.Post(R"(/v1/playlists/([^/]+)/tracks)", [this](const Request&, Response& res) { std::lock_guard l(mu); ++hits["old"]; res.status = 404; });
    fs.start();
  }
  moodtunes::providers::SpotifyEndpoints endpoints() const { return {fs.url(), fs.url() + "/v1"}; }
  int hit(const std::string& k) { std::lock_guard l(mu); return hits[k]; }
  FakeServer fs;
};

}  // namespace moodtunes::test
