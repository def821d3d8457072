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
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_NE(recs[1].error.find("quote inside"), std::string::npos);
  EXPECT_NE(recs[2].error.find("after a closing quote"), std::string::npos);
  EXPECT_NE(recs[3].error.find("unterminated"), std::string::npos);
  EXPECT_EQ(recs[3].line, 4u);
}
