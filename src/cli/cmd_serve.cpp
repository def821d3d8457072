// `moodtunes serve`: the HTTP server (src/server) in the same binary. This file parses the
// flags (each also from a MOODTUNES_* environment variable), refuses an unsafe setup, prints
// the one line a launcher parses ("moodtunes serving on http://HOST:PORT/") and serves until
// SIGINT or SIGTERM (exit 0).
//
// Exit codes: 0 stopped by a signal; 1 the model cannot be loaded or the port not bound; 2 bad
// command line, or a host other machines can reach without --api-key.
#include "cli/commands.hpp"

#if MOODTUNES_WITH_SERVER
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "app/recommend.hpp"
#include "server/server.hpp"

namespace moodtunes::cli {

namespace {

struct ServeArgs {
  server::ServerOptions options;
  std::string catalog;
  bool no_learning = false;
};

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
}

void run_serve(ServeArgs& a) {
  server::ServerOptions& o = a.options;
  if (!server::is_loopback(o.host) && o.api_key.empty())
    throw CliExit(kExitUsage, "refusing to serve on " + o.host +
                                  " without an API key: other machines could use this server. Give --api-key KEY "
                                  "(or MOODTUNES_API_KEY), or serve on 127.0.0.1");
  o.catalog = app::catalog_file(a.catalog);
  o.learning = !a.no_learning;
  // Signals are taken by sigwait() below: block them before any thread starts, so every thread
  // the server creates inherits the mask and none of them is interrupted.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  server::Server srv(o);
  const int port = srv.bind();
  fmt::print("moodtunes serving on http://{}:{}/\n", url_host(o.host).c_str(), port);
  std::fflush(stdout);

  std::atomic<bool> stopping{false}, failed{false};
  std::thread serving([&] {
    srv.run();
    if (!stopping) {  // the accept loop ended on its own: wake the waiting thread below
      failed = true;
      ::kill(::getpid(), SIGTERM);
    }
  });
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  stopping = true;
  if (!failed) spdlog::info("stopping ({})", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  srv.stop();
  serving.join();
  if (failed) throw CliExit(kExitError, "the server stopped unexpectedly");
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto& o = a->options;
  o.threads = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 8);
  auto* cmd = app.add_subcommand("serve", "HTTP server: the web page, and a JSON API to analyse photos and live frames, "
                                          "recommend music and take feedback (see /api/openapi.json)");
  cmd->add_option("--host", o.host, "Address to listen on; other than loopback needs --api-key")
      ->envname("MOODTUNES_HOST")->capture_default_str();
  cmd->add_option("--port", o.port, "Port (0: any free port; the first line of output names it)")
      ->envname("MOODTUNES_PORT")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--api-key", o.api_key, "Key the API asks for (Authorization: Bearer KEY or X-API-Key); "
                                          "prefer MOODTUNES_API_KEY, which other users cannot see")
      ->envname("MOODTUNES_API_KEY");
  cmd->add_option("--threads", o.threads, "Images analysed at once (one classifier each; default: the cores, at most 8)")
      ->envname("MOODTUNES_THREADS")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("-m,--model", o.model, model_option_help())->envname("MOODTUNES_MODEL");
  cmd->add_option("--catalog", a->catalog, "Catalog file (default $MOODTUNES_CATALOG or ~/.local/share/moodtunes/catalog.sqlite); "
                                           "feedback goes to listeners.sqlite beside it")
      ->envname("MOODTUNES_CATALOG");
  cmd->add_option("--cors", o.cors_origin, "Allow this one origin (e.g. https://example.org) to call the API from a browser")
      ->envname("MOODTUNES_CORS");
  cmd->add_option("--max-streams", o.max_streams, "Live streams open at once")
      ->envname("MOODTUNES_MAX_STREAMS")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--max-body", o.max_body, "Largest request body in bytes (suffixes KiB, MiB allowed)")
      ->envname("MOODTUNES_MAX_BODY")->capture_default_str()->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30));
  cmd->add_flag("--no-learning", a->no_learning,
                "Recommend to a \"listener\" as to anyone (feedback is still stored)")
      ->envname("MOODTUNES_NO_LEARNING");
  add_db_option(cmd, o.db);
  cmd->add_flag("--offline", o.offline, "No covers or previews from Deezer/Spotify (no network)")->envname("MOODTUNES_OFFLINE");
  cmd->add_option("--web-root", o.web_root, "Serve the page from this folder instead of the copy built in (developing web/)")
      ->envname("MOODTUNES_WEB_ROOT")->check(CLI::ExistingDirectory);
  cmd->add_option("--io-timeout", o.io_timeout_s, "Seconds a client may take to send or receive")
      ->envname("MOODTUNES_IO_TIMEOUT")->capture_default_str()->check(CLI::Range(1, 600));
  cmd->add_option("--stream-idle-timeout", o.stream_idle_timeout_s, "Seconds after which an unused live stream is closed")
      ->envname("MOODTUNES_STREAM_IDLE_TIMEOUT")->capture_default_str()->check(CLI::Range(1, 3600));
  cmd->callback([a] { run_serve(*a); });
}

}  // namespace moodtunes::cli

#else

namespace moodtunes::cli {

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "HTTP server (unavailable: built without the vision or server library)");
  cmd->allow_extras();
  cmd->callback([] { throw CliExit(kExitError, "this build has no server: it needs OpenCV, dlib and cpp-httplib"); });
}

}  // namespace moodtunes::cli

#endif
