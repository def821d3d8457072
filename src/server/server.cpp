#include "server/server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <span>
#include <stdexcept>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <spdlog/spdlog.h>

#include "app/catalog_index.hpp"
#include "app/classifier_pool.hpp"
#include "app/errors.hpp"
#include "app/json.hpp"
#include "app/model_path.hpp"
#include "app/providers.hpp"
#include "app/reading.hpp"
#include "app/recommend.hpp"
#include "listeners/personal.hpp"
#include "listeners/store.hpp"
#include "music/catalog.hpp"
#include "providers/errors.hpp"
#include "providers/spotify_auth.hpp"
#include "server/admission.hpp"
#include "server/assets.hpp"
#include "server/feedback.hpp"
#include "server/metrics.hpp"
#include "server/requests.hpp"
#include "server/streams.hpp"

namespace moodtunes::server {

namespace fs = std::filesystem;

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using httplib::Request;
using httplib::Response;

constexpr const char* kVersion = "0.1.0";
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
    "media-src 'self' https:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
constexpr const char* kNoCatalog =
    "no catalog: run `moodtunes catalog setup` (or `moodtunes catalog import FILE`) on the server, then restart it";
// A live frame is a camera image (the page sends 640x480): 4K is the most a stream may send.
constexpr std::int64_t kMaxFramePixels = 3840 * 2160;
// How long an analysis may wait for a worker before it is refused: past this a live frame is
// stale and a person has given up on a photo.
constexpr auto kMaxQueueWait = std::chrono::seconds(20);
// A provider failure switches enrichment off for this long, so a dead network costs one short
// timeout a minute instead of one per request.
constexpr auto kEnrichPause = std::chrono::seconds(60);
constexpr app::EnrichLimits kEnrichLimits{std::chrono::milliseconds(1500), std::chrono::milliseconds(4000)};
constexpr const char* kBusyRetryAfter = "1";
constexpr const char* kStreamsRetryAfter = "5";

struct Route {
  const char* label;  // the pattern, as metrics and logs name it
  std::regex re;
  const char* allow;
};

const std::vector<Route>& routes() {
  static const std::vector<Route> table = {
      {"/api/health", std::regex("/api/health"), "GET, HEAD"},
      {"/api/analyze", std::regex("/api/analyze"), "POST"},
      {"/api/recommend", std::regex("/api/recommend"), "POST"},
      {"/api/feedback", std::regex("/api/feedback"), "POST"},
      {"/api/listeners/{id}", std::regex("/api/listeners/[^/]+"), "GET, HEAD, DELETE"},
      {"/api/streams", std::regex("/api/streams"), "POST"},
      {"/api/streams/{id}/frames", std::regex("/api/streams/[^/]+/frames"), "POST"},
      {"/api/streams/{id}", std::regex("/api/streams/[^/]+"), "DELETE"},
      {"/api/playlist", std::regex("/api/playlist"), "POST"},
      {"/api/spotify", std::regex("/api/spotify"), "GET, HEAD"},
      {"/api/openapi.json", std::regex("/api/openapi\\.json"), "GET, HEAD"},
      {"/metrics", std::regex("/metrics"), "GET, HEAD"},
  };
  return table;
}

const Route* find_route(const std::string& path) {
  for (const auto& r : routes())
    if (std::regex_match(path, r.re)) return &r;
  return nullptr;
}

bool is_api_path(const std::string& path) { return path.starts_with("/api/") || path == "/api" || path == "/metrics"; }

// The label of a request in metrics and logs: a route pattern, never the raw path (unbounded
// label values; stream ids are capabilities).
std::string route_label(const std::string& path, int status) {
  if (const Route* r = find_route(path)) return r->label;
  if (!is_api_path(path) && status < 400) return path == "/" ? "/" : "/{asset}";
  return "other";
}

bool method_allowed(const Route& r, const std::string& method) {
  const std::string allow = r.allow;
  std::size_t start = 0;
  while (start < allow.size()) {
    const std::size_t end = std::min(allow.find(", ", start), allow.size());
    if (allow.compare(start, end - start, method) == 0) return true;
    start = end + 2;
  }
  return false;
}

// Compares in time that depends on the lengths only, never on where the strings differ.
bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

// The media type of the body, lowercased, without parameters ("image/jpeg").
std::string media_type(const Request& req) {
  std::string t = req.get_header_value("Content-Type");
  t = t.substr(0, t.find(';'));
  t.erase(0, t.find_first_not_of(" \t"));
  t.erase(t.find_last_not_of(" \t") + 1);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return t;
}

// A request body read under the server's limit: the bytes, or for multipart/form-data its fields.
struct Body {
  std::string data;
  std::map<std::string, std::string> fields;
};

// httplib 0.11 enforces its payload limit on Content-Length only: a chunked body would grow
// without bound. Every body is therefore read here, counting bytes whatever the framing; past
// `limit` the rest is drained (up to 4x, then the connection's read fails) and the answer is 413.
Body read_body(const Request& req, Response& res, const httplib::ContentReader& reader, std::size_t limit) {
  Body body;
  std::size_t total = 0;
  bool too_large = false;
  auto count = [&](std::size_t n) {
    total += n;
    if (total > limit) too_large = true;
    return total <= 4 * limit;
  };
  bool ok = true;
  if (req.is_multipart_form_data()) {
    std::string* field = nullptr;
    ok = reader(
        [&](const httplib::MultipartFormData& header) {
          field = &body.fields[header.name];
          return true;
        },
        [&](const char* data, std::size_t n) {
          if (!count(n)) return false;
          if (!too_large && field) field->append(data, n);
          return true;
        });
  } else {
    ok = reader([&](const char* data, std::size_t n) {
      if (!count(n)) return false;
      if (!too_large) body.data.append(data, n);
      return true;
    });
  }
  if (too_large || res.status == 413)
    throw HttpError(413, "request body over the limit of " + std::to_string(limit) + " bytes");
  if (!ok) throw HttpError(400, "the request body could not be read (cut short, or malformed multipart)");
  return body;
}

void send_json(Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(app::dump(body), "application/json");
}

void send_error(Response& res, int status, const std::string& message) { send_json(res, status, {{"error", message}}); }

// The uploaded image: the body itself (an image/* type) or the multipart field "image".
const std::string& image_body(const Request& req, const Body& body) {
  const std::string type = media_type(req);
  if (type == "multipart/form-data") {
    const auto it = body.fields.find("image");
    if (it == body.fields.end()) throw HttpError(400, "multipart upload without a field named \"image\"");
    return it->second;
  }
  if (type == "image/jpeg" || type == "image/jpg" || type == "image/png" || type == "image/webp" || type == "image/bmp")
    return body.data;
  throw HttpError(415, "send the image as the body with Content-Type image/jpeg, image/png, image/webp or image/bmp, "
                       "or as the field \"image\" of multipart/form-data");
}

// ?small_faces: false (default), true, or auto (a second look only where the default finds none).
enum class SmallFaces { kNo, kYes, kAuto };

SmallFaces small_faces_param(const Request& req) {
  if (!req.has_param("small_faces")) return SmallFaces::kNo;
  const std::string v = req.get_param_value("small_faces");
  if (v == "true" || v == "1") return SmallFaces::kYes;
  if (v == "false" || v == "0") return SmallFaces::kNo;
  if (v == "auto") return SmallFaces::kAuto;
  throw HttpError(400, "\"small_faces\" must be true, false or auto (or 1 or 0)");
}

std::span<const unsigned char> bytes_of(const std::string& s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

json json_body(const Request& req, const Body& raw) { return parse_json_object(media_type(req), raw.data); }

std::shared_ptr<const app::CatalogIndex> load_catalog(const fs::path& file) {
  std::error_code ec;
  if (file.empty() || !fs::exists(file, ec)) {
    spdlog::warn("no catalog at {}: recommending answers 503 (run `moodtunes catalog setup`)", file.string());
    return app::CatalogIndex::empty();
  }
  try {
    music::Catalog catalog(file, music::OpenMode::kReadOnly);  // the server never writes the catalog's tracks
    auto index = app::CatalogIndex::load(catalog);
    if (index->size() == 0) spdlog::warn("the catalog at {} is empty: recommending answers 503", file.string());
    return index;
  } catch (const std::exception& e) {
    spdlog::warn("cannot read the catalog at {} ({}): recommending answers 503", file.string(), e.what());
    return app::CatalogIndex::empty();
  }
}

// When the request being served on this thread started (httplib serves a connection's requests
// on one thread, one at a time), for the duration metric and the log line.
thread_local Clock::time_point t_request_start;
thread_local bool t_request_timed = false;

}  // namespace

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  // 127.0.0.0/8 in dotted form.
  static const std::regex v4(R"(127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}))");
  std::smatch m;
  if (!std::regex_match(host, m, v4)) return false;
  for (std::size_t i = 1; i <= 3; ++i)
    if (std::stoi(m[i].str()) > 255) return false;
  return true;
}

