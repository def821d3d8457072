#include "providers/spotify_auth.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "music/sha256.hpp"

namespace moodtunes::providers {

namespace fs = std::filesystem;
using nlohmann::json;

std::string random_token(std::size_t chars) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(chars);
  unsigned char buf[64];
  while (out.size() < chars) {
    if (RAND_bytes(buf, sizeof buf) != 1) throw ProviderError(ErrorKind::kConfig, "OpenSSL RAND_bytes failed");
    for (unsigned char b : buf)
      if (b < 248 && out.size() < chars) out.push_back(kAlphabet[b % 62]);  // 248 = 4*62: no modulo bias
  }
  return out;
}

std::string pkce_challenge(const std::string& verifier) {
  const auto d = music::sha256(verifier);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()), true);
}

PkcePair make_pkce() {
  PkcePair p;
  p.verifier = Secret(random_token(64));
  p.challenge = pkce_challenge(p.verifier.reveal());
  return p;
}

std::string authorize_url(const SpotifyEndpoints& ep, const std::string& client_id, const std::string& redirect_uri,
                          const std::string& challenge, const std::string& state, const std::string& scopes) {
  std::string base = ep.accounts;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/authorize?" +
         form_encode({{"client_id", client_id},
                      {"response_type", "code"},
                      {"redirect_uri", redirect_uri},
                      {"code_challenge_method", "S256"},
                      {"code_challenge", challenge},
                      {"state", state},
                      {"scope", scopes}});
}

// ---- Loopback callback ---------------------------------------------------------------------

struct LoopbackCallback::Impl {
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> exited{false};
  std::mutex mu;
  std::condition_variable cv;
  std::string state;
  std::optional<Secret> code;
  std::optional<std::string> error;
};

LoopbackCallback::LoopbackCallback(int port, std::string expected_state) : impl_(std::make_unique<Impl>()) {
  Impl* im = impl_.get();
  im->state = std::move(expected_state);
  im->server.Get("/callback", [im](const httplib::Request& req, httplib::Response& res) {
    const std::string state = req.get_param_value("state");
    std::lock_guard lock(im->mu);
    if (state.empty() || state != im->state) {
      res.status = 400;
      res.set_content("moodtunes: this sign-in link does not belong to the running login (state mismatch).", "text/plain");
      return;
    }
    if (req.has_param("error")) {
      im->error = req.get_param_value("error");
      res.set_content("moodtunes: Spotify sign-in was not completed (" + *im->error + "). You can close this tab.", "text/plain");
    } else if (req.get_param_value("code").empty()) {
      im->error = "no code in callback";
      res.status = 400;
      res.set_content("moodtunes: the callback had no code.", "text/plain");
    } else {
      im->code = Secret(req.get_param_value("code"));
      res.set_content("moodtunes: signed in to Spotify. You can close this tab.", "text/plain");
    }
    im->cv.notify_all();
  });
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second process
  // of this user bind the same callback port and race us for the authorization code.
  im->server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  if (port == 0) {
    port_ = im->server.bind_to_any_port("127.0.0.1");
  } else {
    port_ = im->server.bind_to_port("127.0.0.1", port) ? port : -1;
  }
  if (port_ <= 0)
    throw ProviderError(ErrorKind::kConfig, "cannot listen on 127.0.0.1:" + std::to_string(port) + " for the Spotify callback (port in use?)");
  im->thread = std::thread([im] {
    im->server.listen_after_bind();
    im->exited = true;
  });
}

