// Wall-clock timing shared by the benchmark programs: one clock and one way to read it in ms.
// Header-only; thread-safe (steady_clock is).
#pragma once

#include <chrono>

namespace moodtunes::bench {

using Clock = std::chrono::steady_clock;

// Milliseconds from t0 to now.
inline double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

}  // namespace moodtunes::bench
