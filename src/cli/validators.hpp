// Command-line value checks shared by the subcommands, so a value the program cannot honour is a
// usage error (exit 2) with a message, never silently changed: CLI11 alone would wrap "-1" or
// "1e23" into an unsigned seed, and its Range lets NaN through.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace moodtunes::cli {

// The whole of `text` as a T (digits only for integers), or false.
template <typename T>
bool parse_whole(const std::string& text, T& value) {
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return !text.empty() && ec == std::errc() && ptr == end;
}

// A seed: a whole number 0 .. 2^64-1, written in digits.
inline CLI::Validator seed_check() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::uint64_t value = 0;
        if (!parse_whole(text, value))
          return "a seed is a whole number from 0 to 18446744073709551615, not '" + text + "'";
        return {};
      },
      "SEED");
}

// A finite number in [lo, hi].
inline CLI::Validator finite_range(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        double value = 0;
        if (!parse_whole(text, value) || !std::isfinite(value) || value < lo || value > hi)
          return "'" + text + "' is not a number in [" + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]";
        return {};
      },
      "[" + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]");
}

// A finite number above zero.
inline CLI::Validator positive_seconds() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double value = 0;
        if (!parse_whole(text, value) || !std::isfinite(value) || value <= 0)
          return "seconds must be a number above 0, not '" + text + "'";
        return {};
      },
      "SECONDS");
}

}  // namespace moodtunes::cli
