// FER-2013 loading: the folder layout <root>/<class>/*.{jpg,jpeg,png,bmp} and the original
// fer2013.csv (emotion,pixels,Usage).
//
// Contract: load_fer() returns every image as 8-bit gray kFaceSize x kFaceSize with its label.
// Images of another size are resized (counted in `resized`, and reported). Any problem — a
// missing root, an unknown class folder, an unreadable image, a malformed CSV row (with its
// line number), an empty split — throws DatasetError with a message a user can act on.
// Functions are reentrant; the returned FerDataset is a plain value.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/emotion.hpp"

namespace moodtunes {

class DatasetError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FerDataset {
  std::vector<cv::Mat> images;  // CV_8UC1, kFaceSize x kFaceSize
  std::vector<int> labels;      // index into kEmotionNames
  std::vector<std::string> sources;  // file path or "fer2013.csv:LINE"
  std::size_t resized = 0;
  // Class folders left out by FerLoadOptions::skip_unknown_classes, as "contempt (140 images)".
  std::vector<std::string> skipped;

  std::size_t size() const { return images.size(); }
  std::array<std::size_t, kNumEmotions> class_counts() const;
  // "angry 3995, disgust 436, ..." for logs.
  std::string counts_summary() const;
};

struct FerLoadOptions {
  // For fer2013.csv: which Usage rows to keep (Training, PublicTest or PrivateTest).
  std::string usage = "PublicTest";
  // Keep at most this many images per class (0 = all); for quick tests.
  std::size_t max_per_class = 0;
  // Folder layout: leave out class folders that are not one of the 7 emotions (realfaces' optional
  // `contempt`) and list them in FerDataset::skipped, instead of refusing the folder.
  bool skip_unknown_classes = false;
};

// One labelled image of a folder layout, not yet decoded.
struct LabelledFile {
  std::filesystem::path path;
  int label = 0;  // index into kEmotionNames
};

// The image files of a folder layout, sorted by class then name (the order load_fer_folder
// loads them in), with the same checks and errors; `skipped` (optional) receives the class
// folders left out by options.skip_unknown_classes.
std::vector<LabelledFile> list_labelled_files(const std::filesystem::path& root, const FerLoadOptions& options = {},
                                              std::vector<std::string>* skipped = nullptr);

// The source of a file: its name up to the first '_' ("web", "lfw", "Training", "PublicTest"),
// or "" when the name has none. realfaces names its two sources this way.
std::string source_prefix(const std::filesystem::path& file);

// `path` is a folder in the class layout or a .csv file in the fer2013.csv format.
FerDataset load_fer(const std::filesystem::path& path, const FerLoadOptions& options = {});

FerDataset load_fer_folder(const std::filesystem::path& root, const FerLoadOptions& options = {});
FerDataset load_fer_csv(const std::filesystem::path& csv, const FerLoadOptions& options = {});

// Resolve a data path: an explicit value wins, then $MOODTUNES_DATA/<relative>, else throws
// with a hint naming the flag and the variable.
std::filesystem::path resolve_data_path(const std::string& explicit_path, const std::string& relative);

}  // namespace moodtunes
