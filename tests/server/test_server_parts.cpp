// The server's parts in-process: the admission gate's bounds, the live stream registry (limit,
// expiry, ordering of capture times), the metrics text, asset paths that try to leave the web
// root, the loopback check, and the app additions the server stands on (the shared catalog
// index recommends as app::recommend does; uploads that are not images are InvalidInput).
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include <opencv2/imgcodecs.hpp>

#include "app/catalog_index.hpp"
#include "app/errors.hpp"
#include "app/model_path.hpp"
#include "app/reading.hpp"
#include "app/recommend.hpp"
#include "server/admission.hpp"
#include "server/assets.hpp"
#include "server/metrics.hpp"
#include "server/server.hpp"
#include "server/streams.hpp"
#include "test_util.hpp"

using namespace moodtunes;
using namespace std::chrono_literals;

TEST(AdmissionGate, AdmitsWorkersQueuesABoundedFewAndRefusesTheRest) {
  server::AdmissionGate gate(2, 1);
  auto a = gate.enter(0ms);
  auto b = gate.enter(0ms);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(gate.active(), 2u);
  // The third waits (the queue holds one); a fourth is refused at once.
  auto waiting = std::async(std::launch::async, [&] { return gate.enter(5s).has_value(); });
  while (gate.waiting() == 0) std::this_thread::sleep_for(1ms);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(gate.enter(5s).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  a.reset();  // frees a slot: the waiting one gets it
  EXPECT_TRUE(waiting.get());
  EXPECT_EQ(gate.waiting(), 0u);
  // A wait that runs out is a refusal too.
  server::AdmissionGate busy(1, 4);
  auto only = busy.enter(0ms);
  EXPECT_FALSE(busy.enter(50ms).has_value());
}

TEST(Metrics, RendersPrometheusTextWithCumulativeBuckets) {
  server::Metrics m;
  m.observe_request("/api/health", "GET", 200, 0.002);
  m.observe_request("/api/health", "GET", 200, 0.3);
  m.observe_request("/api/analyze", "POST", 400, 20.0);
  m.observe_request("a\"b\\c\nd", "GET", 404, 0.001);
  m.add_analysed(3, 5);
  m.add_rejected("busy");
  const std::string t = m.render(2, 7);
  for (const char* line : {
           "moodtunes_http_requests_total{route=\"/api/health\",method=\"GET\",status=\"200\"} 2\n",
           "moodtunes_http_requests_total{route=\"/api/analyze\",method=\"POST\",status=\"400\"} 1\n",
           "route=\"a\\\"b\\\\c\\nd\"",
           "moodtunes_http_request_duration_seconds_bucket{route=\"/api/health\",le=\"0.005\"} 1\n",
           "moodtunes_http_request_duration_seconds_bucket{route=\"/api/health\",le=\"0.25\"} 1\n",
           "moodtunes_http_request_duration_seconds_bucket{route=\"/api/health\",le=\"0.5\"} 2\n",
           "moodtunes_http_request_duration_seconds_bucket{route=\"/api/health\",le=\"+Inf\"} 2\n",
           "moodtunes_http_request_duration_seconds_bucket{route=\"/api/analyze\",le=\"10\"} 0\n",
           "moodtunes_http_request_duration_seconds_bucket{route=\"/api/analyze\",le=\"+Inf\"} 1\n",
           "moodtunes_http_request_duration_seconds_sum{route=\"/api/health\"} 0.302\n",
           "moodtunes_http_request_duration_seconds_count{route=\"/api/health\"} 2\n",
           "moodtunes_frames_analysed_total 3\n", "moodtunes_faces_analysed_total 5\n", "moodtunes_streams_open 2\n",
           "moodtunes_queue_depth 7\n", "moodtunes_rejected_total{reason=\"busy\"} 1\n",
           "moodtunes_rejected_total{reason=\"streams\"} 0\n"})
    EXPECT_NE(t.find(line), std::string::npos) << line << "\n" << t;
}

TEST(StreamRegistry, LimitsExpiresAndKeepsCaptureTimesInOrder) {
  const auto clf = EmotionClassifier::load(app::model_path("fast"));
  // Long enough that a loaded machine (ctest -j) cannot expire a stream between two lines.
  server::StreamRegistry reg(2, 2000ms, [&]() -> const EmotionClassifier& { return clf; });
  const auto a = reg.open();
  const auto b = reg.open();
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(std::regex_match(*a, std::regex("[A-Za-z0-9]{32}")));
  EXPECT_FALSE(reg.open().has_value());
  EXPECT_TRUE(reg.close(*a));
  EXPECT_FALSE(reg.close(*a));
  EXPECT_EQ(reg.find(*a), nullptr);
  const auto stream = reg.find(*b);
  ASSERT_NE(stream, nullptr);
  const cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(90, 90, 90));
  EXPECT_EQ(stream->process(frame, 2.0).index, 1);
  const auto back = stream->process(frame, 1.0);  // earlier than the last: read as the last
  EXPECT_EQ(back.index, 2);
  EXPECT_DOUBLE_EQ(back.time_s, 2.0);
  EXPECT_TRUE(back.reading.faces.empty());
  std::this_thread::sleep_for(2300ms);
  EXPECT_EQ(reg.size(), 0u) << "idle streams expire";
  EXPECT_EQ(reg.find(*b), nullptr);
  // The caller still holding an expired stream may finish its frame.
  EXPECT_EQ(stream->process(frame, 3.0).index, 3);
  EXPECT_TRUE(reg.open().has_value());
}

