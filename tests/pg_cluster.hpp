// A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temporary folder, a
// server on a free port of 127.0.0.1 (trust authentication, user "moodtunes"), stopped and
// removed at the end. PostgreSQL refuses to run as root, so under root the cluster's files
// belong to, and its server runs as, the unprivileged user "nobody" (runuser).
// The binaries come from Debian's postgresql-15 (/usr/lib/postgresql/<version>/bin), which
// scripts/install-deps.sh installs; without them the constructor throws, and the tests fail.
#pragma once

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace moodtunes::test {

class PgCluster {
 public:
  // Creates and starts a cluster under `dir` (which must exist and stay until the destructor).
  explicit PgCluster(const std::filesystem::path& dir) : root_(dir / "pg") {
    bin_ = find_bin();
    std::filesystem::create_directories(root_);
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("nobody");
      if (!pw) throw std::runtime_error("PgCluster: no user 'nobody' to run PostgreSQL as");
      if (::chown(root_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("PgCluster: chown failed");
      as_ = "runuser -u nobody -- ";
    }
    port_ = free_loopback_port();
    int rc = 0;
    const std::string out = run_shell(as_ + q(bin_ / "initdb") + " -D " + q(data()) +
                                          " -U moodtunes --auth=trust -E UTF8 --no-sync --no-instructions 2>&1",
                                      &rc);
    if (rc != 0) throw std::runtime_error("PgCluster: initdb failed: " + out);
    start();
  }
  ~PgCluster() {
    if (running_) run_shell(as_ + q(bin_ / "pg_ctl") + " -D " + q(data()) + " -m immediate -w stop >/dev/null 2>&1");
  }
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  void start() {
    int rc = 0;
    const std::string opts = "-p " + std::to_string(port_) + " -k " + root_.string() +
                             " -c listen_addresses=127.0.0.1 -c max_connections=100";
    const std::string out = run_shell(as_ + q(bin_ / "pg_ctl") + " -D " + q(data()) + " -l " + q(root_ / "server.log") +
                                          " -w -t 60 -o " + q(opts) + " start 2>&1",
                                      &rc);
    if (rc != 0) throw std::runtime_error("PgCluster: the server did not start: " + out + log());
    running_ = true;
  }
  // A fast shutdown: open connections are closed, as when a database server goes away.
  void stop() {
    run_shell(as_ + q(bin_ / "pg_ctl") + " -D " + q(data()) + " -m fast -w stop >/dev/null 2>&1");
    running_ = false;
  }

  int port() const { return port_; }
  // A URI for database `db` (created with create_database(), or "postgres").
  std::string url(const std::string& db = "postgres") const {
    return "postgresql://moodtunes@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }
  // A new, empty database with a unique name; returns its URI.
  std::string create_database() {
    static std::atomic<int> n{0};
    const std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++n);
    int rc = 0;
    const std::string out = sql("postgres", "CREATE DATABASE " + name, &rc);
    if (rc != 0) throw std::runtime_error("PgCluster: CREATE DATABASE failed: " + out);
    return url(name);
  }
  // Runs one SQL statement with psql and returns its unaligned output (trailing newline cut).
  std::string sql(const std::string& db, const std::string& statement, int* exit_code = nullptr) const {
    std::string out = run_shell(q(bin_ / "psql") + " -X -q -tA -h 127.0.0.1 -p " + std::to_string(port_) +
                                    " -U moodtunes -d " + db + " -c " + q(statement) + " 2>&1",
                                exit_code);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }
  std::string log() const {
    std::ifstream in(root_ / "server.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::filesystem::path data() const { return root_ / "data"; }
  static std::string q(const std::filesystem::path& p) { return q(p.string()); }
  static std::string q(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  }
  static std::filesystem::path find_bin() {
    std::vector<std::filesystem::path> found;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec))
      if (std::filesystem::exists(e.path() / "bin/initdb")) found.push_back(e.path() / "bin");
    if (found.empty())
      throw std::runtime_error("PgCluster: no PostgreSQL server binaries under /usr/lib/postgresql (Debian: postgresql-15)");
    std::sort(found.begin(), found.end());
    return found.back();
  }

  std::filesystem::path root_, bin_;
  std::string as_;
  int port_ = 0;
  bool running_ = false;
};

}  // namespace moodtunes::test
