#include "data/fer_dataset.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "preprocess/preprocess.hpp"

namespace fs = std::filesystem;

namespace moodtunes {

std::array<std::size_t, kNumEmotions> FerDataset::class_counts() const {
  std::array<std::size_t, kNumEmotions> counts{};
  for (int label : labels) ++counts[static_cast<std::size_t>(label)];
  return counts;
}

std::string FerDataset::counts_summary() const {
  const auto counts = class_counts();
  std::ostringstream out;
  for (std::size_t i = 0; i < kNumEmotions; ++i)
    out << (i ? ", " : "") << kEmotionNames[i] << ' ' << counts[i];
  return out.str();
}

namespace {

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

void add_image(FerDataset& ds, cv::Mat gray, int label, std::string source) {
  if (gray.rows != kFaceSize || gray.cols != kFaceSize) {
    gray = to_face_gray(gray);
    ++ds.resized;
  }
  ds.images.push_back(std::move(gray));
  ds.labels.push_back(label);
  ds.sources.push_back(std::move(source));
}

}  // namespace

std::vector<LabelledFile> list_labelled_files(const fs::path& root, const FerLoadOptions& options,
                                              std::vector<std::string>* skipped) {
  std::error_code ec;
  if (!fs::exists(root, ec)) throw DatasetError("data folder not found: " + root.string());
  if (!fs::is_directory(root, ec)) throw DatasetError("not a folder: " + root.string());

  auto images_in = [](const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.is_regular_file() && is_image_file(entry.path())) files.push_back(entry.path());
    std::sort(files.begin(), files.end());  // deterministic order regardless of file system
    return files;
  };
  std::vector<fs::path> class_dirs;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    if (!emotion_from_name(name)) {
      if (options.skip_unknown_classes) {
        if (skipped) skipped->push_back(name + " (" + std::to_string(images_in(entry.path()).size()) + " images)");
        continue;
      }
      std::string expected;
      for (auto n : kEmotionNames) expected += std::string(expected.empty() ? "" : ", ") + std::string(n);
      throw DatasetError("unknown class folder '" + name + "' in " + root.string() +
                         " (expected: " + expected + ")");
    }
    class_dirs.push_back(entry.path());
  }
  if (class_dirs.empty())
    throw DatasetError("no class folders in " + root.string() +
                       " (expected <root>/<class>/*.jpg with classes angry, disgust, ...)");
  std::sort(class_dirs.begin(), class_dirs.end());
  if (skipped) std::sort(skipped->begin(), skipped->end());

  std::vector<LabelledFile> out;
  for (const auto& dir : class_dirs) {
    const int label = static_cast<int>(*emotion_from_name(dir.filename().string()));
    std::vector<fs::path> files = images_in(dir);
    if (options.max_per_class && files.size() > options.max_per_class) files.resize(options.max_per_class);
    for (auto& file : files) out.push_back({std::move(file), label});
  }
  if (out.empty()) throw DatasetError("no images found under " + root.string());
  return out;
}

std::string source_prefix(const fs::path& file) {
  const std::string name = file.filename().string();
  const auto cut = name.find('_');
  return cut == std::string::npos ? std::string() : name.substr(0, cut);
}

FerDataset load_fer_folder(const fs::path& root, const FerLoadOptions& options) {
  FerDataset ds;
  for (const auto& [file, label] : list_labelled_files(root, options, &ds.skipped)) {
    cv::Mat img = cv::imread(file.string(), cv::IMREAD_GRAYSCALE);
    if (img.empty()) throw DatasetError("unreadable or corrupt image: " + file.string());
    add_image(ds, std::move(img), label, file.string());
  }
  return ds;
}

FerDataset load_fer_csv(const fs::path& csv, const FerLoadOptions& options) {
  std::ifstream in(csv);
  if (!in) throw DatasetError("cannot open CSV: " + csv.string());
  std::string line;
  std::size_t line_no = 0;
  auto fail = [&](const std::string& why) {
    throw DatasetError(csv.string() + ":" + std::to_string(line_no) + ": " + why);
  };
  if (!std::getline(in, line)) throw DatasetError("empty CSV: " + csv.string());
  ++line_no;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.rfind("emotion,pixels", 0) != 0)
    fail("expected header 'emotion,pixels,Usage', got '" + line.substr(0, 60) + "'");

  FerDataset ds;
  std::array<std::size_t, kNumEmotions> taken{};
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto c1 = line.find(',');
    const auto c2 = c1 == std::string::npos ? std::string::npos : line.find(',', c1 + 1);
    if (c2 == std::string::npos) fail("expected 3 columns emotion,pixels,Usage");
    const std::string usage = line.substr(c2 + 1);
    if (usage != "Training" && usage != "PublicTest" && usage != "PrivateTest")
      fail("unknown Usage '" + usage + "'");
    int id = -1;
    try {
      std::size_t used = 0;
      id = std::stoi(line.substr(0, c1), &used);
      if (used != c1) id = -1;
    } catch (const std::exception&) {
    }
    const auto emotion = fer_csv_id_to_emotion(id);
    if (!emotion) fail("emotion must be an integer 0..6, got '" + line.substr(0, c1) + "'");
    if (usage != options.usage) continue;
    const auto label = static_cast<std::size_t>(*emotion);
    if (options.max_per_class && taken[label] >= options.max_per_class) continue;

    std::vector<unsigned char> pixels;
    pixels.reserve(kFaceSize * kFaceSize);
    std::istringstream px(line.substr(c1 + 1, c2 - c1 - 1));
    int v = 0;
    while (px >> v) {
      if (v < 0 || v > 255) fail("pixel value out of range 0..255: " + std::to_string(v));
      pixels.push_back(static_cast<unsigned char>(v));
    }
    if (!px.eof()) fail("pixels must be space-separated integers");
    const auto n = pixels.size();
    const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(n))));
    if (n == 0 || static_cast<std::size_t>(side) * static_cast<std::size_t>(side) != n)
      fail("pixels must form a square image, got " + std::to_string(n) + " values");
    cv::Mat img(side, side, CV_8UC1, pixels.data());
    add_image(ds, img.clone(), static_cast<int>(label), csv.filename().string() + ":" + std::to_string(line_no));
    ++taken[label];
  }
  if (ds.size() == 0) throw DatasetError("no rows with Usage=" + options.usage + " in " + csv.string());
  return ds;
}

FerDataset load_fer(const fs::path& path, const FerLoadOptions& options) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return load_fer_csv(path, options);
  return load_fer_folder(path, options);
}

fs::path resolve_data_path(const std::string& explicit_path, const std::string& relative) {
  if (!explicit_path.empty()) return explicit_path;
  if (const char* root = std::getenv("MOODTUNES_DATA"); root && *root) return fs::path(root) / relative;
  throw DatasetError("no data path given: pass it as an argument or set MOODTUNES_DATA to the folder "
                     "holding " + relative);
}

}  // namespace moodtunes
