#include "listeners/event.hpp"

namespace moodtunes::listeners {

namespace {
constexpr std::string_view kNames[] = {"like", "skip", "dislike", "reaction"};
}

std::optional<Signal> parse_signal(std::string_view name) {
  for (int i = 0; i < 4; ++i)
    if (kNames[i] == name) return static_cast<Signal>(i);
  return std::nullopt;
}

std::string_view signal_name(Signal s) { return kNames[static_cast<int>(s)]; }

}  // namespace moodtunes::listeners
