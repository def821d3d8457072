#include "core/pause_clock.hpp"

namespace moodtunes {

PauseClock::PauseClock(std::chrono::milliseconds tick, std::chrono::milliseconds stall)
    : tick_(tick), stall_(stall), watcher_([this] { watch(); }) {}

PauseClock::~PauseClock() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  watcher_.join();
}

void PauseClock::watch() {
  using clock = std::chrono::steady_clock;
  std::unique_lock lock(mutex_);
  auto last = clock::now();
  while (!wake_.wait_for(lock, tick_, [this] { return stop_; })) {
    const auto now = clock::now();
    const auto late = (now - last) - tick_;
    if (late > stall_) paused_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(late).count();
    last = now;
  }
}

}  // namespace moodtunes
