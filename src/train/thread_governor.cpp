#include "train/thread_governor.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include <torch/torch.h>

namespace moodtunes {

ThreadGovernor::ThreadGovernor(int fixed) : fixed_(fixed), cores_(std::max(1u, std::thread::hardware_concurrency())) {
  current_ = fixed_ > 0 ? fixed_ : static_cast<int>(cores_);
  torch::set_num_threads(current_);
  sample(last_total_, last_busy_, last_self_);
}

void ThreadGovernor::update() {
  if (fixed_ > 0 || cores_ < 2) return;
  long long total = 0, busy = 0, self = 0;
  sample(total, busy, self);
  const long long d_total = total - last_total_;
  if (d_total <= 0) return;
  // /proc/stat sums all cores; convert the non-self busy share into "cores in use".
  const double others = double((busy - last_busy_) - (self - last_self_)) / double(d_total) * cores_;
  last_total_ = total, last_busy_ = busy, last_self_ = self;
  const int want = others > 0.4 ? 1 : static_cast<int>(cores_);
  if (want != current_) {
    current_ = want;
    torch::set_num_threads(current_);
  }
}

void ThreadGovernor::sample(long long& total, long long& busy, long long& self) {
  total = busy = self = 0;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  long long v[8] = {};
  stat >> cpu >> v[0] >> v[1] >> v[2] >> v[3] >> v[4] >> v[5] >> v[6] >> v[7];
  for (long long x : v) total += x;
  busy = total - v[3] - v[4];
  std::ifstream me("/proc/self/stat");
  std::string field;
  for (int i = 1; i <= 15 && me >> field; ++i)
    if (i == 14 || i == 15) self += std::atoll(field.c_str());
}

}  // namespace moodtunes