struct Server::Impl {
  explicit Impl(ServerOptions o);

  ServerOptions opt;
  std::string model_name;
  std::unique_ptr<app::ClassifierPool> photo_pool;  // float engine: photos read as `detect` reads them
  std::unique_ptr<app::ClassifierPool> live_pool;   // fastest engine: live streams
  std::atomic<std::size_t> next_live{0};
  std::shared_ptr<const app::CatalogIndex> catalog;
  AdmissionGate gate;
  StreamRegistry streams;
  std::unique_ptr<listeners::ListenerStore> listener_store;  // feedback events: the one store
  std::shared_ptr<const listeners::TrackTable> track_table;   // the catalog as the model scores it
  Metrics metrics;
  std::mutex enrich_mu;
  Clock::time_point enrich_paused_until{};
  httplib::Server http;
  int port = -1;
  std::atomic<bool> stopping{false};

  void setup_routes();
  using BodyHandler = void (Impl::*)(const Request&, Response&, const Body&);
  httplib::Server::Handler guard(bool needs_key, std::function<void(const Request&, Response&)> handler);
  // A POST route: its body read by read_body() (under max_body) before the key is checked, so
  // a refused request leaves its connection in a readable state.
  httplib::Server::HandlerWithContentReader guard_body(bool needs_key, BodyHandler handler);
  bool key_ok(const Request& req) const;
  void require_key(const Request& req, Response& res) const;  // 401 (HttpError) without the key
  bool cors_allowed(const Request& req) const {
    return !opt.cors_origin.empty() && req.get_header_value("Origin") == opt.cors_origin;
  }
  AdmissionGate::Permit admit();
  void not_found(const Request& req, Response& res);
  std::pair<std::vector<providers::Enrichment>, bool> enrich(const std::vector<music::Track>& tracks);

