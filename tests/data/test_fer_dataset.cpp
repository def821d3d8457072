#include <gtest/gtest.h>

#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "data/fer_dataset.hpp"
#include "test_util.hpp"

using namespace moodtunes;
using moodtunes::test::TempDir;

namespace {

void write_face(const std::filesystem::path& path, int size = 48, int value = 100) {
  std::filesystem::create_directories(path.parent_path());
  cv::Mat img(size, size, CV_8UC1, cv::Scalar(value));
  ASSERT_TRUE(cv::imwrite(path.string(), img));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DatasetError& e) {
    return e.what();
  }
  return "";
}

std::string pixels(int n, int value = 7) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i) s += ' ';
    s += std::to_string(value);
  }
  return s;
}

}  // namespace

TEST(FerFolder, LoadsClassesInModelOrderAndResizes) {
  TempDir dir;
  write_face(dir / "happy/a.jpg");
  write_face(dir / "happy/b.png");
  write_face(dir / "angry/c.jpg", 96);  // another size: resized and counted
  write_face(dir / "surprise/d.bmp");
  std::ofstream(dir / "happy/notes.txt") << "ignored";
  const FerDataset ds = load_fer(dir.path());
  ASSERT_EQ(ds.size(), 4u);
  EXPECT_EQ(ds.resized, 1u);
  const auto counts = ds.class_counts();
  EXPECT_EQ(counts[static_cast<int>(Emotion::kHappy)], 2u);
  EXPECT_EQ(counts[static_cast<int>(Emotion::kAngry)], 1u);
  EXPECT_EQ(counts[static_cast<int>(Emotion::kSurprise)], 1u);
  for (const auto& img : ds.images) {
    EXPECT_EQ(img.rows, 48);
    EXPECT_EQ(img.type(), CV_8UC1);
  }
  EXPECT_NE(ds.counts_summary().find("happy 2"), std::string::npos);
}

TEST(FerFolder, ClearErrors) {
  TempDir dir;
  EXPECT_NE(error_of([&] { load_fer(dir / "missing"); }).find("not found"), std::string::npos);
  EXPECT_NE(error_of([&] { load_fer(dir.path()); }).find("no class folders"), std::string::npos);

  write_face(dir / "happy/a.jpg");
  std::filesystem::create_directories(dir / "contempt");
  EXPECT_NE(error_of([&] { load_fer(dir.path()); }).find("unknown class folder 'contempt'"), std::string::npos);
  std::filesystem::remove_all(dir / "contempt");

  std::filesystem::create_directories(dir / "sad");
  std::ofstream(dir / "sad/broken.jpg") << "this is not a jpeg";
  EXPECT_NE(error_of([&] { load_fer(dir.path()); }).find("broken.jpg"), std::string::npos);
}

TEST(FerFolder, RealFacesLayoutLeavesOutUnknownClassesWhenAsked) {
  TempDir dir;
  write_face(dir / "happy/web_a.jpg", 224);
  write_face(dir / "happy/lfw_b.jpg", 350);
  write_face(dir / "sad/web_c.jpg", 224);
  write_face(dir / "contempt/web_d.jpg", 224);
  write_face(dir / "contempt/web_e.jpg", 224);
  EXPECT_NE(error_of([&] { load_fer(dir.path()); }).find("unknown class folder 'contempt'"), std::string::npos);
  const FerDataset ds = load_fer(dir.path(), {"PublicTest", 0, /*skip_unknown_classes=*/true});
  ASSERT_EQ(ds.size(), 3u);
  EXPECT_EQ(ds.resized, 3u);
  ASSERT_EQ(ds.skipped, std::vector<std::string>{"contempt (2 images)"});

  std::vector<std::string> skipped;
  const auto files = list_labelled_files(dir.path(), {"PublicTest", 0, true}, &skipped);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(skipped, ds.skipped);
  for (std::size_t i = 0; i < files.size(); ++i) {  // the order load_fer_folder loads in
    EXPECT_EQ(files[i].path.string(), ds.sources[i]);
    EXPECT_EQ(files[i].label, ds.labels[i]);
  }
  EXPECT_EQ(source_prefix(files[0].path), "lfw");
  EXPECT_EQ(source_prefix(dir / "happy/web_a.jpg"), "web");
  EXPECT_EQ(source_prefix("PublicTest_123.jpg"), "PublicTest");
  EXPECT_EQ(source_prefix("face.jpg"), "");
}

