#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "fake_server.hpp"
#include "providers/http.hpp"
#include "providers/retry.hpp"

using namespace moodtunes::providers;
using namespace std::chrono_literals;
using moodtunes::test::get;
using moodtunes::test::with_header;

TEST(Http, GetPostHeadersAndBody) {
  moodtunes::test::FakeServer fs;
  fs.server.Get("/hello", [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Thing", "42");
    res.set_content("hi " + req.get_header_value("X-Who"), "text/plain");
  });
  fs.server.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 201;
    res.set_content(req.get_header_value("Content-Type") + "|" + req.body, "text/plain");
  });
  fs.start();
  CurlHttpClient http;
  auto r = http.send(with_header(get(fs.url() + "/hello"), "X-Who", "me"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hi me");
  EXPECT_EQ(r.header("x-thing"), "42");
  HttpRequest post;
  post.method = "POST";
  post.url = fs.url() + "/echo";
  post.headers = {{"Content-Type", "application/json"}};
  post.body = "{\"a\":1}";
  r = http.send(post);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "application/json|{\"a\":1}");
  EXPECT_EQ(http.send(get(fs.url() + "/absent")).status, 404);  // statuses are returned, not thrown
}

TEST(Http, TimeoutIsBoundedAndReported) {
  moodtunes::test::FakeServer fs;
  fs.server.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(1500ms);
    res.set_content("late", "text/plain");
  });
  fs.start();
  CurlHttpClient http;
  HttpRequest req = get(fs.url() + "/slow");
  req.timeout = 200ms;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    http.send(req);
    FAIL() << "no timeout";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, ErrorKind::kTimeout);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1200ms);
}

TEST(Http, ConnectionRefusedIsANetworkError) {
  CurlHttpClient http;
  try {
    http.send(get("http://127.0.0.1:" + std::to_string(moodtunes::test::free_loopback_port()) + "/x"));
    FAIL();
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, ErrorKind::kNetwork);
  }
}

TEST(Http, OversizedBodyIsRejected) {
  moodtunes::test::FakeServer fs;
  fs.server.Get("/big", [](const httplib::Request&, httplib::Response& res) { res.set_content(std::string(100000, 'x'), "text/plain"); });
  fs.start();
  CurlHttpClient http;
  http.max_body_bytes = 1000;
  try {
    http.send(get(fs.url() + "/big"));
    FAIL();
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, ErrorKind::kBadResponse);
  }
}

TEST(Http, TlsVerificationRejectsAPlainServerOnHttps) {
  // Not a certificate test (no CA here), but proves https is real TLS: a plain HTTP peer fails.
  moodtunes::test::FakeServer fs;
  fs.server.Get("/x", [](const httplib::Request&, httplib::Response& res) { res.set_content("x", "text/plain"); });
  fs.start();
  CurlHttpClient http;
  EXPECT_THROW(http.send(get("https://127.0.0.1:" + std::to_string(fs.port()) + "/x")), ProviderError);
}

TEST(Retry, HonoursShortRetryAfterAndGivesUpOnLongOnes) {
  moodtunes::test::FakeServer fs;
  std::atomic<int> calls{0};
  fs.server.Get("/limited", [&](const httplib::Request&, httplib::Response& res) {
    if (calls++ == 0) {
      res.status = 429;
      res.set_header("Retry-After", "2");
      return;
    }
    res.set_content("ok", "text/plain");
  });
  fs.server.Get("/long", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "3600");
  });
  fs.start();
  CurlHttpClient http;
  std::vector<std::chrono::milliseconds> waits;
  RetryPolicy p;
  p.sleep = [&](std::chrono::milliseconds d) { waits.push_back(d); };
  auto r = send_with_retry(http, get(fs.url() + "/limited"), p);
  EXPECT_EQ(r.body, "ok");
  ASSERT_EQ(waits.size(), 1u);
  EXPECT_EQ(waits[0], 2000ms);
  waits.clear();
  try {
    send_with_retry(http, get(fs.url() + "/long"), p);
    FAIL();
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, ErrorKind::kRateLimited);
  }
  EXPECT_TRUE(waits.empty());  // did not sit out an hour
}

TEST(Retry, ServerErrorsBackOffThenFail) {
  moodtunes::test::FakeServer fs;
  std::atomic<int> calls{0}, flaky{0};
  fs.server.Get("/down", [&](const httplib::Request&, httplib::Response& res) { ++calls; res.status = 503; });
  fs.server.Get("/flaky", [&](const httplib::Request&, httplib::Response& res) {
    if (flaky++ == 0) { res.status = 502; return; }
    res.set_content("up", "text/plain");
  });
  fs.start();
  CurlHttpClient http;
  std::vector<std::chrono::milliseconds> waits;
  RetryPolicy p;
  p.sleep = [&](std::chrono::milliseconds d) { waits.push_back(d); };
  try {
    send_with_retry(http, get(fs.url() + "/down"), p);
    FAIL();
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, ErrorKind::kServer);
  }
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{250ms, 500ms}));
  EXPECT_EQ(send_with_retry(http, get(fs.url() + "/flaky"), p).body, "up");
}

TEST(Encoding, UrlFormAndBase64) {
  EXPECT_EQ(url_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(form_encode({{"grant_type", "client_credentials"}, {"x", "1 2"}}), "grant_type=client_credentials&x=1%202");
  EXPECT_EQ(base64_encode("id:secret"), "aWQ6c2VjcmV0");
  EXPECT_EQ(base64_encode("\xfb\xff", true), "-_8");
}
