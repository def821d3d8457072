#include "train/pause_clock.hpp"

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

std::chrono::nanoseconds PauseClock::late_beyond_stall(std::chrono::steady_clock::time_point now) const {
  const auto late = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_wake_) - tick_;
  return late > stall_ ? late : std::chrono::nanoseconds(0);
}

double PauseClock::paused_seconds() const {
  std::lock_guard lock(mutex_);
  return std::chrono::duration<double>(paused_ + late_beyond_stall(std::chrono::steady_clock::now())).count();
}

void PauseClock::watch() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, tick_, [this] { return stop_; })) {
    const auto now = std::chrono::steady_clock::now();
    paused_ += late_beyond_stall(now);
    last_wake_ = now;
  }
}

}  // namespace moodtunes
