// A small RFC 4180 CSV reader that keeps line numbers, so importers can report bad rows as
// "file:line: reason" instead of dropping them.
//
// Handles quoted fields (with "" escapes and embedded commas/newlines), CRLF and LF endings and
// a UTF-8 byte-order mark. A malformed record (a quote inside an unquoted field, text after a
// closing quote, an unterminated quote) is returned with `error` set rather than thrown, so the
// caller decides. The reader borrows the stream; one reader per thread.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

namespace moodtunes::music {

struct CsvRecord {
  std::size_t line = 0;             // 1-based line where the record starts
  std::vector<std::string> fields;  // unquoted values
  std::string error;                // non-empty when the record is malformed
};

class CsvReader {
 public:
  explicit CsvReader(std::istream& in) : in_(in) {}
  // Reads the next record into `rec`; false at end of input. Blank lines are skipped.
  bool next(CsvRecord& rec);

 private:
  std::istream& in_;
  std::size_t line_ = 1;
  bool first_ = true;
};

}  // namespace moodtunes::music
