// The trainer's random streams: every shuffle, augmentation, dropout and sampling stream is
// seeded by mix_seed(run seed, counter), so a run is a function of its seed and resuming replays
// it. Header-only, pure, thread-safe.
#pragma once

#include <cstdint>

namespace moodtunes {

// SplitMix64: turns (seed, counter) into independent, well-mixed stream seeds.
constexpr std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t counter) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (counter + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace moodtunes
