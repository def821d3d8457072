// `moodtunes serve` as a child process, for the server tests and bench_server: the real binary
// started on 127.0.0.1 with --port 0 (its first output line names the port), its stdout and
// stderr captured in files under a given folder, stopped with SIGTERM (SIGKILL after 20 s) when
// the object goes away. No test framework here, so benchmarks include it too; the tests' own
// helpers are tests/server/server_process.hpp.
// Needs MOODTUNES_BINARY defined (the default binary) and cpp-httplib for client().
// Thread-safety: construct, stop and destroy on one thread; client() and output() may be
// called from any thread.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>

namespace moodtunes::test {

namespace fs = std::filesystem;

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class ServerProcess {
 public:
  // `args` after "serve"; --host 127.0.0.1 --port 0 are added. `env` is added to (or replaces
  // variables of) this process's environment; `cwd` empty: this process's folder. `binary`: the
  // moodtunes executable (default: the one this build made).
  ServerProcess(std::vector<std::string> args, const fs::path& log_dir, std::map<std::string, std::string> env = {},
                const fs::path& cwd = {}, std::string binary = MOODTUNES_BINARY)
      : out_(log_dir / "server.out"), err_(log_dir / "server.err") {
    std::vector<std::string> argv_s = {std::move(binary), "serve", "--host", "127.0.0.1", "--port", "0"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::map<std::string, std::string> vars;
    for (char** e = environ; *e; ++e) {
      const std::string kv = *e;
      const auto eq = kv.find('=');
      if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (auto& [k, v] : env) vars[k] = v;
    std::vector<std::string> env_s;
    for (auto& [k, v] : vars) env_s.push_back(k + "=" + v);
    // Everything the child needs is built before fork(): after it, only exec-safe calls.
    std::vector<char*> argv, envp;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env_s) envp.push_back(s.data());
    envp.push_back(nullptr);
    const std::string out = out_.string(), err = err_.string(), dir = cwd.string();
    // A previous server's files would show its address before this one has written its own.
    std::error_code ec;
    fs::remove(out_, ec);
    fs::remove(err_, ec);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      if (!dir.empty() && ::chdir(dir.c_str()) != 0) ::_exit(126);
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (o < 0 || e < 0) ::_exit(126);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    const std::regex line(R"(moodtunes serving on http://127\.0\.0\.1:(\d+)/)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      const std::string text = read_text(out_);
      if (std::regex_search(text, m, line)) {
        port_ = std::stoi(m[1].str());
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        throw std::runtime_error("the server exited (" + std::to_string(exit_code_) + ") before serving:\n" + output());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("the server did not print its address within 120 s:\n" + output());
  }
  ~ServerProcess() { stop(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }  // -1 once it has exited or been stopped
  std::unique_ptr<httplib::Client> client(int timeout_s = 60) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_read_timeout(timeout_s, 0);
    c->set_write_timeout(timeout_s, 0);
    c->set_connection_timeout(5, 0);
    return c;
  }
  // stdout, then stderr, as captured so far.
  std::string output() const { return read_text(out_) + read_text(err_); }
  std::string standard_output() const { return read_text(out_); }

  // SIGKILL, as when a machine or process dies: no shutdown code runs.
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_code_ = -1;
  }

  // SIGTERM, then the exit status (SIGKILL after 20 s: -1).
  int stop() {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return exit_code_ = -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    return exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  fs::path out_, err_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
};

}  // namespace moodtunes::test
