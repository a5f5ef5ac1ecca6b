#pragma once
// Markdown tables for results in READMEs and reports.
//
//   chord::io::MarkdownTable t({"method", "pass@1", "steps"});
//   t.add_row({"SFT+RL", 0.41234, 1000}).add_row({"CHORD-phi", 0.5, 1000});
//   std::cout << t.str();
//
//   | method    | pass@1 | steps |
//   | :-------- | -----: | ----: |
//   | SFT+RL    |  0.412 |  1000 |
//   | CHORD-phi |  0.500 |  1000 |
//
// Floating-point cells are printed with a fixed number of decimals: 3 unless
// set for the table, for a column, or for one cell (fixed(v, decimals)).
// Integers are printed as they are, NaN as "n/a", infinities as "inf"/"-inf".
// Columns whose cells are all numbers are right-aligned, others left-aligned,
// unless alignments are given. Cells are padded so the raw text lines up too
// (widths count UTF-8 code points); '|' in a cell is escaped, line breaks
// become spaces.

#include <concepts>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/non_templates.hpp"

namespace chord::io {

enum class Align { left, right, center };

// One table cell: text, an integer (kept as its text) or a floating-point number.
struct Cell {
  std::variant<std::string, double> value;
  bool is_number = false;
  int decimals = -1;  // for a double: -1 = the column's setting

  Cell(const char* text) : value(std::string(text)) {}
  Cell(std::string text) : value(std::move(text)) {}
  Cell(std::string_view text) : value(std::string(text)) {}
  template <std::floating_point F>
  Cell(F v) : value(static_cast<double>(v)), is_number(true) {}
  template <std::integral I>
    requires(!std::same_as<I, bool> && !std::same_as<I, char>)
  Cell(I v) : value(std::to_string(v)), is_number(true) {}
};

// A number shown with its own count of decimals.
Cell fixed(double value, int decimals);

class MarkdownTable {
 public:
  // align: one per column, or empty for automatic (numbers right, text left).
  explicit MarkdownTable(std::vector<std::string> header, std::vector<Align> align = {});

  // Decimals of floating-point cells in every column (default 3).
  MarkdownTable& precision(int decimals);
  // Decimals of floating-point cells in one column.
  MarkdownTable& precision(std::size_t column, int decimals);

  MarkdownTable& add_row(std::vector<Cell> cells);

  std::size_t rows() const { return rows_.size(); }
  std::size_t columns() const { return header_.size(); }

  std::string str() const;

 private:
  std::string format(const Cell& cell, std::size_t column) const;
  static std::string escape(const std::string& s);
  // Code points, not bytes (UTF-8 continuation bytes do not count).
  static std::size_t display_width(const std::string& s);
  static std::string pad(const std::string& s, std::size_t width, Align a);

  std::vector<std::string> header_;
  std::vector<Align> align_;
  std::vector<int> decimals_;  // per column; -1 = default_decimals_
  int default_decimals_ = 3;
  std::vector<std::vector<Cell>> rows_;
};

}  // namespace chord::io

#if CHORD_DEFINES_NON_TEMPLATES
#include <algorithm>
#include <cmath>
#include <cstdio>

namespace chord::io {

CHORD_INLINE Cell fixed(double value, int decimals) {
  check(decimals >= 0 && decimals <= 17, "MarkdownTable", "decimals must be in [0, 17], got ", decimals);
  Cell c(value);
  c.decimals = decimals;
  return c;
}

CHORD_INLINE MarkdownTable::MarkdownTable(std::vector<std::string> header, std::vector<Align> align)
    : header_(std::move(header)), align_(std::move(align)), decimals_(header_.size(), -1) {
  check(!header_.empty(), "MarkdownTable", "a table needs at least one column");
  check(align_.empty() || align_.size() == header_.size(), "MarkdownTable", "got ", align_.size(),
        " alignments for ", header_.size(), " columns");
}

CHORD_INLINE MarkdownTable& MarkdownTable::precision(int decimals) {
  check(decimals >= 0 && decimals <= 17, "MarkdownTable", "decimals must be in [0, 17], got ", decimals);
  default_decimals_ = decimals;
  return *this;
}

CHORD_INLINE MarkdownTable& MarkdownTable::precision(std::size_t column, int decimals) {
  check(column < header_.size(), "MarkdownTable", "column ", column, " out of range for ", header_.size(),
        " columns");
  check(decimals >= 0 && decimals <= 17, "MarkdownTable", "decimals must be in [0, 17], got ", decimals);
  decimals_[column] = decimals;
  return *this;
}

CHORD_INLINE MarkdownTable& MarkdownTable::add_row(std::vector<Cell> cells) {
  check(cells.size() == header_.size(), "MarkdownTable", "row ", rows_.size(), " has ", cells.size(),
        " cells for ", header_.size(), " columns");
  rows_.push_back(std::move(cells));
  return *this;
}

CHORD_INLINE std::string MarkdownTable::str() const {
  const std::size_t n = header_.size();
  std::vector<std::vector<std::string>> text(rows_.size(), std::vector<std::string>(n));
  std::vector<std::size_t> width(n, 3);
  std::vector<Align> align(n, Align::left);
  for (std::size_t c = 0; c < n; ++c) {
    width[c] = std::max(width[c], display_width(escape(header_[c])));
    bool numeric = !rows_.empty();
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      text[r][c] = escape(format(rows_[r][c], c));
      width[c] = std::max(width[c], display_width(text[r][c]));
      numeric = numeric && (rows_[r][c].is_number || text[r][c].empty());
    }
    align[c] = align_.empty() ? (numeric ? Align::right : Align::left) : align_[c];
  }
  std::string out;
  auto line = [&](auto&& cell_text) {
    out += "|";
    for (std::size_t c = 0; c < n; ++c) out += " " + cell_text(c) + " |";
    out += "\n";
  };
  line([&](std::size_t c) { return pad(escape(header_[c]), width[c], align[c]); });
  line([&](std::size_t c) {
    const std::size_t w = width[c];
    switch (align[c]) {
      case Align::left: return ":" + std::string(w - 1, '-');
      case Align::right: return std::string(w - 1, '-') + ":";
      case Align::center: return ":" + std::string(w - 2, '-') + ":";
    }
    return std::string(w, '-');
  });
  for (std::size_t r = 0; r < rows_.size(); ++r) line([&](std::size_t c) { return pad(text[r][c], width[c], align[c]); });
  return out;
}

CHORD_INLINE std::string MarkdownTable::format(const Cell& cell, std::size_t column) const {
  if (const auto* s = std::get_if<std::string>(&cell.value)) return *s;
  const double v = std::get<double>(cell.value);
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  const int d = cell.decimals >= 0 ? cell.decimals : decimals_[column] >= 0 ? decimals_[column] : default_decimals_;
  char buf[400];
  std::snprintf(buf, sizeof buf, "%.*f", d, v);
  std::string s = buf;
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);  // "-0.000" -> "0.000"
  return s;
}

CHORD_INLINE std::string MarkdownTable::escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

CHORD_INLINE std::size_t MarkdownTable::display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

CHORD_INLINE std::string MarkdownTable::pad(const std::string& s, std::size_t width, Align a) {
  const std::size_t fill = width - display_width(s);
  switch (a) {
    case Align::left: return s + std::string(fill, ' ');
    case Align::right: return std::string(fill, ' ') + s;
    case Align::center: return std::string(fill / 2, ' ') + s + std::string(fill - fill / 2, ' ');
  }
  return s;
}

}  // namespace chord::io
#endif  // CHORD_DEFINES_NON_TEMPLATES
