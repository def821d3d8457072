// PauseClock against a real suspension: a child process runs the clock, the test stops it with
// SIGSTOP for 3 s, and the child must report that pause (and no pause while merely busy).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "train/pause_clock.hpp"

namespace {

using namespace std::chrono_literals;

// Runs a PauseClock in a forked child for `run` of wall time, spinning the CPU the whole time; the
// parent suspends it for `pause` (if non-zero) from 0.4 s on. A pause that outlasts the run makes
// the child read its clock right after waking, before the watcher has woken: the reader must
// count that pause itself. Returns the child's paused_seconds().
double paused_seconds_in_child(std::chrono::milliseconds run, std::chrono::milliseconds pause) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  const pid_t child = fork();
  if (child < 0) {  // never signal pid -1 (every process we may signal)
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (child == 0) {
    close(fds[0]);
    double paused = 0;
    {
      moodtunes::PauseClock clock(50ms, 500ms);
      const auto end = std::chrono::steady_clock::now() + run;
      volatile double sink = 0;
      while (std::chrono::steady_clock::now() < end) sink = sink + 1;  // busy, as a training step is
      paused = clock.paused_seconds();
    }
    const ssize_t written = write(fds[1], &paused, sizeof paused);
    _exit(written == sizeof paused ? 0 : 1);
  }
  close(fds[1]);
  if (pause.count() > 0) {
    std::this_thread::sleep_for(400ms);
    kill(child, SIGSTOP);
    std::this_thread::sleep_for(pause);
    kill(child, SIGCONT);
  }
  double paused = -1;
  if (read(fds[0], &paused, sizeof paused) != sizeof paused) paused = -1;
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  return paused;
}

}  // namespace

TEST(PauseClock, CountsASuspensionAndNotBusyTime) {
  // The child's own clock runs 1.2 s of work; wall time is ~4.2 s with the 3 s stop.
  const double paused = paused_seconds_in_child(1200ms, 3000ms);
  EXPECT_GT(paused, 2.7);
  EXPECT_LT(paused, 3.3);
  EXPECT_EQ(paused_seconds_in_child(1200ms, 0ms), 0.0);
}

TEST(PauseClock, StopsPromptly) {
  const auto start = std::chrono::steady_clock::now();
  { moodtunes::PauseClock clock(std::chrono::milliseconds(200), std::chrono::milliseconds(2000)); }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
}