TEST(FerFolder, EmptySplitIsAnError) {
  TempDir dir;
  std::filesystem::create_directories(dir / "happy");
  EXPECT_NE(error_of([&] { load_fer(dir.path()); }).find("no images"), std::string::npos);
}

TEST(FerCsv, MapsCsvIdsAndFiltersUsage) {
  TempDir dir;
  {
    std::ofstream csv(dir / "fer2013.csv");
    csv << "emotion,pixels,Usage\n";
    csv << "4," << pixels(2304) << ",Training\n";   // sad
    csv << "6," << pixels(2304) << ",PublicTest\n"; // neutral
    csv << "3," << pixels(2304) << ",PublicTest\r\n"; // happy, Windows line ending
    csv << "0," << pixels(2304) << ",PrivateTest\n";
  }
  const FerDataset val = load_fer(dir / "fer2013.csv", {"PublicTest", 0});
  ASSERT_EQ(val.size(), 2u);
  EXPECT_EQ(val.labels[0], static_cast<int>(Emotion::kNeutral));
  EXPECT_EQ(val.labels[1], static_cast<int>(Emotion::kHappy));
  EXPECT_EQ(val.images[0].at<uchar>(10, 10), 7);
  const FerDataset train = load_fer(dir / "fer2013.csv", {"Training", 0});
  ASSERT_EQ(train.size(), 1u);
  EXPECT_EQ(train.labels[0], static_cast<int>(Emotion::kSad));
}

TEST(FerCsv, MalformedRowsReportTheirLineNumber) {
  struct Case {
    std::string row, expect;
  };
  const std::vector<Case> cases = {
      {"9," + pixels(2304) + ",Training", "fer2013.csv:3: emotion must be an integer 0..6"},
      {"x," + pixels(2304) + ",Training", "fer2013.csv:3: emotion must be"},
      {"1," + pixels(101) + ",Training", "fer2013.csv:3: pixels must form a square image, got 101"},
      {"1," + pixels(2304, 300) + ",Training", "fer2013.csv:3: pixel value out of range"},
      {"1,1 2 three 4,Training", "fer2013.csv:3: pixels must be space-separated integers"},
      {"1," + pixels(2304) + ",Holdout", "fer2013.csv:3: unknown Usage 'Holdout'"},
      {"1 " + pixels(2304), "fer2013.csv:3: expected 3 columns"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    {
      std::ofstream csv(dir / "fer2013.csv");
      csv << "emotion,pixels,Usage\n3," << pixels(2304) << ",Training\n" << c.row << "\n";
    }
    const std::string err = error_of([&] { load_fer(dir / "fer2013.csv", {"Training", 0}); });
    EXPECT_NE(err.find(c.expect), std::string::npos) << "row case '" << c.expect << "' gave: " << err;
  }
}

TEST(FerCsv, WrongHeaderAndMissingFile) {
  TempDir dir;
  std::ofstream(dir / "x.csv") << "label,image\n1,2\n";
  EXPECT_NE(error_of([&] { load_fer(dir / "x.csv"); }).find("expected header"), std::string::npos);
  std::ofstream(dir / "empty.csv") << "";
  EXPECT_NE(error_of([&] { load_fer(dir / "empty.csv"); }).find("empty CSV"), std::string::npos);
  std::ofstream(dir / "none.csv") << "emotion,pixels,Usage\n3," << pixels(2304) << ",Training\n";
  EXPECT_NE(error_of([&] { load_fer(dir / "none.csv", {"PrivateTest", 0}); }).find("no rows with Usage=PrivateTest"),
            std::string::npos);
}

TEST(FerRealData, LoadsTheSharedValidationSplit) {
  const auto val = moodtunes::test::data_dir() / "fer2013/val";
  if (!std::filesystem::exists(val)) GTEST_SKIP() << "shared data not present at " << val;
  const FerDataset ds = load_fer(val, {"PublicTest", 5});
  EXPECT_EQ(ds.size(), 35u);  // 5 per class, every class has at least 5
  for (auto c : ds.class_counts()) EXPECT_EQ(c, 5u);
  EXPECT_EQ(ds.resized, 0u);
}

TEST(DataPath, FlagThenEnvironment) {
  EXPECT_EQ(resolve_data_path("/x/y", "fer2013/train"), "/x/y");
  setenv("MOODTUNES_DATA", "/data", 1);
  EXPECT_EQ(resolve_data_path("", "fer2013/train"), "/data/fer2013/train");
  unsetenv("MOODTUNES_DATA");
  EXPECT_THROW(resolve_data_path("", "fer2013/train"), DatasetError);
}
