// The "no path given" import: download from the pinned commit, verify sha256, import. Served
// here from loopback with the local copy of the dataset (tests never touch the internet).
#include <gtest/gtest.h>

#include "../music/music_test_util.hpp"
#include "fake_server.hpp"
#include "music/importers.hpp"
#include "providers/dataset_download.hpp"

using namespace moodtunes::providers;
using namespace moodtunes::music;

TEST(DatasetDownload, VerifiedDownloadImportsEverything) {
  MT_REQUIRE_DEEZER_DATA();
  const std::string prefix = "/deezer/deezer_mood_detection_dataset/" + std::string(kDeezerMoodCommit);
  moodtunes::test::FakeServer fs;
  std::string tamper;  // file name to corrupt
  fs.server.Get(prefix + R"(/(\w+\.csv))", [&](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    std::string body = moodtunes::test::read_file(moodtunes::test::deezer_dir() / name);
    if (body.empty()) { res.status = 404; return; }
    if (name == tamper) body[body.size() / 2] ^= 1;
    res.set_content(body, "text/csv");
  });
  fs.start();
  moodtunes::test::TempDir dir;
  CurlHttpClient http;
  auto files = download_deezer_mood(http, dir / "dl", fs.url() + prefix);
  ASSERT_EQ(files.size(), 3u);
  Catalog c(dir / "c.sqlite");
  auto r = import_deezer_mood(c, files, {.strict = true, .require_checksums = true});
  EXPECT_EQ(c.size(), 18644);

  tamper = "validation.csv";
  try {
    download_deezer_mood(http, dir / "dl2", fs.url() + prefix);
    FAIL() << "tampered file accepted";
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, ErrorKind::kBadResponse);
    EXPECT_NE(std::string(e.what()).find("sha256"), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "dl2" / "validation.csv"));
  try {
    download_deezer_mood(http, dir / "dl3", fs.url() + "/wrong/commit");
    FAIL();
  } catch (const ProviderError& e) {
    EXPECT_EQ(e.kind, ErrorKind::kNotFound);
  }
}