TEST(Assets, NeverLeaveTheWebRoot) {
  test::TempDir root, outside;
  {
    std::ofstream(root / "index.html") << "<p>hi</p>";
    std::filesystem::create_directories(root / "js");
    std::ofstream(root / "js/app.js") << "let a;";
    std::ofstream(root / ".secret") << "x";
    std::ofstream(outside / "private.txt") << "secret";
    std::filesystem::create_symlink(outside / "private.txt", root / "link.txt");
  }
  const std::string r = root.path().string();
  ASSERT_TRUE(server::find_asset("/", r));
  EXPECT_EQ(server::find_asset("/", r)->body, "<p>hi</p>");
  EXPECT_EQ(server::find_asset("/index.html", r)->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(server::find_asset("/js/app.js", r)->content_type, "text/javascript; charset=utf-8");
  for (const char* bad : {"/../" , "/js/../../x", "/..", "/.secret", "/link.txt", "//etc/passwd", "/js\\app.js", "", "index.html",
                          "/js/", "/missing.css"})
    EXPECT_FALSE(server::find_asset(bad, r).has_value()) << bad;
  EXPECT_EQ(server::content_type_for("a.webmanifest"), "application/manifest+json");
  EXPECT_EQ(server::content_type_for("a.svg"), "image/svg+xml");
  EXPECT_EQ(server::content_type_for("a.ico"), "image/x-icon");
  EXPECT_EQ(server::content_type_for("noext"), "application/octet-stream");
  // The OpenAPI document is compiled in, and is JSON.
  EXPECT_NE(server::openapi_document().find("\"openapi\": \"3.1.0\""), std::string::npos);
}

TEST(Loopback, OnlyThisMachinesAddresses) {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"}) EXPECT_TRUE(server::is_loopback(h)) << h;
  for (const char* h : {"0.0.0.0", "::", "192.168.1.2", "127.0.0.256", "127.0.0.1.example.com", "example.com", ""})
    EXPECT_FALSE(server::is_loopback(h)) << h;
}

TEST(CatalogIndex, RecommendsAsTheCatalogDoesWithoutSqlite) {
  test::TempDir dir;
  music::Catalog catalog(dir / "c.sqlite");
  {
    music::Catalog::Import tx(catalog);
    for (int i = 0; i < 60; ++i) {
      music::Track t;
      t.source = "test";
      t.source_id = std::to_string(i);
      t.title = "Song " + std::to_string(i);
      t.artist = "Artist " + std::to_string(i % 15);
      t.valence = -0.9f + 0.03f * i;
      t.arousal = 0.8f - 0.027f * i;
      tx.upsert(t);
    }
    tx.commit();
  }
  const auto index = app::CatalogIndex::load(catalog);
  EXPECT_EQ(index->size(), 60u);
  for (auto strategy : {music::Strategy::kMatch, music::Strategy::kUplift, music::Strategy::kCalm, music::Strategy::kEnergize}) {
    const auto mood = app::resolve_mood({.emotion = "sad"});
    const app::RecommendOptions options{.strategy = strategy, .count = 8, .seed = 3};
    const auto a = app::recommend(catalog, mood, options);
    const auto b = app::recommend(*index, mood, options);
    ASSERT_EQ(a.tracks.size(), b.tracks.size());
    for (std::size_t i = 0; i < a.tracks.size(); ++i) {
      EXPECT_EQ(a.tracks[i].id, b.tracks[i].id);
      EXPECT_EQ(a.tracks[i].title, b.tracks[i].title);
      EXPECT_EQ(a.result.items[i].reason, b.result.items[i].reason);
    }
  }
  EXPECT_EQ(index->find(999), nullptr);
  EXPECT_THROW(app::recommend(*app::CatalogIndex::empty(), app::resolve_mood({.emotion = "sad"}), {}), app::Unavailable);
}

TEST(ReadImageBytes, UploadsThatAreNotImagesAreTheCallersFault) {
  const auto clf = EmotionClassifier::load(app::model_path("fast"));
  const std::string junk = "definitely not an image";
  EXPECT_THROW(app::read_image_bytes({}, clf), app::InvalidInput);
  EXPECT_THROW(app::read_image_bytes({reinterpret_cast<const unsigned char*>(junk.data()), junk.size()}, clf), app::InvalidInput);
  std::vector<unsigned char> png;
  cv::imencode(".png", cv::Mat(300, 400, CV_8UC3, cv::Scalar(0, 0, 0)), png);
  vision::DecodeLimits small;
  small.max_pixels = 1000;
  EXPECT_THROW(app::read_image_bytes(png, clf, nullptr, small), app::InvalidInput);
  const auto r = app::read_image_bytes(png, clf);
  EXPECT_EQ(r.width, 400);
  EXPECT_EQ(r.height, 300);
  EXPECT_TRUE(r.faces.empty());
  EXPECT_FALSE(r.group.has_value());
}