LoopbackCallback::~LoopbackCallback() {
  // httplib's stop() is a no-op until the accept loop has started: wait for it (briefly), or
  // the join below could wait forever.
  for (int i = 0; i < 2000 && !impl_->server.is_running() && !impl_->exited; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Secret LoopbackCallback::wait_for_code(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  if (!impl_->cv.wait_for(lock, timeout, [&] { return impl_->code.has_value() || impl_->error.has_value(); }))
    throw ProviderError(ErrorKind::kTimeout, "no Spotify sign-in within " + std::to_string(timeout.count() / 1000) + " s");
  if (impl_->error) throw ProviderError(ErrorKind::kAuth, "Spotify sign-in failed: " + *impl_->error);
  return *impl_->code;
}

// ---- Credential store ----------------------------------------------------------------------

fs::path default_spotify_config_path() {
  if (const char* p = std::getenv("MOODTUNES_SPOTIFY_CONFIG"); p && *p) return p;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) return fs::path(x) / "moodtunes" / "spotify.json";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".config" / "moodtunes" / "spotify.json";
  throw ProviderError(ErrorKind::kConfig, "no place for Spotify credentials: set MOODTUNES_SPOTIFY_CONFIG");
}

CredentialStore::CredentialStore(fs::path file) : file_(std::move(file)) {}

SpotifyCredentials CredentialStore::load() const {
  SpotifyCredentials c;
  std::error_code ec;
  if (fs::exists(file_, ec)) {
    struct stat st {};
    if (::stat(file_.c_str(), &st) == 0 && (st.st_mode & 077)) {
      spdlog::warn("{} was readable by other users; setting its mode to 0600", file_.string());
      ::chmod(file_.c_str(), 0600);
    }
    std::ifstream in(file_);
    std::stringstream ss;
    ss << in.rdbuf();
    const auto j = json::parse(ss.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object())
      throw ProviderError(ErrorKind::kConfig, file_.string() + " is not valid JSON (fix or delete it, then log in again)");
    auto s = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
    c.client_id = s("client_id");
    c.client_secret = Secret(s("client_secret"));
    c.refresh_token = Secret(s("refresh_token"));
    c.access_token = Secret(s("access_token"));
    c.scope = s("scope");
    if (j.contains("expires_at") && j["expires_at"].is_number_integer())
      c.expires_at = std::chrono::system_clock::time_point(std::chrono::seconds(j["expires_at"].get<long long>()));
  }
  if (const char* id = std::getenv("SPOTIFY_CLIENT_ID"); id && *id) c.client_id = id;
  if (const char* sec = std::getenv("SPOTIFY_CLIENT_SECRET"); sec && *sec) {
    c.client_secret = Secret(sec);
    c.secret_from_env = true;
  }
  return c;
}

void CredentialStore::save(const SpotifyCredentials& c) const {
  json j = {{"client_id", c.client_id},
            {"refresh_token", c.refresh_token.reveal()},
            {"access_token", c.access_token.reveal()},
            {"expires_at", std::chrono::duration_cast<std::chrono::seconds>(c.expires_at.time_since_epoch()).count()},
            {"scope", c.scope}};
  if (!c.client_secret.empty() && !c.secret_from_env) j["client_secret"] = c.client_secret.reveal();
  const std::string text = j.dump(2) + "\n";
  std::error_code ec;
  if (file_.has_parent_path()) {
    fs::create_directories(file_.parent_path(), ec);
    ::chmod(file_.parent_path().c_str(), 0700);
  }
  const fs::path tmp = file_.string() + ".tmp." + std::to_string(::getpid());
  // Created 0600 from the first byte (no window where the secret is world-readable).
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw ProviderError(ErrorKind::kConfig, "cannot write " + tmp.string());
  ::fchmod(fd, 0600);  // O_CREAT on an existing file keeps its mode
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), file_.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw ProviderError(ErrorKind::kConfig, "cannot write " + file_.string());
  }
}

bool CredentialStore::remove() const {
  std::error_code ec;
  return fs::remove(file_, ec);
}

// ---- User tokens ---------------------------------------------------------------------------

UserTokenSource::UserTokenSource(SpotifyAccounts& accounts, SpotifyCredentials creds, const CredentialStore* store)
    : accounts_(accounts), creds_(std::move(creds)), store_(store) {}

Secret UserTokenSource::token() {
  TokenSet current{creds_.access_token, creds_.refresh_token, creds_.expires_at, creds_.scope};
  if (!current.expired()) return creds_.access_token;
  if (creds_.client_id.empty()) throw ProviderError(ErrorKind::kConfig, "Spotify: no client id (set SPOTIFY_CLIENT_ID or log in)");
  TokenSet t = accounts_.refresh(creds_.client_id, creds_.refresh_token);
  creds_.access_token = t.access_token;
  creds_.refresh_token = t.refresh_token;
  creds_.expires_at = t.expires_at;
  if (!t.scope.empty()) creds_.scope = t.scope;
  if (store_) store_->save(creds_);  // keeps a rotated refresh token
  return creds_.access_token;
}

}  // namespace moodtunes::providers
