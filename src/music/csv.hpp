// A small RFC 4180 CSV reader that keeps line numbers, so importers can report bad rows as
// "file:line: reason" instead of dropping them.
//
// Handles quoted fields (with "" escapes and embedded commas/newlines), CRLF, LF and CR-only
// line endings and a UTF-8 byte-order mark. A malformed record (a quote inside an unquoted
// field, text after a closing quote, an unterminated quote, a field or record over CsvLimits)
// is returned with `error` set rather than thrown, so the caller decides.
// Recovery: an unterminated quote (at end of input, or once its record passes
// CsvLimits::max_record_bytes) spoils only the line it opened on; reading resumes on the next
// line, so one stray quote never swallows the rest of the file. Memory is bounded by the limits
// whatever the input: an over-long field or record is cut and flagged, never grown.
// The reader borrows the stream; one reader per thread.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

namespace moodtunes::music {

struct CsvLimits {
  std::size_t max_field_bytes = 64 * 1024;     // a title or an artist is far shorter
  std::size_t max_fields = 256;                // per record
  std::size_t max_record_bytes = 1024 * 1024;  // also how far an unterminated quote is followed
};

struct CsvRecord {
  std::size_t line = 0;             // 1-based line where the record starts
  std::vector<std::string> fields;  // unquoted values (cut to the limits when `error` says so)
  std::string error;                // non-empty when the record is malformed
};

class CsvReader {
 public:
  explicit CsvReader(std::istream& in, CsvLimits limits = {}) : in_(in), limits_(limits) {}
  // Reads the next record into `rec`; false at end of input. Blank lines are skipped.
  bool next(CsvRecord& rec);

 private:
  int get();
  int peek();
  // After an unterminated quote: re-read everything after the record's first line.
  void resume_after_first_line(std::size_t record_line);

  std::istream& in_;
  CsvLimits limits_;
  std::size_t line_ = 1;
  bool first_ = true;
  std::string pending_;       // text to read again before the stream (see resume_after_first_line)
  std::size_t pending_pos_ = 0;
  std::string raw_;           // the current record's raw text, kept while inside a quoted field
};

}  // namespace moodtunes::music
