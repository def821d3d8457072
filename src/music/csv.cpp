#include "music/csv.hpp"

#include <cstdio>

namespace moodtunes::music {

int CsvReader::get() {
  if (pending_pos_ < pending_.size()) return static_cast<unsigned char>(pending_[pending_pos_++]);
  if (!pending_.empty()) {
    pending_.clear();
    pending_pos_ = 0;
  }
  return in_.get();
}

int CsvReader::peek() {
  if (pending_pos_ < pending_.size()) return static_cast<unsigned char>(pending_[pending_pos_]);
  return in_.peek();
}

void CsvReader::resume_after_first_line(std::size_t record_line) {
  const auto nl = raw_.find_first_of("\r\n");
  line_ = record_line + 1;
  if (nl == std::string::npos) {
    // The first line is not over yet (the record limit came first): drop the rest of it.
    raw_.clear();
    for (int c = get(); c != EOF; c = get()) {
      if (c == '\n') return;
      if (c == '\r') {
        if (peek() == '\n') get();
        return;
      }
    }
    return;
  }
  std::size_t from = nl + 1;
  if (raw_[nl] == '\r' && from < raw_.size() && raw_[from] == '\n') ++from;
  pending_ = raw_.substr(from) + pending_.substr(pending_pos_);
  pending_pos_ = 0;
  raw_.clear();
}

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
  // Skip blank lines between records (LF, CRLF or a lone CR each end one line).
  for (;;) {
    const int c = peek();
    if (c == EOF) return false;
    if (c == '\n') { get(); ++line_; continue; }
    if (c == '\r') { get(); if (peek() == '\n') get(); ++line_; continue; }
    break;
  }
  rec.line = line_;
  raw_.clear();
  std::string field;
  std::size_t record_bytes = 0;
  bool overflow = false;  // the record passed max_record_bytes: read to its end, store nothing more
  auto flag = [&rec](std::string why) { if (rec.error.empty()) rec.error = std::move(why); };
  auto add = [&](char ch) {
    if (overflow) return;
    if (field.size() < limits_.max_field_bytes) field.push_back(ch);
    else flag("field longer than " + std::to_string(limits_.max_field_bytes) + " bytes");
  };
  auto end_field = [&] {
    if (!overflow) {
      if (rec.fields.size() < limits_.max_fields) rec.fields.push_back(std::move(field));
      else flag("more than " + std::to_string(limits_.max_fields) + " fields");
    }
    field.clear();
  };
  auto unterminated = [&] {
    rec.error = "unterminated quoted field (opened on line " + std::to_string(rec.line) +
                "); the lines after it are read again";
    if (const auto nl = field.find_first_of("\r\n"); nl != std::string::npos) field.resize(nl);
    end_field();
    resume_after_first_line(rec.line);
    return true;
  };
  enum { kStart, kUnquoted, kQuoted, kAfterQuote } state = kStart;
  for (;;) {
    const int c = get();
    if (c == EOF) {
      if (state == kQuoted) return unterminated();
      end_field();
      return true;
    }
    const char ch = static_cast<char>(c);
    if (!overflow) {
      raw_.push_back(ch);
      if (++record_bytes > limits_.max_record_bytes) {
        if (state == kQuoted) return unterminated();
        flag("record longer than " + std::to_string(limits_.max_record_bytes) + " bytes");
        overflow = true;
        raw_.clear();
      }
    }
    // A line break outside quotes ends the record: LF, CRLF, or a lone CR (old Mac files).
    auto line_end = [&] {
      if (ch == '\r' && peek() == '\n') get();
      ++line_;
      end_field();
      return true;
    };
    switch (state) {
      case kStart:
        if (ch == '"') { state = kQuoted; break; }
        state = kUnquoted;
        [[fallthrough]];
      case kUnquoted:
        if (ch == ',') { end_field(); state = kStart; }
        else if (ch == '\n' || ch == '\r') return line_end();
        else {
          if (ch == '"') flag("quote inside an unquoted field");
          add(ch);
        }
        break;
      case kQuoted:
        if (ch == '"') {
          if (peek() == '"') {
            get();
            if (!overflow) raw_.push_back('"');
            add('"');
          }
          else state = kAfterQuote;
        } else {
          if (ch == '\n' || (ch == '\r' && peek() != '\n')) ++line_;
          add(ch);
        }
        break;
      case kAfterQuote:
        if (ch == ',') { end_field(); state = kStart; }
        else if (ch == '\n' || ch == '\r') return line_end();
        else flag("text after a closing quote");
        break;
    }
  }
}

}  // namespace moodtunes::music
