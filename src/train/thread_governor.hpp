// ThreadGovernor: picks LibTorch's intra-op thread count for training from what else runs on the
// machine. With two threads and another busy process, LibTorch training on a small machine slows
// about 4x, so it backs off to one thread while others use more than 0.4 of a core, and takes all
// cores back when they stop.
//
// Input: a fixed count (> 0: always that many) or 0 (adapt). update() samples /proc/stat and
// /proc/self/stat (this process's share is left out) since the last call; call it every few
// steps. Output: threads(), the count set with torch::set_num_threads().
// Not thread-safe: one per trainer, used from the training thread. Header free of LibTorch.
#pragma once

namespace moodtunes {

class ThreadGovernor {
 public:
  // Sets the thread count at once: `fixed`, or all cores when adapting.
  explicit ThreadGovernor(int fixed);
  int threads() const { return current_; }
  void update();

 private:
  static void sample(long long& total, long long& busy, long long& self);
  int fixed_;
  unsigned cores_;
  int current_ = 1;
  long long last_total_ = 0, last_busy_ = 0, last_self_ = 0;
};

}  // namespace moodtunes
