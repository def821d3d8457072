#include "app/model_path.hpp"

#include <array>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <utility>

namespace moodtunes::app {

namespace {

// Name -> file under models/; the first is the default.
constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kShippedModels = {
    {{"accurate", "moodtunes-fer.mtm"}, {"fast", "moodtunes-fer-fast.mtm"}, {"real", "moodtunes-fer-real.mtm"}}};

std::string selected(const std::string& given) {
  if (!given.empty()) return given;
  const char* env = std::getenv("MOODTUNES_MODEL");
  return env && *env ? env : std::string(kShippedModels.front().first);
}

const std::string_view* shipped_file(const std::string& name) {
  for (const auto& [shipped, file] : kShippedModels)
    if (name == shipped) return &file;
  return nullptr;
}

}  // namespace

std::string model_path(const std::string& given) {
  std::string name = selected(given);
  const std::string_view* file = shipped_file(name);
  if (file == nullptr) return name;
  const std::filesystem::path shipped = std::filesystem::path(MOODTUNES_SOURCE_DIR) / "models" / *file;
  if (std::filesystem::exists(shipped)) return shipped.string();
  return (std::filesystem::path("models") / *file).string();
}

std::string model_display_name(const std::string& given) {
  std::string name = selected(given);
  if (shipped_file(name) != nullptr) return name;
  return std::filesystem::path(name).filename().string();
}

std::string model_option_help() {
  std::string names;
  for (const auto& shipped : kShippedModels) names += (names.empty() ? "" : " | ") + std::string(shipped.first);
  return "Emotion model: a .mtm file, or a shipped one by name: " + names + "; default: $MOODTUNES_MODEL or " +
         std::string(kShippedModels.front().first);
}

}  // namespace moodtunes::app
