// A real HTTP server on 127.0.0.1 (cpp-httplib) for provider tests: bound to a free port in the
// constructor (so requests queue in the backlog even before the accept loop runs), served on
// a thread, stopped in the destructor. Handlers run on server threads: guard shared state.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include "providers/http.hpp"

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

// A loopback port with nothing listening: bound (never listened) to get a free number, then
// closed, so connecting is refused at once.
inline int dead_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace moodtunes::test
