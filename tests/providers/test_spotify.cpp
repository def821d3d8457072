#include <sstream>
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "../music/music_test_util.hpp"
#include "providers/spotify.hpp"
#include "providers/spotify_auth.hpp"
#include "spotify_fake.hpp"

using namespace moodtunes::providers;
using namespace std::chrono_literals;
using moodtunes::test::get;
using moodtunes::test::with_header;

namespace {

// Captures everything logged while alive, to prove secrets never reach the log.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

RetryPolicy no_wait() {
  RetryPolicy p;
  p.sleep = [](std::chrono::milliseconds) {};
  return p;
}

std::string http_get(const std::string& url) {
  CurlHttpClient http;
  auto r = http.send(get(url));
  return std::to_string(r.status);
}

}  // namespace

TEST(Spotify, ClientCredentialsAndSearchResolve) {
  moodtunes::test::FakeSpotify sp;
  CurlHttpClient http;
  SpotifyAccounts accounts(http, sp.endpoints(), no_wait());
  AppTokenSource tokens(accounts, sp.client_id, Secret(sp.client_secret));
  SpotifyApi api(http, tokens, sp.endpoints(), no_wait());

  auto byisrc = api.resolve("Harder Better", "Daft Punk", "GBDUW0000059");
  ASSERT_TRUE(byisrc);
  EXPECT_EQ(byisrc->id, "5W3cjX2J3tjhG8zb6u0qHn");
  EXPECT_EQ(byisrc->url, "https://open.spotify.com/track/5W3cjX2J3tjhG8zb6u0qHn");
  EXPECT_EQ(byisrc->cover_url, "https://i.scdn.co/image/300");
  EXPECT_EQ(byisrc->isrc, "GBDUW0000059");
  // Only the result by the right artist is accepted.
  auto byname = api.resolve("Insanity's Crescendo", "Dark Tranquillity");
  ASSERT_TRUE(byname);
  EXPECT_EQ(byname->id, "right00000000000000000");
  EXPECT_FALSE(api.resolve("Nobody Song", "The Right Artist"));
  EXPECT_EQ(sp.hit("POST /api/token"), 1);  // the app token is cached
  // limit is clamped to Spotify's maximum of 10 (the fake answers 400 above 10).
  EXPECT_NO_THROW(api.search_tracks("anything", 50));
}

TEST(Spotify, ExpiredTokenIsReplacedOnce) {
  moodtunes::test::FakeSpotify sp;
  CurlHttpClient http;
  SpotifyAccounts accounts(http, sp.endpoints(), no_wait());
  AppTokenSource tokens(accounts, sp.client_id, Secret(sp.client_secret));
  SpotifyApi api(http, tokens, sp.endpoints(), no_wait());
  api.search_tracks("x");
  sp.expired_tokens.insert("app-token-1");  // Spotify now says "The access token expired"
  EXPECT_NO_THROW(api.search_tracks("x"));
  EXPECT_EQ(sp.hit("POST /api/token"), 2);
}

TEST(Spotify, FailuresMapToProviderErrorsWithoutSecrets) {
  moodtunes::test::FakeSpotify sp;
  LogCapture log;
  CurlHttpClient http;
  SpotifyAccounts accounts(http, sp.endpoints(), no_wait());
  AppTokenSource bad(accounts, sp.client_id, Secret("wrong-secret-value"));
  SpotifyApi api_bad(http, bad, sp.endpoints(), no_wait());
  try {
    api_bad.search_tracks("x");
    FAIL();
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, ErrorKind::kAuth);
    EXPECT_NE(std::string(e.what()).find("invalid_client"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("wrong-secret-value"), std::string::npos);
  }
  AppTokenSource tokens(accounts, sp.client_id, Secret(sp.client_secret));
  SpotifyApi api(http, tokens, sp.endpoints(), no_wait());
  auto kind = [&] {
    try {
      api.search_tracks("x");
    } catch (const ProviderError& e) {
      EXPECT_EQ(std::string(e.what()).find("app-token"), std::string::npos);
      return e.kind;
    }
    return ErrorKind::kConfig;
  };
  sp.search_mode = "malformed";
  EXPECT_EQ(kind(), ErrorKind::kBadResponse);
  sp.search_mode = "500";
  EXPECT_EQ(kind(), ErrorKind::kServer);
  sp.search_mode = "429";  // Retry-After 30 s: not worth blocking the listener
  EXPECT_EQ(kind(), ErrorKind::kRateLimited);
  AppTokenSource none(accounts, "", Secret());
  SpotifyApi api_none(http, none, sp.endpoints(), no_wait());
  EXPECT_THROW(api_none.search_tracks("x"), ProviderError);
  const std::string logged = log.text();
  EXPECT_EQ(logged.find(sp.client_secret), std::string::npos);
  EXPECT_EQ(logged.find("app-token"), std::string::npos);
  EXPECT_EQ(Secret("abc").describe(), "<redacted>");
}

