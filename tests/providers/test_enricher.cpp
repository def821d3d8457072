#include <gtest/gtest.h>

#include "../music/music_test_util.hpp"
#include "providers/cache.hpp"
#include "providers/enricher.hpp"
#include "spotify_fake.hpp"

using namespace moodtunes::providers;
using moodtunes::music::Catalog;
using moodtunes::music::Track;
using namespace std::chrono_literals;

namespace {

Track track(std::int64_t deezer_id, const std::string& title, const std::string& artist, const std::string& isrc = "") {
  Track t;
  t.id = deezer_id;
  t.source = "deezer-mood";
  t.source_id = std::to_string(deezer_id);
  t.deezer_id = deezer_id;
  t.title = title;
  t.artist = artist;
  t.isrc = isrc;
  return t;
}

std::chrono::system_clock::time_point g_now;
std::chrono::system_clock::time_point fake_now() { return g_now; }

RetryPolicy no_wait() {
  RetryPolicy p;
  p.sleep = [](std::chrono::milliseconds) {};
  return p;
}

}  // namespace

TEST(Cache, ExpiryPersistenceAndCorruption) {
  moodtunes::test::TempDir dir;
  g_now = std::chrono::system_clock::now();
  {
    Catalog c(dir / "c.sqlite");
    EnrichmentCache cache(c);
    cache.now = &fake_now;
    cache.put("deezer", "1", {{"preview", "p"}}, 60s);
    ASSERT_TRUE(cache.get("deezer", "1"));
    EXPECT_EQ((*cache.get("deezer", "1"))["preview"], "p");
    EXPECT_FALSE(cache.get("spotify", "1"));
  }
  Catalog c(dir / "c.sqlite");  // reopened: the cache lives in the SQLite file
  EnrichmentCache cache(c);
  cache.now = &fake_now;
  EXPECT_TRUE(cache.get("deezer", "1"));
  g_now += 61s;
  EXPECT_FALSE(cache.get("deezer", "1"));
  EXPECT_EQ(cache.purge_expired(), 1u);
  c.exec("INSERT INTO enrichment_cache VALUES('deezer','2','{broken',0,99999999999)");
  EXPECT_FALSE(cache.get("deezer", "2"));  // a corrupt entry is a miss
}

class EnricherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dz.server.Get(R"(/track/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
      ++deezer_calls;
      const std::string id = req.matches[1];
      if (deezer_mode == "quota")
        return res.set_content(R"({"error":{"type":"Exception","message":"Quota limit exceeded","code":4}})", "application/json");
      if (id == "404")
        return res.set_content(R"({"error":{"type":"DataException","message":"no data","code":800}})", "application/json");
      res.set_content(nlohmann::json{{"id", std::stoll(id)}, {"title", "T"}, {"link", "https://www.deezer.com/track/" + id},
                                     {"preview", "https://cdnt-preview.dzcdn.net/" + id + ".mp3"},
                                     {"artist", {{"name", "A"}}}, {"album", {{"cover_medium", "https://cover/" + id}}}}
                          .dump(),
                      "application/json");
    });
    dz.start();
  }
  moodtunes::test::TempDir dir;
  moodtunes::test::FakeServer dz;
  moodtunes::test::FakeSpotify sp;
  std::atomic<int> deezer_calls{0};
  std::string deezer_mode = "ok";
};

