#include <gtest/gtest.h>

#include "fake_server.hpp"
#include "providers/deezer.hpp"

using namespace moodtunes::providers;

namespace {

// GET /track/{id} in the shape of Deezer's public API (fields trimmed to a realistic subset).
constexpr const char* kTrack = R"({
  "id": 3135556, "readable": true, "title": "Harder, Better, Faster, Stronger",
  "title_short": "Harder, Better, Faster, Stronger", "isrc": "GBDUW0000059",
  "link": "https://www.deezer.com/track/3135556", "duration": 224, "rank": 956167,
  "preview": "https://cdnt-preview.dzcdn.net/api/1/1/8/e/a/0/8ea.mp3",
  "artist": {"id": 27, "name": "Daft Punk", "link": "https://www.deezer.com/artist/27", "type": "artist"},
  "album": {"id": 302127, "title": "Discovery", "cover": "https://api.deezer.com/album/302127/image",
            "cover_small": "https://e-cdns-images.dzcdn.net/images/cover/x/56x56-000000-80-0-0.jpg",
            "cover_medium": "https://e-cdns-images.dzcdn.net/images/cover/x/250x250-000000-80-0-0.jpg",
            "cover_big": "https://e-cdns-images.dzcdn.net/images/cover/x/500x500-000000-80-0-0.jpg",
            "type": "album"},
  "type": "track"})";

class DeezerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs.server.Get(R"(/track/(\d+))", [this](const httplib::Request& req, httplib::Response& res) {
      ++calls;
      const std::string id = req.matches[1];
      if (id == "3135556") res.set_content(kTrack, "application/json");
      else if (id == "4") res.set_content(R"({"error":{"type":"Exception","message":"Quota limit exceeded","code":4}})", "application/json");
      else if (id == "800") res.set_content(R"({"error":{"type":"DataException","message":"no data","code":800}})", "application/json");
      else if (id == "5") res.set_content(R"({"error":{"type":"OAuthException","message":"Invalid OAuth access token.","code":300}})", "application/json");
      else if (id == "66") res.set_content(R"({"id": 66, "title": "trunc)", "application/json");
      else if (id == "67") res.set_content(R"(["not", "an", "object"])", "application/json");
      else if (id == "500") res.status = 500;
      else res.status = 404;
    });
    fs.start();
    retry.sleep = [](std::chrono::milliseconds) {};
  }
  ErrorKind kind_of(std::int64_t id) {
    DeezerClient dz(http, fs.url(), retry);
    try {
      dz.track(id);
    } catch (const ProviderError& e) {
      return e.kind;
    }
    ADD_FAILURE() << "no error for " << id;
    return ErrorKind::kConfig;
  }
  moodtunes::test::FakeServer fs;
  CurlHttpClient http;
  RetryPolicy retry;
  std::atomic<int> calls{0};
};

}  // namespace

TEST_F(DeezerTest, TrackGivesPreviewCoverLink) {
  DeezerClient dz(http, fs.url() + "/", retry);
  auto t = dz.track(3135556);
  EXPECT_EQ(t.id, 3135556);
  EXPECT_EQ(t.title, "Harder, Better, Faster, Stronger");
  EXPECT_EQ(t.artist, "Daft Punk");
  EXPECT_EQ(t.preview_url, "https://cdnt-preview.dzcdn.net/api/1/1/8/e/a/0/8ea.mp3");
  EXPECT_EQ(t.cover_url, "https://e-cdns-images.dzcdn.net/images/cover/x/250x250-000000-80-0-0.jpg");
  EXPECT_EQ(t.link, "https://www.deezer.com/track/3135556");
  EXPECT_EQ(t.isrc, "GBDUW0000059");
  EXPECT_EQ(t.duration_s, 224);
}

TEST_F(DeezerTest, ErrorObjectsWithHttp200AreErrors) {
  EXPECT_EQ(kind_of(4), ErrorKind::kRateLimited);  // Quota limit exceeded, code 4
  EXPECT_EQ(kind_of(800), ErrorKind::kNotFound);
  EXPECT_EQ(kind_of(5), ErrorKind::kRejected);
}

TEST_F(DeezerTest, MalformedAndServerFailures) {
  EXPECT_EQ(kind_of(66), ErrorKind::kBadResponse);
  EXPECT_EQ(kind_of(67), ErrorKind::kBadResponse);
  EXPECT_EQ(kind_of(404), ErrorKind::kNotFound);
  const int before = calls;
  EXPECT_EQ(kind_of(500), ErrorKind::kServer);
  EXPECT_EQ(calls - before, 3);  // retried, then gave up
  DeezerClient dz(http, fs.url(), retry);
  EXPECT_THROW(dz.track(0), ProviderError);
}
