#include "app/model_path.hpp"

#include <cstdlib>
#include <filesystem>

namespace moodtunes::app {

std::string model_path(const std::string& given) {
  std::string name = given;
  if (name.empty()) {
    const char* env = std::getenv("MOODTUNES_MODEL");
    name = env && *env ? env : "accurate";
  }
  const char* file = name == "accurate" ? "moodtunes-fer.mtm" : name == "fast" ? "moodtunes-fer-fast.mtm" : nullptr;
  if (file == nullptr) return name;
  const std::filesystem::path shipped = std::filesystem::path(MOODTUNES_SOURCE_DIR) / "models" / file;
  if (std::filesystem::exists(shipped)) return shipped.string();
  return (std::filesystem::path("models") / file).string();
}

}  // namespace moodtunes::app
