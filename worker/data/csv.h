// A small RFC 4180 CSV reader: comma-separated fields, optional double
// quotes ("" inside quotes is a literal quote; quoted fields may hold commas
// and newlines), LF or CRLF line ends, a UTF-8 BOM at the start is skipped.
// Unquoted fields are trimmed of surrounding spaces and tabs; blank lines
// are skipped.
//
// Errors: INVALID_ARGUMENT "line L: ..." for an unterminated quote, text
// after a closing quote, a row of more than kMaxCsvFields fields, more than
// kMaxCsvRows rows. Thread safety: pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace flyp::data {

// Budgets: what one CSV may hold (a gigabyte of commas would otherwise be a
// billion empty fields). CC12M has 12 million rows.
inline constexpr size_t kMaxCsvRows = size_t{1} << 24;
inline constexpr size_t kMaxCsvFields = 1024;

struct CsvRow {
  int line = 0;  // 1-based line on which the row starts
  std::vector<std::string> fields;
};

StatusOr<std::vector<CsvRow>> ParseCsv(std::string_view text);

}  // namespace flyp::data
