// libFuzzer target: load_ensemble_file() (magic, header length, JSON header, architecture,
// tensor table, tensor data) on any bytes written to a scratch file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "model/model_file.hpp"

using namespace moodtunes;
namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path file = [] {
    const fs::path dir = fs::temp_directory_path() / ("moodtunes-fuzz-model-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / "model.mtm";
  }();
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const ModelEnsemble e = load_ensemble_file(file);
    if (e.members.empty()) std::abort();
    for (const auto& m : e.members)
      for (const auto& t : m.tensors) {
        std::size_t n = 1;
        for (int d : t.shape) n *= static_cast<std::size_t>(d);
        if (n != t.data.size()) std::abort();  // every tensor holds what its shape says
      }
  } catch (const ModelError&) {
  }
  return 0;
}
