#include "music/csv.hpp"

namespace moodtunes::music {

bool CsvReader::next(CsvRecord& rec) {
  rec.fields.clear();
  rec.error.clear();
  if (first_) {
    first_ = false;
    // Skip a UTF-8 BOM (Excel writes one).
    if (in_.peek() == 0xEF) {
      char bom[3];
      in_.read(bom, 3);
      if (!(in_.gcount() == 3 && static_cast<unsigned char>(bom[1]) == 0xBB &&
            static_cast<unsigned char>(bom[2]) == 0xBF)) {
        in_.clear();
        in_.seekg(0);
      }
    }
  }
  // Skip blank lines between records.
  for (;;) {
    int c = in_.peek();
    if (c == EOF) return false;
    if (c == '\r') { in_.get(); continue; }
    if (c == '\n') { in_.get(); ++line_; continue; }
    break;
  }
  rec.line = line_;
  std::string field;
  enum { kStart, kUnquoted, kQuoted, kAfterQuote } state = kStart;
  for (;;) {
    int c = in_.get();
    if (c == EOF) {
      if (state == kQuoted && rec.error.empty())
        rec.error = "unterminated quoted field (opened on line " + std::to_string(rec.line) + ")";
      rec.fields.push_back(std::move(field));
      return true;
    }
    const char ch = static_cast<char>(c);
    switch (state) {
      case kStart:
        if (ch == '"') { state = kQuoted; break; }
        state = kUnquoted;
        [[fallthrough]];
      case kUnquoted:
        if (ch == ',') { rec.fields.push_back(std::move(field)); field.clear(); state = kStart; }
        else if (ch == '\n') { ++line_; rec.fields.push_back(std::move(field)); return true; }
        else if (ch == '\r') { /* CRLF: the \n ends the record */ }
        else {
          if (ch == '"' && rec.error.empty()) rec.error = "quote inside an unquoted field";
          field.push_back(ch);
        }
        break;
      case kQuoted:
        if (ch == '"') {
          if (in_.peek() == '"') { in_.get(); field.push_back('"'); }
          else state = kAfterQuote;
        } else {
          if (ch == '\n') ++line_;
          field.push_back(ch);
        }
        break;
      case kAfterQuote:
        if (ch == ',') { rec.fields.push_back(std::move(field)); field.clear(); state = kStart; }
        else if (ch == '\n') { ++line_; rec.fields.push_back(std::move(field)); return true; }
        else if (ch == '\r') {}
        else if (rec.error.empty()) rec.error = "text after a closing quote";
        break;
    }
  }
}

}  // namespace moodtunes::music
