#include <gtest/gtest.h>

#include "music/importers.hpp"
#include "music/sha256.hpp"
#include "music_test_util.hpp"

using namespace moodtunes::music;
namespace fs = std::filesystem;

namespace {
const char* kDeezerHeader = "dzr_sng_id,MSD_sng_id,MSD_track_id,valence,arousal,artist_name,track_name\n";
}

TEST(DeezerImport, RealDatasetIsCompleteAndIdempotent) {
  MT_REQUIRE_DEEZER_DATA();
  moodtunes::test::TempDir dir;
  Catalog c(dir / "c.sqlite");
  auto files = deezer_mood_files(moodtunes::test::deezer_dir());
  ASSERT_EQ(files.size(), 3u);
  auto r = import_deezer_mood(c, files, {.strict = true, .require_checksums = true});
  EXPECT_EQ(r.rows, 18644u);
  EXPECT_EQ(r.inserted, 18644u);
  EXPECT_TRUE(r.bad_rows.empty());
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  EXPECT_EQ(c.size(), 18644);

  auto again = import_deezer_mood(c, files);
  EXPECT_EQ(again.inserted, 0u);
  EXPECT_EQ(again.updated, 0u);
  EXPECT_EQ(again.unchanged, 18644u);
  EXPECT_EQ(c.size(), 18644);

  // First train row: 213754, valence -0.682725080497, arousal 0.316757791845, Dark Tranquillity.
  auto hit = c.search("Insanity's Crescendo", 5);
  ASSERT_EQ(hit.size(), 1u);
  EXPECT_EQ(hit[0].deezer_id, 213754);
  EXPECT_EQ(hit[0].artist, "Dark Tranquillity");
  EXPECT_NEAR(*hit[0].raw_valence, -0.682725080497, 1e-12);
  EXPECT_NEAR(hit[0].valence, -0.682725080497 / 2.5, 1e-6);
  EXPECT_NEAR(hit[0].arousal, 0.316757791845 / 2.5, 1e-6);
  EXPECT_EQ(hit[0].raw_scale, "zscore/2.5");
  // A quoted title with escaped quotes survives.
  auto taxi = c.search("Angela Theme Taxi", 5);
  ASSERT_FALSE(taxi.empty());
  EXPECT_EQ(taxi[0].title, "Angela (Theme From \"Taxi\")");
  auto st = c.stats();
  EXPECT_GE(st.min_valence, -1.0f);
  EXPECT_LE(st.max_arousal, 1.0f);
  EXPECT_FALSE(st.last_import.empty());
}

TEST(DeezerImport, BrokenRowsAreReportedWithLineNumbers) {
  moodtunes::test::TempDir dir;
  const auto f = moodtunes::test::write_file(dir / "broken.csv",
      std::string(kDeezerHeader) +
      "1,S,T,0.5,0.5,Artist One,Good One\n"            // line 2 ok
      "abc,S,T,0.5,0.5,Artist,Bad Id\n"                 // line 3
      "3,S,T,zero,0.5,Artist,Bad Valence\n"             // line 4
      "4,S,T,0.5\n"                                     // line 5 too few fields
      "5,S,T,0.5,99,Artist,Absurd z\n"                  // line 6
      "6,S,T,0.5,0.5,,No Artist\n"                      // line 7
      "7,S,T,-1.0,1.0,\"Artist, Two\",\"Good \"\"Two\"\"\"\n"  // line 8 ok
      "8,S,T,0.1,0.1,Artist,\"unterminated\n");         // line 9
  Catalog c(dir / "c.sqlite");
  auto r = import_deezer_mood(c, {f});
  EXPECT_EQ(r.rows, 8u);
  EXPECT_EQ(r.inserted, 2u);
  ASSERT_EQ(r.bad_rows.size(), 6u);
  std::vector<std::size_t> lines;
  for (const auto& b : r.bad_rows) lines.push_back(b.line);
  EXPECT_EQ(lines, (std::vector<std::size_t>{3, 4, 5, 6, 7, 9}));
  EXPECT_NE(r.bad_rows[0].reason.find("dzr_sng_id"), std::string::npos);
  EXPECT_NE(r.bad_rows[1].reason.find("valence"), std::string::npos);
  EXPECT_EQ(r.bad_rows[0].file, "broken.csv");
  auto two = c.search("Two", 5);
  ASSERT_EQ(two.size(), 1u);
  EXPECT_EQ(two[0].artist, "Artist, Two");
  EXPECT_EQ(two[0].title, "Good \"Two\"");
  EXPECT_NE(r.to_json().find("\"line\":3"), std::string::npos);
}