  void health(const Request&, Response& res);
  void analyze(const Request& req, Response& res, const Body& body);
  void recommend(const Request& req, Response& res, const Body& body);
  void feedback_route(const Request& req, Response& res, const Body& body);
  void listener_export(const Request& req, Response& res);
  void listener_forget(const Request& req, Response& res);
  void open_stream(const Request&, Response& res, const Body&);
  void stream_frame(const Request& req, Response& res, const Body& body);
  void close_stream(const Request& req, Response& res);
  void playlist(const Request& req, Response& res, const Body& body);
  void spotify(const Request&, Response& res);
  void asset(const Request& req, Response& res);
};

Server::Impl::Impl(ServerOptions o)
    : opt(std::move(o)),
      model_name(app::model_display_name(opt.model)),
      gate(std::max<std::size_t>(1, opt.threads), 4 * std::max<std::size_t>(1, opt.threads)),
      streams(opt.max_streams, std::chrono::seconds(opt.stream_idle_timeout_s),
              [this]() -> const EmotionClassifier& { return live_pool->at(next_live++); }),
      listener_store(listeners::open_store(opt.db, opt.catalog)) {
  opt.threads = std::max<std::size_t>(1, opt.threads);
  // Workers run side by side: one core per call keeps them from oversubscribing the machine.
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  cv::setNumThreads(static_cast<int>(std::max<std::size_t>(1, cores / opt.threads)));
  const std::string model_file = app::model_path(opt.model);
  photo_pool = std::make_unique<app::ClassifierPool>(model_file, opt.threads, kPhotoEngine);
  live_pool = std::make_unique<app::ClassifierPool>(model_file, opt.threads);
  catalog = load_catalog(opt.catalog);
  track_table = listeners::track_table(*catalog);
  spdlog::info("model {} ({} classifiers per engine), catalog {} tracks{}", model_name, opt.threads, catalog->size(),
               opt.offline ? ", offline" : "");
  setup_routes();
}

