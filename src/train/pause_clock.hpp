// PauseClock: how long this process was suspended (SIGSTOP, Ctrl-Z, a paused VM), so that the
// trainer's time figures (epoch_seconds, images/s) count only the time it could run.
//
// A watcher thread wakes every `tick`. A wake-up later than `tick + stall` means no thread of the
// process ran for that long, and the lateness beyond `tick` is counted as paused. A busy machine
// delays a wake-up by milliseconds, far under `stall`, so load is not mistaken for a pause.
// A reader that runs right after a pause, before the watcher's late wake-up, counts the pending
// lateness itself, so a pause ending just before a reading is not missed.
//
// Contract:
//   ensures: paused_seconds() is non-decreasing; a suspension shorter than `stall` is not counted,
//            a longer one is counted to within about `tick`.
// Thread-safety: paused_seconds() may be called from any thread. The destructor stops and joins
// the watcher (within one tick). Not copyable or movable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace moodtunes {

class PauseClock {
 public:
  explicit PauseClock(std::chrono::milliseconds tick = std::chrono::milliseconds(200),
                      std::chrono::milliseconds stall = std::chrono::milliseconds(2000));
  ~PauseClock();
  PauseClock(const PauseClock&) = delete;
  PauseClock& operator=(const PauseClock&) = delete;

  double paused_seconds() const;

 private:
  void watch();
  // Lateness of the watcher's next wake-up as of `now`, if it exceeds stall_; needs mutex_.
  std::chrono::nanoseconds late_beyond_stall(std::chrono::steady_clock::time_point now) const;

  const std::chrono::nanoseconds tick_, stall_;
  mutable std::mutex mutex_;
  std::chrono::nanoseconds paused_{0};
  std::chrono::steady_clock::time_point last_wake_ = std::chrono::steady_clock::now();
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread watcher_;
};

}  // namespace moodtunes
