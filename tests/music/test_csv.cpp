#include <sstream>

#include <gtest/gtest.h>

#include "music/csv.hpp"

using moodtunes::music::CsvReader;
using moodtunes::music::CsvRecord;

namespace {
std::vector<CsvRecord> read_all(const std::string& text) {
  std::istringstream in(text);
  CsvReader r(in);
  std::vector<CsvRecord> out;
  CsvRecord rec;
  while (r.next(rec)) out.push_back(rec);
  return out;
}
}  // namespace

TEST(Csv, QuotesEscapesAndLineNumbers) {
  auto recs = read_all("a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",z\n3,,\n");
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[1].fields, (std::vector<std::string>{"1", "x, y", "say \"hi\""}));
  EXPECT_EQ(recs[1].line, 2u);
  EXPECT_EQ(recs[2].fields[1], "two\nlines");
  EXPECT_EQ(recs[2].line, 3u);
  EXPECT_EQ(recs[3].line, 5u);  // the quoted newline moved it down a line
  EXPECT_EQ(recs[3].fields, (std::vector<std::string>{"3", "", ""}));
  for (const auto& r : recs) EXPECT_TRUE(r.error.empty());
}

TEST(Csv, CrlfBomAndBlankLines) {
  auto recs = read_all("\xEF\xBB\xBFh1,h2\r\n\r\nv1,v2\r\nv3,v4");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].fields[0], "h1");
  EXPECT_EQ(recs[1].fields, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(recs[1].line, 3u);
  EXPECT_EQ(recs[2].fields, (std::vector<std::string>{"v3", "v4"}));
}

TEST(Csv, MalformedRecordsAreFlaggedNotThrown) {
  auto recs = read_all("a,b\nx\"y,z\n\"ok\"junk,1\n\"never closed,2\n3,4\n");
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_NE(recs[1].error.find("quote inside"), std::string::npos);
  EXPECT_NE(recs[2].error.find("after a closing quote"), std::string::npos);
  EXPECT_NE(recs[3].error.find("unterminated"), std::string::npos);
  EXPECT_EQ(recs[3].line, 4u);
  // The stray quote spoils its own line only: the next line is read as a record.
  EXPECT_EQ(recs[4].fields, (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(recs[4].line, 5u);
  EXPECT_TRUE(recs[4].error.empty());
}

TEST(Csv, AnUnterminatedQuoteLosesOneLineNotTheRestOfTheFile) {
  std::string text = "id,title\n1,a\n2,b\n3,\"broken\n";
  for (int i = 4; i <= 1002; ++i) text += std::to_string(i) + ",t" + std::to_string(i) + "\n";
  auto recs = read_all(text);
  ASSERT_EQ(recs.size(), 1003u);  // header + 1,002 rows
  std::size_t bad = 0;
  for (const auto& r : recs) bad += !r.error.empty();
  EXPECT_EQ(bad, 1u);
  EXPECT_EQ(recs[3].line, 4u);
  EXPECT_NE(recs[3].error.find("line 4"), std::string::npos);
  EXPECT_EQ(recs[4].fields, (std::vector<std::string>{"4", "t4"}));
  EXPECT_EQ(recs[4].line, 5u);
  EXPECT_EQ(recs.back().fields, (std::vector<std::string>{"1002", "t1002"}));
  EXPECT_EQ(recs.back().line, 1003u);
}

TEST(Csv, CrOnlyLineEndsSplitRecords) {
  auto recs = read_all("h1,h2\rv1,v2\r\rv3,\"x\ry\"\r");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1].fields, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(recs[1].line, 2u);
  EXPECT_EQ(recs[2].fields, (std::vector<std::string>{"v3", "x\ry"}));
  EXPECT_EQ(recs[2].line, 4u);
}

TEST(Csv, OversizedFieldsAndRecordsAreCutAndFlagged) {
  moodtunes::music::CsvLimits limits;
  limits.max_field_bytes = 10;
  limits.max_fields = 4;
  limits.max_record_bytes = 100;
  auto read = [&](const std::string& text) {
    std::istringstream in(text);
    CsvReader r(in, limits);
    std::vector<CsvRecord> out;
    CsvRecord rec;
    while (r.next(rec)) out.push_back(rec);
    return out;
  };
  auto recs = read("a,b\n" + std::string(50, 'x') + ",y\n" + std::string(20, ',') + "\n" + std::string(300, 'z') + "\nok,1\n");
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_NE(recs[1].error.find("field longer than 10"), std::string::npos);
  EXPECT_EQ(recs[1].fields[0].size(), 10u);
  EXPECT_NE(recs[2].error.find("more than 4 fields"), std::string::npos);
  EXPECT_EQ(recs[2].fields.size(), 4u);
  EXPECT_FALSE(recs[3].error.empty());
  EXPECT_EQ(recs[4].fields, (std::vector<std::string>{"ok", "1"}));
  EXPECT_EQ(recs[4].line, 5u);
  limits = {.max_field_bytes = 1000, .max_fields = 1000, .max_record_bytes = 100};
  auto long_record = read("a\n" + std::string(300, 'z') + "\nok\n");
  ASSERT_EQ(long_record.size(), 3u);
  EXPECT_NE(long_record[1].error.find("record longer than 100"), std::string::npos);
  EXPECT_EQ(long_record[2].fields, (std::vector<std::string>{"ok"}));
  // An unterminated quote is followed only as far as the record limit, then the next line is read.
  auto q = read("h\n\"" + std::string(200, 'q') + "\nnext\n");
  ASSERT_EQ(q.size(), 3u);
  EXPECT_NE(q[1].error.find("unterminated"), std::string::npos);
  EXPECT_EQ(q[2].fields, (std::vector<std::string>{"next"}));
}

TEST(Csv, TwentyMillionCommasStayWithinTheLimits) {
  // A header of 20 M commas once took 1.2 GB: the reader now keeps at most max_fields fields.
  std::string text(20'000'000, ',');
  text += "\n1\n";
  auto recs = read_all(text);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_FALSE(recs[0].error.empty());
  EXPECT_LE(recs[0].fields.size(), moodtunes::music::CsvLimits{}.max_fields);
  EXPECT_EQ(recs[1].fields, (std::vector<std::string>{"1"}));
}