TEST_F(EnricherTest, EnrichesThroughTheCache) {
  Catalog c(dir / "c.sqlite");
  EnrichmentCache cache(c);
  CurlHttpClient http;
  DeezerClient deezer(http, dz.url(), no_wait());
  SpotifyAccounts accounts(http, sp.endpoints(), no_wait());
  AppTokenSource tokens(accounts, sp.client_id, Secret(sp.client_secret));
  SpotifyApi spotify(http, tokens, sp.endpoints(), no_wait());
  {
    Enricher e(&cache, &deezer, &spotify);
    auto r = e.enrich(track(3135556, "Harder, Better, Faster, Stronger", "Daft Punk", "GBDUW0000059"));
    EXPECT_EQ(r.preview_url, "https://cdnt-preview.dzcdn.net/3135556.mp3");
    EXPECT_EQ(r.cover_url, "https://cover/3135556");
    EXPECT_EQ(r.deezer_link, "https://www.deezer.com/track/3135556");
    EXPECT_EQ(r.spotify_id, "5W3cjX2J3tjhG8zb6u0qHn");
    EXPECT_EQ(r.spotify_uri, "spotify:track:5W3cjX2J3tjhG8zb6u0qHn");
    EXPECT_TRUE(r.notes.empty());
    auto missing = e.enrich(track(404, "Nobody Song", "The Right Artist"));
    EXPECT_TRUE(missing.preview_url.empty());
    EXPECT_EQ(missing.notes.size(), 2u);  // gone from Deezer, no Spotify match
  }
  const int dcalls = deezer_calls, scalls = sp.hit("GET /v1/search");
  // Second run: everything (including the negative answers) comes from the cache.
  Enricher e(&cache, &deezer, &spotify);
  auto r = e.enrich(track(3135556, "Harder, Better, Faster, Stronger", "Daft Punk", "GBDUW0000059"));
  EXPECT_EQ(r.spotify_id, "5W3cjX2J3tjhG8zb6u0qHn");
  EXPECT_EQ(r.preview_url, "https://cdnt-preview.dzcdn.net/3135556.mp3");
  e.enrich(track(404, "Nobody Song", "The Right Artist"));
  EXPECT_EQ(deezer_calls, dcalls);
  EXPECT_EQ(sp.hit("GET /v1/search"), scalls);
  // Offline with a cache: no providers at all still gives the cached links.
  Enricher offline(&cache, nullptr, nullptr);
  EXPECT_EQ(offline.enrich(track(3135556, "Harder, Better, Faster, Stronger", "Daft Punk", "GBDUW0000059")).preview_url,
            "https://cdnt-preview.dzcdn.net/3135556.mp3");
}

TEST_F(EnricherTest, DegradesAndStopsAskingAFailingProvider) {
  Catalog c(dir / "c.sqlite");
  EnrichmentCache cache(c);
  CurlHttpClient http;
  deezer_mode = "quota";
  DeezerClient deezer(http, dz.url(), no_wait());
  // Spotify unreachable.
  SpotifyEndpoints dead{"http://127.0.0.1:" + std::to_string(moodtunes::test::free_loopback_port()),
                        "http://127.0.0.1:" + std::to_string(moodtunes::test::free_loopback_port()) + "/v1"};
  SpotifyAccounts accounts(http, dead, no_wait());
  AppTokenSource tokens(accounts, "id", Secret("secret"));
  SpotifyApi spotify(http, tokens, dead, no_wait());
  Enricher e(&cache, &deezer, &spotify);
  auto r = e.enrich(track(1, "a", "b"));
  EXPECT_TRUE(r.preview_url.empty());
  EXPECT_TRUE(r.spotify_id.empty());
  ASSERT_EQ(r.notes.size(), 2u);
  EXPECT_NE(r.notes[0].find("rate-limited"), std::string::npos);
  EXPECT_NE(r.notes[1].find("network"), std::string::npos);
  EXPECT_FALSE(e.deezer_enabled());
  EXPECT_FALSE(e.spotify_enabled());
  for (int i = 2; i < 10; ++i) e.enrich(track(i, "a", "b"));
  EXPECT_EQ(deezer_calls, 1);  // switched off after the quota error
  EXPECT_FALSE(cache.get("deezer", "1"));  // errors are not cached
}

TEST_F(EnricherTest, HungServerCostsOneBoundedTimeout) {
  moodtunes::test::FakeServer slow;
  slow.server.Get(R"(/track/(\d+))", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(1500ms);
    res.set_content("{}", "application/json");
  });
  slow.start();
  Catalog c(dir / "c.sqlite");
  EnrichmentCache cache(c);
  CurlHttpClient http;
  http.max_timeout = 200ms;
  DeezerClient deezer(http, slow.url(), no_wait());
  Enricher e(&cache, &deezer, nullptr);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= 10; ++i) {
    auto r = e.enrich(track(i, "a", "b"));
    EXPECT_TRUE(r.preview_url.empty());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
}

TEST_F(EnricherTest, KnownSpotifyIdNeedsNoRequest) {
  Catalog c(dir / "c.sqlite");
  Enricher e(nullptr, nullptr, nullptr);
  Track t = track(1, "a", "b");
  t.spotify_id = "4uLU6hMCjMI75M1A2tKUQC";
  auto r = e.enrich(t);
  EXPECT_EQ(r.spotify_url, "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC");
  EXPECT_EQ(r.to_json()["spotify_uri"], "spotify:track:4uLU6hMCjMI75M1A2tKUQC");
}
