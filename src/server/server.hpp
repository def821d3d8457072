// The moodtunes HTTP server (`moodtunes serve`): the use cases of src/app behind a JSON API,
// plus the web page, an OpenAPI document and Prometheus metrics. The HTTP transport
// (cpp-httplib) stays inside src/server.
//
// Routes (the contract; shapes in openapi.json):
//   GET  /api/health                 {"status":"ok","model","tracks",...}
//   POST /api/analyze                an image (image/jpeg|png|webp|bmp body, or multipart field
//                                    "image") -> faces, group, mood, image size, warnings
//   POST /api/recommend              a mood (emotion | probabilities | valence+arousal) -> tracks
//   POST /api/recommend              with "listener": that listener's list (src/listeners)
//   POST /api/feedback               {"listener","track_id","signal","event_id"?,"mood"?,
//                                    "strategy"?,"reaction"?} -> 204 (server/feedback.hpp)
//   GET  /api/listeners/{id}         everything stored about a listener, and the model's view
//   DELETE /api/listeners/{id}       erases it all -> {"listener","deleted"}
//   POST /api/streams                -> 201 {"stream","idle_timeout_s"}
//   POST /api/streams/{id}/frames    one frame (image body), ?t=<capture s> -> tracked faces
//   DELETE /api/streams/{id}         -> 204
//   POST /api/playlist, GET /api/spotify   Spotify export of a recommendation / login state
//   GET  /api/openapi.json, GET /metrics, GET / and the page's files
// Errors are JSON {"error": "..."} with their status: 400 bad request, 401 missing/wrong API
// key, 404 unknown route or stream, 405 wrong method (with Allow), 413 body over max_body, 415
// wrong Content-Type, 503 unavailable (no catalog, Spotify) or at capacity (with Retry-After).
// app::InvalidInput -> 400, app::NoFace -> 200 with no faces, app::Unavailable -> 503; anything
// else -> 500 {"error":"internal error"} without details (those go to the log).
//
// Loaded once per process: `threads` classifiers for photos (the float engine, as `detect`)
// and as many for live streams (the fastest engine), and the catalog's tracks and mood index.
// A missing or empty catalog does not stop the server: recommending answers 503.
// Bounds: `threads` analyses at once and 4x as many waiting (then 503); `max_streams` live
// streams; bodies up to max_body; HTTP I/O on a fixed pool of 4*max_streams+8 threads, with
// read/write timeouts of io_timeout_s. Frames and photos are read in memory, never written.
// API key: when set, every /api/* route but /api/health, and /metrics, need it as
// "Authorization: Bearer KEY" or "X-API-Key: KEY" (compared in constant time); the page and its
// files stay open. The key never appears in a response or the log.
// Lifetime: the constructor loads everything (throws ModelError / app::Unavailable); bind()
// takes the port (throws std::runtime_error when it cannot); run() serves until stop(), which
// any thread (a signal handler's thread) may call. Not copyable.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

namespace moodtunes::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                  // 0: any free port
  std::string api_key{};            // empty: no key needed (loopback only; see is_loopback())
  std::size_t threads = 2;          // analysis workers = classifiers per engine
  std::string model{};              // a .mtm path or a shipped name (app::model_path)
  std::filesystem::path catalog{};  // the SQLite catalog; may be missing
  std::string cors_origin{};        // empty: no CORS headers at all
  std::size_t max_streams = 8;
  std::size_t max_body = 16u << 20;
  bool offline = false;             // no Deezer/Spotify enrichment
  std::string web_root{};           // empty: the page compiled in
  int io_timeout_s = 10;            // socket read/write timeouts
  int stream_idle_timeout_s = 30;   // a live stream unused this long is closed
  bool learning = true;             // false (--no-learning): a "listener" is not personalised
  // The listener store: a postgresql:// URI (shared by replicas) or a SQLite file; empty:
  // listeners.sqlite beside the catalog (listeners::open_store).
  std::string db{};
};

// 127.0.0.0/8, ::1 and "localhost": hosts only this machine can reach.
bool is_loopback(const std::string& host);

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int bind();  // the port bound
  void run();  // blocks until stop()
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace moodtunes::server