TEST(SpotifyPkce, ChallengeMatchesRfc7636) {
  // RFC 7636 appendix B.
  EXPECT_EQ(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  auto a = make_pkce(), b = make_pkce();
  EXPECT_EQ(a.verifier.reveal().size(), 64u);
  EXPECT_NE(a.verifier.reveal(), b.verifier.reveal());
  EXPECT_EQ(a.challenge, pkce_challenge(a.verifier.reveal()));
  const auto url = authorize_url({"https://accounts.example", "x"}, "cid", "http://127.0.0.1:8765/callback", a.challenge, "st");
  EXPECT_NE(url.find("https://accounts.example/authorize?client_id=cid&response_type=code"), std::string::npos);
  EXPECT_NE(url.find("redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback"), std::string::npos);
  EXPECT_NE(url.find("code_challenge_method=S256"), std::string::npos);
  EXPECT_EQ(url.find(a.verifier.reveal()), std::string::npos);  // the verifier never leaves
}

TEST(SpotifyPkce, LoginFlowThroughLoopbackCallbackAndTokenStore) {
  moodtunes::test::FakeSpotify sp;
  moodtunes::test::TempDir dir;
  LogCapture log;
  const PkcePair pkce = make_pkce();
  const std::string state = random_token(32);
  LoopbackCallback cb(0, state);
  ASSERT_GT(cb.port(), 0);
  sp.expected_challenge = pkce.challenge;
  sp.expected_redirect = cb.redirect_uri();
  EXPECT_EQ(cb.redirect_uri().rfind("http://127.0.0.1:", 0), 0u);

  // The browser's redirect, made by the test: first a forged one (wrong state) that must be ignored.
  EXPECT_EQ(http_get(cb.redirect_uri() + "?code=evil&state=forged"), "400");
  EXPECT_EQ(http_get(cb.redirect_uri() + "?code=good-code&state=" + state), "200");
  const Secret code = cb.wait_for_code(2s);
  EXPECT_EQ(code.reveal(), "good-code");

  CurlHttpClient http;
  SpotifyAccounts accounts(http, sp.endpoints(), no_wait());
  const TokenSet t = accounts.exchange_code(sp.client_id, code, pkce.verifier, cb.redirect_uri());
  EXPECT_EQ(t.access_token.reveal(), "user-access-1");
  EXPECT_EQ(t.refresh_token.reveal(), "refresh-1");
  EXPECT_FALSE(t.expired());
  // A wrong verifier is refused by the (fake) server, as Spotify does.
  EXPECT_THROW(accounts.exchange_code(sp.client_id, code, Secret("x" + pkce.verifier.reveal()), cb.redirect_uri()), ProviderError);

  ::unsetenv("SPOTIFY_CLIENT_SECRET");
  ::unsetenv("SPOTIFY_CLIENT_ID");
  CredentialStore store(dir / "cfg" / "spotify.json");
  SpotifyCredentials creds;
  creds.client_id = sp.client_id;
  creds.access_token = t.access_token;
  creds.refresh_token = t.refresh_token;
  creds.expires_at = t.expires_at;
  store.save(creds);
  struct stat st {};
  ASSERT_EQ(::stat(store.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(store.path().parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto loaded = store.load();
  EXPECT_EQ(loaded.refresh_token.reveal(), "refresh-1");
  EXPECT_EQ(loaded.client_id, sp.client_id);
  // Environment overrides the file; its secret is not copied into the file.
  ::setenv("SPOTIFY_CLIENT_SECRET", "env-only-secret", 1);
  auto env = store.load();
  EXPECT_EQ(env.client_secret.reveal(), "env-only-secret");
  store.save(env);
  EXPECT_EQ(moodtunes::test::read_file(store.path()).find("env-only-secret"), std::string::npos);
  ::unsetenv("SPOTIFY_CLIENT_SECRET");
  // A file that became world-readable is tightened on load.
  ::chmod(store.path().c_str(), 0644);
  store.load();
  ::stat(store.path().c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(log.text().find("refresh-1"), std::string::npos);
  EXPECT_EQ(log.text().find("good-code"), std::string::npos);
}

TEST(SpotifyPkce, DenialTimeoutAndBusyPort) {
  {
    LoopbackCallback cb(0, "st");
    EXPECT_EQ(http_get(cb.redirect_uri() + "?error=access_denied&state=st"), "200");
    try {
      cb.wait_for_code(2s);
      FAIL();
    } catch (const ProviderError& e) {
      EXPECT_EQ(e.kind, ErrorKind::kAuth);
      EXPECT_NE(std::string(e.what()).find("access_denied"), std::string::npos);
    }
  }
  {
    LoopbackCallback cb(0, "st");
    const auto t0 = std::chrono::steady_clock::now();
    try {
      cb.wait_for_code(150ms);
      FAIL();
    } catch (const ProviderError& e) {
      EXPECT_EQ(e.kind, ErrorKind::kTimeout);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_THROW(LoopbackCallback(cb.port(), "x"), ProviderError);  // port already taken
  }
  moodtunes::test::TempDir dir;
  moodtunes::test::write_file(dir / "spotify.json", "{not json");
  EXPECT_THROW(CredentialStore(dir / "spotify.json").load(), ProviderError);
}

TEST(SpotifyUser, RefreshRotatesAndPersistsThenPlaylistExport) {
  moodtunes::test::FakeSpotify sp;
  moodtunes::test::TempDir dir;
  ::unsetenv("SPOTIFY_CLIENT_SECRET");
  CurlHttpClient http;
  SpotifyAccounts accounts(http, sp.endpoints(), no_wait());
  CredentialStore store(dir / "spotify.json");
  SpotifyCredentials creds;
  creds.client_id = sp.client_id;
  creds.refresh_token = Secret("refresh-1");
  creds.access_token = Secret("user-access-old");
  creds.expires_at = std::chrono::system_clock::now() - 1h;  // expired: refresh before calling
  UserTokenSource tokens(accounts, creds, &store);
  SpotifyApi api(http, tokens, sp.endpoints(), no_wait());

  std::vector<std::string> uris;
  for (int i = 0; i < 150; ++i) uris.push_back("spotify:track:" + std::to_string(1000000 + i));
  const auto pl = api.create_playlist("moodtunes uplift", "from sad to happy", false);
  EXPECT_EQ(pl.id, "3cEYpjA9oz9GiPac4AsH4n");
  EXPECT_EQ(pl.url, "https://open.spotify.com/playlist/3cEYpjA9oz9GiPac4AsH4n");
  EXPECT_EQ(api.add_items(pl.id, uris), "snap2");
  EXPECT_EQ(sp.added_batches, (std::vector<std::size_t>{100, 50}));
  EXPECT_EQ(sp.hit("old"), 0);  // never /users/{id}/playlists nor /playlists/{id}/tracks
  const auto body = nlohmann::json::parse(sp.last_playlist_body);
  EXPECT_EQ(body["name"], "moodtunes uplift");
  EXPECT_EQ(body["public"], false);
  EXPECT_EQ(tokens.credentials().refresh_token.reveal(), "refresh-2");  // rotated...
  EXPECT_EQ(store.load().refresh_token.reveal(), "refresh-2");         // ...and saved

  // A revoked refresh token is an auth error, not a crash.
  SpotifyCredentials revoked = creds;
  revoked.refresh_token = Secret("refresh-revoked");
  UserTokenSource bad(accounts, revoked, nullptr);
  SpotifyApi api_bad(http, bad, sp.endpoints(), no_wait());
  try {
    api_bad.create_playlist("x", "", false);
    FAIL();
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, ErrorKind::kAuth);
    EXPECT_EQ(std::string(e.what()).find("refresh-revoked"), std::string::npos);
  }
}

TEST(SpotifyUser, UnauthorisedAfterRefreshIsAuthError) {
  moodtunes::test::FakeSpotify sp;
  CurlHttpClient http;
  SpotifyAccounts accounts(http, sp.endpoints(), no_wait());
  SpotifyCredentials creds;
  creds.client_id = sp.client_id;
  creds.refresh_token = Secret("refresh-1");
  creds.access_token = Secret("stale");  // not expired locally, but the server rejects it
  creds.expires_at = std::chrono::system_clock::now() + 1h;
  UserTokenSource tokens(accounts, creds, nullptr);
  SpotifyApi api(http, tokens, sp.endpoints(), no_wait());
  EXPECT_NO_THROW(api.create_playlist("x", "", false));  // 401 -> refresh -> retry with user-access-2
  EXPECT_EQ(sp.hit("POST /api/token"), 1);
  sp.valid_tokens.clear();  // every token now rejected
  sp.expired_tokens.insert("user-access-2");
  EXPECT_THROW(api.create_playlist("x", "", false), ProviderError);
}

TEST(SpotifySearchTitle, StripsDecorations) {
  EXPECT_EQ(search_title("Temptation (7\" Edit)"), "Temptation");
  EXPECT_EQ(search_title("Song [Live] - 2011 Remaster"), "Song");
  EXPECT_EQ(search_title("(Untitled)"), "(Untitled)");
}