TEST(DeezerImport, StrictModeAndFailuresLeaveThePreviousCatalogIntact) {
  MT_REQUIRE_DEEZER_DATA();
  moodtunes::test::TempDir dir;
  Catalog c(dir / "c.sqlite");
  import_deezer_mood(c, {moodtunes::test::deezer_dir() / "test.csv"});
  const auto before = c.size();
  ASSERT_EQ(before, 3514);
  const auto bad = moodtunes::test::write_file(dir / "bad.csv", std::string(kDeezerHeader) + "99999999,S,T,0.1,0.1,New Artist,New Song\nx,S,T,1,1,A,B\n");
  EXPECT_THROW(import_deezer_mood(c, {bad}, {.strict = true}), ImportError);
  EXPECT_EQ(c.size(), before);
  EXPECT_TRUE(c.search("New Song", 5).empty());
  // A failure half way (second file missing) rolls back the rows of the first file too.
  const auto good = moodtunes::test::write_file(dir / "good.csv", std::string(kDeezerHeader) + "88888888,S,T,0.1,0.1,Other,Fresh Song\n");
  EXPECT_THROW(import_deezer_mood(c, {good, dir / "missing.csv"}), ImportError);
  EXPECT_EQ(c.size(), before);
  EXPECT_TRUE(c.search("Fresh Song", 5).empty());
  // Not a Deezer file at all.
  const auto other = moodtunes::test::write_file(dir / "other.csv", "title,artist\nx,y\n");
  EXPECT_THROW(import_deezer_mood(c, {other}), ImportError);
  // Every row bad.
  const auto allbad = moodtunes::test::write_file(dir / "allbad.csv", std::string(kDeezerHeader) + "x,S,T,1,1,A,B\n");
  EXPECT_THROW(import_deezer_mood(c, {allbad}), ImportError);
  EXPECT_EQ(c.size(), before);
}

TEST(DeezerImport, ChecksumVerification) {
  MT_REQUIRE_DEEZER_DATA();
  moodtunes::test::TempDir dir;
  Catalog c(dir / "c.sqlite");
  EXPECT_EQ(sha256_file_hex(moodtunes::test::deezer_dir() / "test.csv"), kDeezerMoodFiles[2].sha256);
  // A tampered copy named like a pinned file: warning normally, error when checksums are required.
  std::string text = moodtunes::test::read_file(moodtunes::test::deezer_dir() / "test.csv");
  text.replace(text.find("0."), 2, "1.");
  const auto f = moodtunes::test::write_file(dir / "test.csv", text);
  EXPECT_THROW(import_deezer_mood(c, {f}, {.require_checksums = true}), ImportError);
  EXPECT_EQ(c.size(), 0);
  auto r = import_deezer_mood(c, {f});
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("sha256"), std::string::npos);
  EXPECT_EQ(c.size(), 3514);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DeezerImport, FolderMustHoldAllThreeFiles) {
  moodtunes::test::TempDir dir;
  moodtunes::test::write_file(dir / "train.csv", kDeezerHeader);
  EXPECT_THROW(deezer_mood_files(dir.path()), ImportError);
  EXPECT_THROW(deezer_mood_files(dir / "nope"), ImportError);
}

TEST(GenericImport, ScalesProxyKeysAndIdempotence) {
  moodtunes::test::TempDir dir;
  const auto f = moodtunes::test::write_file(dir / "mine.csv",
      "Title,Artist,Valence,Energy,Spotify_ID,ISRC,Genre\n"
      "Song A,Band,0.75,0.25,4uLU6hMCjMI75M1A2tKUQC,,pop\n"      // key spotify
      "Song B,Band,0,1,,USRC17607839,rock\n"                     // key isrc
      "\"Song, C\",Other,1,0,,,\n"                               // key name
      "Song D,Other,1.5,0.5,,,\n"                                // valence out of [0,1]
      "Song E,Other,0.5,,,,\n"                                   // energy missing
      "\"SONG,  C\",OTHER,0.5,0.5,,,\n");                      // same key as line 4
  Catalog c(dir / "c.sqlite");
  auto r = import_generic_csv(c, f);
  EXPECT_EQ(r.rows, 6u);
  EXPECT_EQ(r.inserted, 3u);
  EXPECT_EQ(r.updated, 1u);  // line 7 updated line 4's track
  ASSERT_EQ(r.bad_rows.size(), 2u);
  EXPECT_EQ(r.bad_rows[0].line, 5u);
  EXPECT_NE(r.bad_rows[0].reason.find("outside"), std::string::npos);
  EXPECT_EQ(r.bad_rows[1].line, 6u);
  EXPECT_NE(r.bad_rows[1].reason.find("energy"), std::string::npos);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("mine.csv:7"), std::string::npos);
  EXPECT_EQ(c.size(), 3);
  auto a = c.search("Song A", 1);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_FLOAT_EQ(a[0].valence, 0.5f);   // 2*0.75-1
  EXPECT_FLOAT_EQ(a[0].arousal, -0.5f);  // 2*0.25-1, energy as arousal
  EXPECT_EQ(a[0].raw_scale, "unit;arousal=energy");
  EXPECT_EQ(a[0].spotify_id, "4uLU6hMCjMI75M1A2tKUQC");
  EXPECT_EQ(a[0].source_id, "spotify:4uLU6hMCjMI75M1A2tKUQC");
  EXPECT_EQ(a[0].genre, "pop");
  auto b = c.search("Song B", 1);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].source_id, "isrc:USRC17607839");

  auto again = import_generic_csv(c, f);
  EXPECT_EQ(again.inserted, 0u);
  EXPECT_EQ(c.size(), 3);
}