bool Server::Impl::key_ok(const Request& req) const {
  if (opt.api_key.empty()) return true;
  const std::string auth = req.get_header_value("Authorization");
  static constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size() && std::equal(kBearer.begin(), kBearer.end(), auth.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      }))
    return constant_time_equal(auth.substr(kBearer.size()), opt.api_key);
  if (req.has_header("X-API-Key")) return constant_time_equal(req.get_header_value("X-API-Key"), opt.api_key);
  return false;
}

void Server::Impl::require_key(const Request& req, Response& res) const {
  if (key_ok(req)) return;
  res.set_header("WWW-Authenticate", "Bearer");
  throw HttpError(401, "missing or wrong API key: send it as \"Authorization: Bearer KEY\" or \"X-API-Key: KEY\"");
}

AdmissionGate::Permit Server::Impl::admit() {
  auto permit = gate.enter(kMaxQueueWait);
  if (!permit) {
    metrics.add_rejected("busy");
    throw HttpError(503, "the server is busy analysing other images; try again shortly", kBusyRetryAfter);
  }
  return std::move(*permit);
}

httplib::Server::Handler Server::Impl::guard(bool needs_key, std::function<void(const Request&, Response&)> handler) {
  return [this, needs_key, handler = std::move(handler)](const Request& req, Response& res) {
    try {
      if (needs_key) require_key(req, res);
      handler(req, res);
    } catch (const HttpError& e) {
      send_error(res, e.status, e.what());
      if (!e.retry_after.empty()) res.set_header("Retry-After", e.retry_after);
    } catch (const app::InvalidInput& e) {
      send_error(res, 400, e.what());
    } catch (const app::NoFace& e) {
      json out = app::schema_object();
      out["faces"] = json::array();
      out["group"] = nullptr;
      out["mood"] = nullptr;
      out["warnings"] = json::array({e.what()});
      send_json(res, 200, out);
    } catch (const app::Unavailable& e) {
      send_error(res, 503, e.what());
    } catch (const providers::ProviderError& e) {
      send_error(res, 503, std::string("music provider unavailable: ") + e.what());
    } catch (const music::CatalogError& e) {
      spdlog::error("{} {}: catalog error: {}", req.method, route_label(req.path, 503), e.what());
      send_error(res, 503, "the catalog cannot be read");
    } catch (const std::bad_alloc&) {
      send_error(res, 503, "out of memory; try a smaller image");
    } catch (const std::exception& e) {
      spdlog::error("{} {}: internal error: {}", req.method, route_label(req.path, 500), e.what());
      send_error(res, 500, "internal error");
    }
  };
}

httplib::Server::HandlerWithContentReader Server::Impl::guard_body(bool needs_key, BodyHandler handler) {
  return [this, needs_key, handler](const Request& req, Response& res, const httplib::ContentReader& reader) {
    guard(false, [&](const Request& r, Response& s) {
      const Body body = read_body(r, s, reader, opt.max_body);
      if (needs_key) require_key(r, s);
      (this->*handler)(r, s, body);
    })(req, res);
  };
}

