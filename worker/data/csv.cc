#include "worker/data/csv.h"

namespace flyp::data {
namespace {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

}  // namespace

StatusOr<std::vector<CsvRow>> ParseCsv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRow> rows;
  CsvRow row;
  std::string field;
  bool quoted = false;  // the current field was quoted
  bool row_has_data = false;
  int line = 1;
  row.line = 1;
  size_t i = 0;
  Status over_budget;  // set by end_field / end_row once a budget is exceeded
  auto end_field = [&]() {
    if (row.fields.size() >= kMaxCsvFields) {
      if (over_budget.ok())
        over_budget = InvalidArgumentError("line " + std::to_string(row.line) + ": more than " +
                                           std::to_string(kMaxCsvFields) + " fields");
      return;
    }
    row.fields.push_back(quoted ? field : Trim(field));
    field.clear();
    quoted = false;
  };
  auto end_row = [&]() {
    end_field();
    const bool blank = row.fields.size() == 1 && row.fields[0].empty() && !row_has_data;
    if (!blank) {
      if (rows.size() >= kMaxCsvRows && over_budget.ok()) {
        over_budget = InvalidArgumentError("line " + std::to_string(row.line) + ": more than " +
                                           std::to_string(kMaxCsvRows) + " rows");
      }
      rows.push_back(std::move(row));
    }
    row = CsvRow();
    row_has_data = false;
  };
  while (i < text.size()) {
    const char ch = text[i];
    if (ch == '"' && Trim(field).empty() && !quoted) {
      // Opening quote: read up to the closing one.
      const int start_line = line;
      field.clear();
      quoted = true;
      row_has_data = true;
      ++i;
      while (true) {
        if (i >= text.size())
          return InvalidArgumentError("line " + std::to_string(start_line) + ": unterminated quoted field");
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field.push_back(text[i++]);
      }
      while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        return InvalidArgumentError("line " + std::to_string(line) +
                                    ": unexpected text after a closing quote");
      }
      continue;
    }
    if (!over_budget.ok()) return over_budget;
    if (ch == ',') {
      end_field();
      row_has_data = true;
      ++i;
    } else if (ch == '\n' || ch == '\r') {
      end_row();
      if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++i;
      ++line;
      row.line = line;
    } else {
      field.push_back(ch);
      ++i;
    }
  }
  if (!field.empty() || quoted || !row.fields.empty()) end_row();
  if (!over_budget.ok()) return over_budget;
  return rows;
}

}  // namespace flyp::data