TEST(GenericImport, OtherScalesAndBadHeaders) {
  moodtunes::test::TempDir dir;
  Catalog c(dir / "c.sqlite");
  const auto sam = moodtunes::test::write_file(dir / "sam.csv", "track,artist_name,valence,arousal\nX,Y,9,1\nZ,W,0,5\n");
  GenericCsvOptions o;
  o.source = "sam";
  o.scale = ValueScale::kSam9;
  auto r = import_generic_csv(c, sam, o);
  EXPECT_EQ(r.inserted, 1u);
  ASSERT_EQ(r.bad_rows.size(), 1u);  // 0 is outside [1, 9]
  auto x = c.search("X", 1);
  ASSERT_EQ(x.size(), 1u);
  EXPECT_FLOAT_EQ(x[0].valence, 1.0f);
  EXPECT_FLOAT_EQ(x[0].arousal, -1.0f);
  EXPECT_EQ(x[0].raw_scale, "sam9");
  const auto nohdr = moodtunes::test::write_file(dir / "nohdr.csv", "title,artist,valence\nX,Y,0.5\n");
  EXPECT_THROW(import_generic_csv(c, nohdr), ImportError);
  EXPECT_THROW(import_generic_csv(c, dir / "absent.csv"), ImportError);
  GenericCsvOptions clash;
  clash.source = "deezer-mood";
  EXPECT_THROW(import_generic_csv(c, sam, clash), ImportError);
  EXPECT_THROW(parse_value_scale("percent"), std::invalid_argument);
  EXPECT_FALSE(normalise_value(std::nan(""), ValueScale::kUnit));
  EXPECT_FLOAT_EQ(*normalise_value(-5.0, ValueScale::kZScore), -1.0f);  // clamped
}

TEST(DeezerImport, RepeatedIdsAndBadRowsAreCountedButListedOnlyUpToTheCap) {
  moodtunes::test::TempDir dir;
  std::string text = kDeezerHeader;
  for (int i = 0; i < 3000; ++i) text += "42,S,T,0.1,0.1,Artist,Same\n";
  for (int i = 0; i < 500; ++i) text += "x,S,T,0.1,0.1,Artist,Bad\n";
  const auto f = moodtunes::test::write_file(dir / "dups.csv", text);
  Catalog c(dir / "c.sqlite");
  auto r = import_deezer_mood(c, {f});
  EXPECT_EQ(r.rows, 3500u);
  EXPECT_EQ(r.duplicates, 2999u);
  EXPECT_EQ(r.bad, 500u);
  EXPECT_EQ(r.bad_rows.size(), kMaxListed);
  EXPECT_EQ(r.warnings.size(), kMaxListed + 1);  // + "... and 2899 more"
  EXPECT_NE(r.warnings.back().find("2899 more"), std::string::npos);
  // What the catalog stores about the import stays small too.
  EXPECT_LT(r.to_json().size(), 40'000u);
  EXPECT_EQ(c.size(), 1);
}

TEST(ImportRegression, AMalformedHeaderRowIsRefused) {
  // Found by bench/badinput: a header of 20 M commas (cut to CsvLimits::max_fields) imported as
  // an empty file with exit 0; a header with an unterminated quote lost its last column's line.
  moodtunes::test::TempDir dir;
  Catalog c(dir / "c.sqlite");
  const auto wide = moodtunes::test::write_file(dir / "wide.csv", "title,artist,valence,energy" + std::string(20000, ',') + "\n");
  try {
    import_generic_csv(c, wide);
    FAIL() << "imported";
  } catch (const ImportError& e) {
    EXPECT_NE(std::string(e.what()).find("wide.csv:1: unreadable header row: more than 256 fields"), std::string::npos)
        << e.what();
  }
  const auto quote = moodtunes::test::write_file(dir / "quote.csv", "title,artist,valence,\"energy\nX,Y,0.5,0.5\n");
  EXPECT_THROW(import_generic_csv(c, quote), ImportError);
  const auto deezer = moodtunes::test::write_file(dir / "d.csv", std::string(kDeezerHeader).substr(0, 20) + "\"" +
                                                             std::string(kDeezerHeader).substr(20));
  EXPECT_THROW(import_deezer_mood(c, {deezer}), ImportError);
  EXPECT_EQ(c.size(), 0);
}
