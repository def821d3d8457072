#include "providers/deezer.hpp"

#include <nlohmann/json.hpp>

namespace moodtunes::providers {

namespace {
std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
}  // namespace

DeezerClient::DeezerClient(HttpClient& http, std::string base_url, RetryPolicy retry)
    : http_(http), base_(std::move(base_url)), retry_(std::move(retry)) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

DeezerTrack DeezerClient::track(std::int64_t id) {
  if (id <= 0) throw ProviderError(ErrorKind::kRejected, "Deezer: invalid track id");
  HttpRequest req;
  req.url = base_ + "/track/" + std::to_string(id);
  req.headers = {{"Accept", "application/json"}};
  const HttpResponse r = send_with_retry(http_, req, retry_);
  const std::string where = "Deezer track " + std::to_string(id);
  if (r.status == 404) throw ProviderError(ErrorKind::kNotFound, where + ": not found (HTTP 404)");
  if (r.status == 401 || r.status == 403) throw ProviderError(ErrorKind::kAuth, where + ": HTTP " + std::to_string(r.status));
  if (r.status != 200) throw ProviderError(ErrorKind::kRejected, where + ": HTTP " + std::to_string(r.status));
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw ProviderError(ErrorKind::kBadResponse, where + ": malformed JSON");
  if (auto e = j.find("error"); e != j.end()) {
    // HTTP 200 with an error object: Deezer's way of reporting quota and missing data.
    int code = -1;
    std::string msg = "unknown error";
    if (e->is_object()) {
      if (auto c = e->find("code"); c != e->end() && c->is_number_integer()) code = c->get<int>();
      msg = str(*e, "message");
    }
    const std::string text = where + ": " + msg + " (code " + std::to_string(code) + ")";
    if (code == 4) throw ProviderError(ErrorKind::kRateLimited, text);
    if (code == 800) throw ProviderError(ErrorKind::kNotFound, text);
    throw ProviderError(ErrorKind::kRejected, text);
  }
  auto idv = j.find("id");
  if (idv == j.end() || !idv->is_number_integer()) throw ProviderError(ErrorKind::kBadResponse, where + ": no track id in response");
  DeezerTrack t;
  t.id = idv->get<std::int64_t>();
  t.title = str(j, "title");
  t.link = str(j, "link");
  t.preview_url = str(j, "preview");
  t.isrc = str(j, "isrc");
  if (auto d = j.find("duration"); d != j.end() && d->is_number_integer()) t.duration_s = d->get<int>();
  if (auto a = j.find("artist"); a != j.end() && a->is_object()) t.artist = str(*a, "name");
  if (auto al = j.find("album"); al != j.end() && al->is_object()) {
    t.cover_url = str(*al, "cover_medium");
    if (t.cover_url.empty()) t.cover_url = str(*al, "cover");
  }
  return t;
}

}  // namespace moodtunes::providers
