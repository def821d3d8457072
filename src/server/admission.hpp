// Admission control for analysis work (decoding and reading faces): at most `workers` requests
// analyse at once, at most `max_waiting` more wait for a turn, and anything beyond is refused at
// once, so a burst costs bounded memory and bounded latency instead of a growing queue.
//
// enter(): a Permit when a worker slot is free, or after waiting at most `max_wait` in the
// bounded queue; nullopt when the queue is full or the wait ran out (the caller answers 503 with
// Retry-After). A Permit frees its slot when destroyed.
// Thread-safety: all members may be called from any thread; the gate must outlive its Permits.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>

namespace moodtunes::server {

class AdmissionGate {
 public:
  AdmissionGate(std::size_t workers, std::size_t max_waiting) : workers_(workers), max_waiting_(max_waiting) {}
  AdmissionGate(const AdmissionGate&) = delete;
  AdmissionGate& operator=(const AdmissionGate&) = delete;

  class Permit {
   public:
    Permit(Permit&& o) noexcept : gate_(o.gate_) { o.gate_ = nullptr; }
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    Permit& operator=(Permit&&) = delete;
    ~Permit() {
      if (gate_) gate_->leave();
    }

   private:
    friend class AdmissionGate;
    explicit Permit(AdmissionGate* gate) : gate_(gate) {}
    AdmissionGate* gate_;
  };

  std::optional<Permit> enter(std::chrono::milliseconds max_wait) {
    std::unique_lock lock(mu_);
    if (active_ < workers_ && waiting_ == 0) {
      ++active_;
      return Permit(this);
    }
    if (waiting_ >= max_waiting_) return std::nullopt;
    ++waiting_;
    const bool got = cv_.wait_for(lock, max_wait, [&] { return active_ < workers_; });
    --waiting_;
    if (!got) return std::nullopt;
    ++active_;
    return Permit(this);
  }

  std::size_t waiting() const {
    std::lock_guard lock(mu_);
    return waiting_;
  }
  std::size_t active() const {
    std::lock_guard lock(mu_);
    return active_;
  }

 private:
  void leave() {
    {
      std::lock_guard lock(mu_);
      --active_;
    }
    cv_.notify_one();
  }
  const std::size_t workers_, max_waiting_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::size_t active_ = 0, waiting_ = 0;
};

}  // namespace moodtunes::server
