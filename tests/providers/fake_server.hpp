// A real HTTP server on 127.0.0.1 (cpp-httplib) for provider tests: bound to a free port in the
// constructor (so requests queue in the backlog even before the accept loop runs), served on
// a thread, stopped in the destructor. Handlers run on server threads: guard shared state.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include <unistd.h>

#include <httplib.h>

#include "providers/http.hpp"
#include "test_util.hpp"

namespace moodtunes::test {

class FakeServer {
 public:
  FakeServer() {
    port_ = server.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("cannot bind a loopback port");
  }
  ~FakeServer() {
    // stop() is a no-op until the accept loop runs (httplib): wait for it, else join hangs.
    for (int i = 0; i < 2000 && thread_.joinable() && !server.is_running() && !exited_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server.stop();
    if (thread_.joinable()) thread_.join();
  }
  void start() {
    thread_ = std::thread([this] {
      server.listen_after_bind();
      exited_ = true;
    });
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  httplib::Server server;

 private:
  int port_ = 0;
  std::atomic<bool> exited_{false};
  std::thread thread_;
};

// GET request for `url` (designated initialisers would trip -Wmissing-field-initializers).
inline moodtunes::providers::HttpRequest get(std::string url) {
  moodtunes::providers::HttpRequest r;
  r.url = std::move(url);
  return r;
}
inline moodtunes::providers::HttpRequest with_header(moodtunes::providers::HttpRequest r, std::string k, std::string v) {
  r.headers.emplace_back(std::move(k), std::move(v));
  return r;
}

}  // namespace moodtunes::test