void Server::Impl::setup_routes() {
  http.new_task_queue = [n = 4 * opt.max_streams + 8] { return new httplib::ThreadPool(n); };
  http.set_payload_max_length(opt.max_body);
  http.set_read_timeout(opt.io_timeout_s, 0);
  http.set_write_timeout(opt.io_timeout_s, 0);
  http.set_keep_alive_timeout(std::min(5, opt.io_timeout_s));
  // A live page sends a frame every few hundred ms on one connection: keep it open.
  http.set_keep_alive_max_count(100000);
  // httplib writes an answer's headers and body apart: with Nagle's algorithm the body waits for
  // the client's delayed ACK (~40 ms), which capped a live stream at ~11 frames/s (bench/server).
  http.set_tcp_nodelay(true);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let another process of
  // this user bind the same port and take a share of the connections.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http.set_default_headers({{"Content-Security-Policy", kContentSecurityPolicy},
                            {"X-Content-Type-Options", "nosniff"},
                            {"Referrer-Policy", "no-referrer"},
                            {"X-Frame-Options", "DENY"}});

  http.set_pre_routing_handler([this](const Request& req, Response& res) {
    t_request_start = Clock::now();
    t_request_timed = true;
    // A POST without Content-Length or chunked encoding has no body (RFC 9112 6.3), but httplib
    // would read until the client closes (a read timeout later). Say so explicitly. The Request
    // is httplib's own non-const object, passed here as const only by signature.
    if ((req.method == "POST" || req.method == "PUT" || req.method == "PATCH") && !req.has_header("Content-Length") &&
        !req.has_header("Transfer-Encoding"))
      const_cast<Request&>(req).headers.emplace("Content-Length", "0");
    if (req.method != "OPTIONS") return httplib::Server::HandlerResponse::Unhandled;
    const Route* r = find_route(req.path);
    if (r == nullptr && is_api_path(req.path)) return httplib::Server::HandlerResponse::Unhandled;
    const std::string allow = r ? r->allow : "GET, HEAD";
    res.status = 204;
    res.set_header("Allow", allow + ", OPTIONS");
    if (cors_allowed(req)) {
      res.set_header("Access-Control-Allow-Methods", allow);
      res.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization, X-API-Key");
      res.set_header("Access-Control-Max-Age", "600");
    }
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_post_routing_handler([this](const Request& req, Response& res) {
    if (cors_allowed(req)) {
      res.set_header("Access-Control-Allow-Origin", opt.cors_origin);
      res.set_header("Vary", "Origin");
    }
  });
  // Statuses httplib sets itself (no route, body too large, unreadable request) get a JSON body.
  http.set_error_handler(httplib::Server::HandlerWithResponse([this](const Request& req, Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    // httplib answers a method no route has with 404, or with 400 when it expected a body it
    // could not read: for a known route that is the wrong method.
    if (const Route* r = find_route(req.path); r && !method_allowed(*r, req.method) && (res.status == 404 || res.status == 400))
      res.status = 404;
    switch (res.status) {
      case 404: not_found(req, res); break;
      case 413: send_error(res, 413, "request body over the limit of " + std::to_string(opt.max_body) + " bytes"); break;
      case 414: send_error(res, 414, "request URI too long"); break;
      case 416: send_error(res, 416, "range not satisfiable"); break;
      default:
        send_error(res, res.status, res.status >= 500 ? "internal error" : "bad request: unreadable request line, headers or body");
        break;
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const Request&, Response& res, const std::exception_ptr&) { send_error(res, 500, "internal error"); });
  http.set_logger([this](const Request& req, const Response& res) {
    const double seconds = t_request_timed ? std::chrono::duration<double>(Clock::now() - t_request_start).count() : 0.0;
    t_request_timed = false;
    const std::string label = route_label(req.path, res.status);
    metrics.observe_request(label, req.method, res.status, seconds);
    // Route patterns only: no raw path (stream ids), query string, header or body. Answered live
    // frames (30 a second per stream) go to the debug level; /metrics counts them.
    const auto level = label == "/api/streams/{id}/frames" && res.status == 200 ? spdlog::level::debug : spdlog::level::info;
    spdlog::log(level, "{} {} {} {:.1f} ms", req.method, label, res.status, seconds * 1e3);
  });

  auto bind = [this](void (Impl::*fn)(const Request&, Response&)) {
    return [this, fn](const Request& req, Response& res) { (this->*fn)(req, res); };
  };
  http.Get("/api/health", guard(false, bind(&Impl::health)));
  http.Post("/api/analyze", guard_body(true, &Impl::analyze));
  http.Post("/api/recommend", guard_body(true, &Impl::recommend));
  http.Post("/api/feedback", guard_body(true, &Impl::feedback_route));
  http.Get(R"(/api/listeners/([^/]+))", guard(true, bind(&Impl::listener_export)));
  http.Delete(R"(/api/listeners/([^/]+))", guard(true, bind(&Impl::listener_forget)));
  http.Post("/api/streams", guard_body(true, &Impl::open_stream));
  http.Post(R"(/api/streams/([^/]+)/frames)", guard_body(true, &Impl::stream_frame));
  http.Delete(R"(/api/streams/([^/]+))", guard(true, bind(&Impl::close_stream)));
  http.Post("/api/playlist", guard_body(true, &Impl::playlist));
  http.Get("/api/spotify", guard(true, bind(&Impl::spotify)));
  http.Get("/api/openapi.json", guard(true, [](const Request&, Response& res) {
             res.set_content(std::string(openapi_document()), "application/json");
           }));
  http.Get("/metrics", guard(true, [this](const Request&, Response& res) {
             res.set_content(metrics.render(streams.size(), gate.waiting()), "text/plain; version=0.0.4; charset=utf-8");
           }));
  http.Get(R"(/.*)", guard(false, bind(&Impl::asset)));
}

void Server::Impl::not_found(const Request& req, Response& res) {
  if (const Route* r = find_route(req.path); r && !method_allowed(*r, req.method)) {
    res.set_header("Allow", r->allow);
    send_error(res, 405, req.method + " is not allowed here (allowed: " + r->allow + ")");
    return;
  }
  if (!is_api_path(req.path) && req.method != "GET" && req.method != "HEAD" &&
      (req.path == "/" || find_asset(req.path, opt.web_root))) {
    res.set_header("Allow", "GET, HEAD");
    send_error(res, 405, req.method + " is not allowed here (allowed: GET, HEAD)");
    return;
  }
  send_error(res, 404, "no such route: see /api/openapi.json");
}

std::pair<std::vector<providers::Enrichment>, bool> Server::Impl::enrich(const std::vector<music::Track>& tracks) {
  {
    std::lock_guard lock(enrich_mu);
    if (Clock::now() < enrich_paused_until) return {{}, false};
  }
  auto pause = [this](const std::string& why) {
    std::lock_guard lock(enrich_mu);
    enrich_paused_until = Clock::now() + kEnrichPause;
    spdlog::warn("music providers unreachable ({}): covers and previews off for {} s", why, kEnrichPause.count());
  };
  try {
    // A connection of its own: the enrichment cache writes, and Catalog is one thread's.
    music::Catalog connection(opt.catalog, music::OpenMode::kMustExist);
    app::EnrichResult r = app::enrich(connection, tracks, kEnrichLimits);
    if (!r.online) pause("Deezer failed");
    return {std::move(r.items), r.online};
  } catch (const std::exception& e) {
    pause(e.what());
    return {{}, false};
  }
}

void Server::Impl::health(const Request&, Response& res) {
  json out = {{"status", "ok"},          {"model", model_name},
              {"tracks", catalog->size()}, {"version", kVersion},
              {"schema", app::kSchemaVersion}, {"streams_open", streams.size()},
              {"offline", opt.offline}};
  send_json(res, 200, out);
}

void Server::Impl::analyze(const Request& req, Response& res, const Body& raw) {
  const std::string& body = image_body(req, raw);
  if (body.empty()) throw HttpError(400, "the image is empty (0 bytes)");
  const SmallFaces small_faces = small_faces_param(req);
  vision::DecodeLimits limits;
  limits.max_file_bytes = static_cast<std::int64_t>(opt.max_body);
  app::ImageReading r;
  {
    const auto permit = admit();
    auto lease = photo_pool->lease();
    r = app::read_image_bytes(bytes_of(body), lease.classifier(), &lease.detector(small_faces == SmallFaces::kYes),
                              limits, small_faces == SmallFaces::kAuto);
  }
  metrics.add_analysed(1, r.faces.size());
  json out = app::schema_object();
  out["faces"] = json::array();
  for (const auto& f : r.faces) out["faces"].push_back(app::face_json(f));
  out["group"] = app::group_json(r.group);
  if (r.group) {
    const auto mood = app::mood_of_probs(r.group->probs);
    out["mood"] = app::mood_json(mood.point, mood.from);
  } else {
    out["mood"] = nullptr;
  }
  out["image"] = {{"width", r.width}, {"height", r.height}};
  out["second_look"] = r.second_look;
  json warnings = r.warnings;
  if (r.faces.empty()) warnings.push_back("no face found");
  if (r.small_face_held_back) warnings.push_back("a lone small face (under ~80 px) was left out: small_faces=auto reports it");
  out["warnings"] = std::move(warnings);
  send_json(res, 200, out);
}

void Server::Impl::recommend(const Request& req, Response& res, const Body& raw) {
  const json body = json_body(req, raw);
  const MoodRequest m = parse_mood_request(body);
  const auto listener = string_field(body, "listener", kMaxIdChars, false);
  if (catalog->size() == 0) throw app::Unavailable(kNoCatalog);
  app::Recommendations picks;
  json listener_json;
  if (listener && opt.learning) {
    auto r = listeners::recommend_for_listener(*catalog, *track_table, m.mood, m.options, *listener_store, *listener);
    if (!r.store_error.empty())
      spdlog::warn("listener store unavailable, recommending without personalisation: {}", r.store_error);
    listener_json = listeners::listener_summary_json(*listener, r);
    picks = std::move(r.picks);
  } else {
    picks = app::recommend(*catalog, m.mood, m.options);
    if (listener) listener_json = {{"id", *listener}, {"events", 0}, {"personalised", false}, {"note", "learning is off"}};
  }
  std::vector<providers::Enrichment> extra;
  bool online = false;
  if (!opt.offline) std::tie(extra, online) = enrich(picks.tracks);
  json out = app::recommendation_json(picks, extra);
  out["online"] = online;
  if (!listener_json.is_null()) out["listener"] = std::move(listener_json);
  send_json(res, 200, out);
}

void Server::Impl::feedback_route(const Request& req, Response& res, const Body& raw) {
  const json body = json_body(req, raw);
  const Feedback f = parse_feedback_request(body);
  if (catalog->size() == 0) throw app::Unavailable(kNoCatalog);
  const listeners::TrackRef* track = track_table->find(f.track_id);
  if (track == nullptr) throw HttpError(404, "unknown track id " + std::to_string(f.track_id));
  listeners::Event e;
  e.listener = f.listener;
  e.track_id = f.track_id;
  e.signal = *listeners::parse_signal(f.signal);  // validated by parse_feedback_request
  e.event_id = f.event_id.value_or("");
  e.mood = f.mood;
  e.strategy = f.strategy.value_or("");
  e.reaction = f.reaction;
  // A snapshot of the track, so what the listener taught survives a catalog re-import.
  e.track = track->pos;
  e.artist = track_table->artist_name(track->artist);
  listener_store->add(e);  // a repeated event_id is stored once and answered alike
  res.status = 204;
}

void Server::Impl::listener_export(const Request& req, Response& res) {
  const std::string id = req.matches[1];
  if (id.size() > kMaxIdChars) throw HttpError(400, "listener ids have 1 to " + std::to_string(kMaxIdChars) + " characters");
  send_json(res, 200, listeners::export_json(id, listener_store->events(id), track_table.get()));
}

void Server::Impl::listener_forget(const Request& req, Response& res) {
  const std::string id = req.matches[1];
  if (id.size() > kMaxIdChars) throw HttpError(400, "listener ids have 1 to " + std::to_string(kMaxIdChars) + " characters");
  send_json(res, 200, {{"listener", id}, {"deleted", listener_store->forget(id)}});
}

void Server::Impl::open_stream(const Request&, Response& res, const Body&) {
  const auto id = streams.open();
  if (!id) {
    metrics.add_rejected("streams");
    throw HttpError(503, "all " + std::to_string(opt.max_streams) + " live streams are in use; try again shortly",
                    kStreamsRetryAfter);
  }
  res.set_header("Location", "/api/streams/" + *id);
  send_json(res, 201, {{"stream", *id}, {"idle_timeout_s", opt.stream_idle_timeout_s}, {"frames", "/api/streams/" + *id + "/frames"}});
}

void Server::Impl::stream_frame(const Request& req, Response& res, const Body& raw) {
  const std::string id = req.matches[1];
  const auto stream = streams.find(id);
  if (!stream) throw HttpError(404, "unknown or expired stream: open one with POST /api/streams");
  const std::string& body = image_body(req, raw);
  if (body.empty()) throw HttpError(400, "the frame is empty (0 bytes)");
  std::optional<double> t;
  if (req.has_param("t")) {
    const std::string text = req.get_param_value("t");
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v < 0 || v > 1e9)
      throw HttpError(400, "\"t\" must be the capture time in seconds (a non-negative number)");
    t = v;
  }
  vision::DecodeLimits limits;
  limits.max_pixels = kMaxFramePixels;
  limits.max_file_bytes = static_cast<std::int64_t>(opt.max_body);
  Stream::Frame frame;
  {
    const auto permit = admit();
    const vision::DecodedImage img = app::decode_upload(bytes_of(body), limits);
    frame = stream->process(img.bgr, t);
  }  // the frame's pixels are gone here: nothing of it is kept but the tracker's boxes
  metrics.add_analysed(1, frame.reading.faces.size());
  json out = app::schema_object();
  out["stream"] = id;
  out["frame"] = frame.index;
  out["t"] = std::round(frame.time_s * 1e3) / 1e3;
  out["faces"] = json::array();
  for (const auto& f : frame.reading.faces) out["faces"].push_back(app::face_json(f, true));
  out["group"] = app::group_json(frame.reading.group);
  if (frame.reading.group) {
    const auto mood = app::mood_of_probs(frame.reading.group->probs);
    out["mood"] = app::mood_json(mood.point, mood.from);
  } else {
    out["mood"] = nullptr;
  }
  send_json(res, 200, out);
}

void Server::Impl::close_stream(const Request& req, Response& res) {
  if (!streams.close(req.matches[1])) throw HttpError(404, "unknown or expired stream");
  res.status = 204;
}

void Server::Impl::playlist(const Request& req, Response& res, const Body& raw) {
  const json body = json_body(req, raw);
  const PlaylistRequest p = parse_playlist_request(body);
  const auto& title = p.title;
  const bool is_public = p.is_public;
  app::Recommendations picks;
  if (p.track_ids) {
    const auto& wanted = *p.track_ids;
    if (catalog->size() == 0) throw app::Unavailable(kNoCatalog);
    for (auto tid : wanted)
      if (catalog->find(tid) == nullptr) throw HttpError(404, "unknown track id " + std::to_string(tid));
    picks.tracks = catalog->tracks(wanted);
  } else {
    const MoodRequest& m = *p.mood;
    if (catalog->size() == 0) throw app::Unavailable(kNoCatalog);
    picks = app::recommend(*catalog, m.mood, m.options);
  }
  app::require_spotify_login();
  music::Catalog connection(opt.catalog, music::OpenMode::kMustExist);
  const app::PlaylistExport pl = app::export_playlist(connection, picks, title.value_or(""), is_public);
  send_json(res, 201, {{"title", pl.title}, {"url", pl.url}, {"added", pl.added}, {"missing", pl.missing}});
}

void Server::Impl::spotify(const Request&, Response& res) {
  bool logged_in = false;
  try {
    app::require_spotify_login();
    logged_in = true;
  } catch (const std::exception&) {
    // Not logged in, or an unreadable credential file: either way, not usable.
  }
  send_json(res, 200, {{"logged_in", logged_in}});
}

void Server::Impl::asset(const Request& req, Response& res) {
  if (is_api_path(req.path)) {
    not_found(req, res);
    return;
  }
  auto found = find_asset(req.path, opt.web_root);
  if (!found && req.path == "/") {
    // A build without web/: the API still works; say where it is.
    found = Asset{"<!doctype html>\n<html lang=\"en\"><meta charset=\"utf-8\"><title>moodtunes</title>\n"
                  "<p>This moodtunes build has no web page. The API is described at "
                  "<a href=\"/api/openapi.json\">/api/openapi.json</a>.</p></html>\n",
                  "text/html; charset=utf-8"};
  }
  if (!found) {
    send_error(res, 404, "no such page");
    return;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_content(found->body, found->content_type);
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() { stop(); }

int Server::bind() {
  auto& im = *impl_;
  im.port = im.opt.port == 0 ? im.http.bind_to_any_port(im.opt.host)
                             : (im.http.bind_to_port(im.opt.host, im.opt.port) ? im.opt.port : -1);
  if (im.port <= 0)
    throw std::runtime_error("cannot listen on " + im.opt.host + ":" + std::to_string(im.opt.port) +
                             " (port in use, or not an address of this machine?)");
  return im.port;
}

void Server::run() {
  if (impl_->stopping) return;
  impl_->http.listen_after_bind();
}

void Server::stop() {
  auto& im = *impl_;
  if (im.stopping.exchange(true)) return;
  if (im.port <= 0) return;
  // httplib's stop() is a no-op until the accept loop runs: give run() a moment to start it.
  for (int i = 0; i < 2000 && !im.http.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  im.http.stop();
}

}  // namespace moodtunes::server
