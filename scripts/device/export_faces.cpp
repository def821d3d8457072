// Writes a labelled face folder (<root>/<class>/*) as the 48x48 gray faces the trainer's loader
// makes of it (load_fer_folder: decoded gray, resized with the project's to_face_gray), one PNG
// each (lossless) under OUT/<class>/<name>.png. Read back, each PNG is already 48x48, so the
// loader keeps it as is: a run on the export sees exactly the tensors a run on the photos sees,
// in the same order (same names, same classes). Class folders that are not one of the seven
// emotions (realfaces' contempt) are left out and named on stderr.
// Built and run by scripts/device/pack.sh, which packs realfaces this way because its photos do
// not fit the device's transfer limit as JPEGs.
//
// usage: export_faces ROOT OUT
#include <cstdio>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "core/emotion.hpp"
#include "data/fer_dataset.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: export_faces ROOT OUT\n");
    return 2;
  }
  try {
    moodtunes::FerLoadOptions options;
    options.skip_unknown_classes = true;
    const auto ds = moodtunes::load_fer_folder(argv[1], options);
    const fs::path out = argv[2];
    for (std::size_t i = 0; i < ds.size(); ++i) {
      const fs::path dir = out / std::string(moodtunes::kEmotionNames[ds.labels[i]]);
      fs::create_directories(dir);
      const fs::path file = dir / fs::path(ds.sources[i]).filename().replace_extension(".png");
      if (fs::exists(file)) throw std::runtime_error("two images export to " + file.string());
      if (!cv::imwrite(file.string(), ds.images[i])) throw std::runtime_error("cannot write " + file.string());
    }
    for (const auto& s : ds.skipped) std::fprintf(stderr, "export_faces: %s: left out (%s)\n", argv[1], s.c_str());
    std::fprintf(stderr, "export_faces: %s: %zu faces (%s), %zu resized to 48x48\n", argv[1], ds.size(),
                 ds.counts_summary().c_str(), ds.resized);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "export_faces: %s\n", e.what());
    return 1;
  }
  return 0;
}
