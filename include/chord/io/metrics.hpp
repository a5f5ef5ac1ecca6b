#pragma once
// Metric logs: one row of named numbers per training step, written as JSONL and CSV.
//
//   chord::io::MetricsLogger log("runs/chord/metrics.jsonl");   // also writes runs/chord/metrics.csv
//   log.log(step, {{"reward/mean", r}, {"loss/policy", l}, {"mu", mu}});
//   log.log(step, {{"eval/add/pass@1", acc}});   // same step, new names: joins the row above
//   ...
//   auto table = chord::io::read_metrics("runs/chord/metrics.jsonl");   // columns, for plots
//
// Files and when they are written:
// - JSONL is the log of record. Each row is one JSON object on one line,
//   {"step":12,"reward/mean":0.5,"loss/policy":null}, appended and flushed to the
//   operating system as soon as log() is called: a crash of the program keeps
//   every row logged so far (at worst the last line is cut short, and readers skip
//   a cut-short last line).
// - CSV is a view for spreadsheets and pandas. Its header is the union of all
//   names seen so far, in order of first appearance, and names can appear at any
//   step; so instead of appending, the whole CSV is rewritten from memory,
//   atomically (temporary file, then rename), every `csv_every` rows, on flush()
//   and on close(). It can lag the JSONL by up to csv_every - 1 rows, never half a row.
//
// Values: NaN is written as null (JSON) and an empty cell (CSV); +-inf as the
// strings "inf"/"-inf" (JSON) and inf/-inf (CSV). Names are any non-empty
// strings except "step", slashes welcome ("reward/mean", "eval/add/pass@1").
//
// Rows: a log() call with the same step as the row before it and none of that
// row's names (already holding a number) adds its values to that row, in memory
// and in the CSV, so train and eval metrics of one step share a row; the JSONL
// keeps one line per call and read_metrics() joins them the same way.
//
// Resuming: MetricsOptions{.resume_step = s} opens an existing JSONL, keeps the
// rows with step <= s (the ones before the checkpoint being resumed), rewrites
// it atomically and appends from there. Without resume_step, existing files are
// replaced. Not thread-safe: log from one thread.

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/non_templates.hpp"
#include "chord/io/json.hpp"

namespace chord::io {

// Named values of one row, in the order they are written.
using MetricRow = std::vector<std::pair<std::string, double>>;

// Columns of a metrics log: row i has step steps[i] and value columns.at(name)[i]
// (NaN where the row has no such name, or logged NaN).
struct MetricsTable {
  std::vector<std::int64_t> steps{};
  std::vector<std::string> names{};                           // order of first appearance
  std::map<std::string, std::vector<double>> columns{};       // name -> [rows]

  std::size_t size() const { return steps.size(); }
  bool has(const std::string& name) const { return columns.count(name) != 0; }

  const std::vector<double>& column(const std::string& name) const;

  // Steps and values of the rows where `name` holds a number (NaN rows left
  // out, so a metric logged every N steps reads as one connected curve).
  std::pair<std::vector<double>, std::vector<double>> xy(const std::string& name) const;

  // Adds a row, or joins the last row when it has the same step and none of
  // these names holds a number there yet (see the top of this file).
  void append(std::int64_t step, const MetricRow& values);
};

namespace detail {

void check_metric_row(std::int64_t step, const MetricRow& values, const char* op);

// {"step":12,"a":0.5,"b":null}
std::string metrics_json_line(std::int64_t step, const MetricRow& values);

// Parses one JSONL line back into (step, values).
std::pair<std::int64_t, MetricRow> parse_metrics_line(std::string_view line, const std::string& path,
                                                      std::size_t line_no);

// Calls fn(line, line_no) for each non-blank line of a JSONL text. A last line
// without its newline that does not parse (a write cut short by a crash) is
// skipped; any other bad line is an error.
template <class Fn>
void for_each_metrics_line(const std::string& text, Fn&& fn) {
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    const bool complete = end != std::string::npos;
    if (!complete) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    ++line_no;
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (!complete) {
      try {
        (void)Json::parse(line);
      } catch (const Error&) {
        return;  // torn last line
      }
    }
    fn(line, line_no);
  }
}

// A CSV field: quoted when it holds a comma, quote or line break (RFC 4180).
std::string csv_field(const std::string& s);

// Shortest text that reads back as the same double; "" for NaN.
std::string csv_number(double v);

}  // namespace detail

// The CSV text of a table: header "step,<names...>", then one line per row.
std::string metrics_csv(const MetricsTable& t);

// Reads a JSONL metrics log (as MetricsLogger writes it) into columns.
MetricsTable read_metrics(const std::string& path);

struct MetricsOptions {
  std::string csv_path{};                     // "" = the JSONL path with its extension replaced by ".csv"
  bool write_csv = true;
  int csv_every = 100;                        // rewrite the CSV every this many log() calls; 0 = only flush/close
  std::optional<std::int64_t> resume_step{};  // keep an existing log's rows with step <= this, then append
};

class MetricsLogger {
 public:
  explicit MetricsLogger(std::string jsonl_path, MetricsOptions options = {});

  MetricsLogger(const MetricsLogger&) = delete;
  MetricsLogger& operator=(const MetricsLogger&) = delete;
  MetricsLogger(MetricsLogger&&) noexcept = default;
  MetricsLogger& operator=(MetricsLogger&& other) noexcept;
  ~MetricsLogger() { close_quietly(); }

  // Writes one row: a JSONL line now (flushed), the CSV every csv_every calls.
  void log(std::int64_t step, const MetricRow& values);

  // Flushes the JSONL and rewrites the CSV.
  void flush();

  // flush(), then closes the JSONL. Further log() calls are errors; closing twice is fine.
  void close();

  // Everything logged so far, resumed rows included.
  const MetricsTable& table() const { return table_; }
  const std::vector<std::string>& columns() const { return table_.names; }
  std::size_t rows() const { return table_.size(); }
  const std::string& jsonl_path() const { return jsonl_path_; }
  const std::string& csv_path() const { return csv_path_; }  // "" when write_csv is false

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };

  void write_csv();
  void close_quietly() noexcept;

  std::string jsonl_path_, csv_path_;
  MetricsOptions options_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  MetricsTable table_;
  int since_csv_ = 0;
};

}  // namespace chord::io

#if CHORD_DEFINES_NON_TEMPLATES
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include "chord/io/atomic_file.hpp"

namespace chord::io {

CHORD_INLINE const std::vector<double>& MetricsTable::column(const std::string& name) const {
  const auto it = columns.find(name);
  if (it == columns.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    fail("metrics", "no column '", name, "' (columns: ", known.empty() ? "none" : known, ")");
  }
  return it->second;
}

CHORD_INLINE std::pair<std::vector<double>, std::vector<double>> MetricsTable::xy(const std::string& name) const {
  const std::vector<double>& col = column(name);
  std::pair<std::vector<double>, std::vector<double>> out;
  for (std::size_t i = 0; i < col.size(); ++i)
    if (!std::isnan(col[i])) {
      out.first.push_back(static_cast<double>(steps[i]));
      out.second.push_back(col[i]);
    }
  return out;
}

CHORD_INLINE void MetricsTable::append(std::int64_t step, const MetricRow& values) {
  bool join = !steps.empty() && steps.back() == step;
  for (const auto& [name, v] : values) {
    (void)v;
    if (join && has(name) && !std::isnan(columns.at(name).back())) join = false;
  }
  if (!join) {
    steps.push_back(step);
    for (auto& [name, col] : columns) {
      (void)name;
      col.push_back(std::numeric_limits<double>::quiet_NaN());
    }
  }
  for (const auto& [name, v] : values) {
    auto it = columns.find(name);
    if (it == columns.end()) {
      names.push_back(name);
      it = columns.emplace(name, std::vector<double>(steps.size(), std::numeric_limits<double>::quiet_NaN())).first;
    }
    it->second.back() = v;
  }
}

namespace detail {

CHORD_INLINE void check_metric_row(std::int64_t step, const MetricRow& values, const char* op) {
  check(step >= 0, op, "step must be >= 0, got ", step);
  std::set<std::string_view> seen;
  for (const auto& [name, v] : values) {
    (void)v;
    check(!name.empty(), op, "empty metric name at step ", step);
    check(name != "step", op, "'step' is the row's own column, not a metric name");
    check(seen.insert(name).second, op, "metric '", name, "' appears twice at step ", step);
  }
}

CHORD_INLINE std::string metrics_json_line(std::int64_t step, const MetricRow& values) {
  Json::Object obj;
  obj.reserve(values.size() + 1);
  obj.emplace_back("step", Json(step));
  for (const auto& [name, v] : values) {
    if (std::isnan(v)) obj.emplace_back(name, Json());
    else if (std::isinf(v)) obj.emplace_back(name, Json(v > 0 ? "inf" : "-inf"));
    else obj.emplace_back(name, Json(v));
  }
  return Json(std::move(obj)).dump();
}

CHORD_INLINE std::pair<std::int64_t, MetricRow> parse_metrics_line(std::string_view line, const std::string& path,
                                                                   std::size_t line_no) {
  Json j;
  try {
    j = Json::parse(line);
  } catch (const Error& e) {
    fail("read_metrics", path, " line ", line_no, ": ", e.what());
  }
  check(j.is_object(), "read_metrics", path, " line ", line_no, ": expected a JSON object");
  const Json* step = j.find("step");
  check(step != nullptr && step->is_number(), "read_metrics", path, " line ", line_no, ": no numeric \"step\"");
  const double sd = step->as_number();
  check(std::floor(sd) == sd && sd >= 0 && sd <= 9007199254740992.0, "read_metrics", path, " line ", line_no,
        ": step must be a non-negative integer, got ", sd);
  MetricRow values;
  for (const auto& [name, v] : j.as_object()) {
    if (name == "step") continue;
    double d = 0;
    if (v.is_number()) d = v.as_number();
    else if (v.is_null()) d = std::numeric_limits<double>::quiet_NaN();
    else if (v.is_string() && v.as_string() == "inf") d = std::numeric_limits<double>::infinity();
    else if (v.is_string() && v.as_string() == "-inf") d = -std::numeric_limits<double>::infinity();
    else if (v.is_string() && v.as_string() == "nan") d = std::numeric_limits<double>::quiet_NaN();
    else fail("read_metrics", path, " line ", line_no, ": value of '", name, "' is not a number, null or \"inf\"");
    values.emplace_back(name, d);
  }
  const auto s = static_cast<std::int64_t>(sd);
  try {
    check_metric_row(s, values, "read_metrics");
  } catch (const Error& e) {
    fail("read_metrics", path, " line ", line_no, ": ", e.what());
  }
  return {s, std::move(values)};
}

CHORD_INLINE std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

CHORD_INLINE std::string csv_number(double v) {
  if (std::isnan(v)) return "";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

}  // namespace detail

CHORD_INLINE std::string metrics_csv(const MetricsTable& t) {
  std::string out = "step";
  for (const auto& n : t.names) out += "," + detail::csv_field(n);
  out += "\n";
  std::vector<const std::vector<double>*> cols;
  for (const auto& n : t.names) cols.push_back(&t.columns.at(n));
  for (std::size_t i = 0; i < t.size(); ++i) {
    out += std::to_string(t.steps[i]);
    for (const auto* c : cols) out += "," + detail::csv_number((*c)[i]);
    out += "\n";
  }
  return out;
}

CHORD_INLINE MetricsTable read_metrics(const std::string& path) {
  check(!path.empty(), "read_metrics", "empty path");
  const std::string text = read_file(path, "read_metrics");
  MetricsTable t;
  detail::for_each_metrics_line(text, [&](std::string_view line, std::size_t line_no) {
    const auto [step, values] = detail::parse_metrics_line(line, path, line_no);
    t.append(step, values);
  });
  return t;
}

CHORD_INLINE MetricsLogger::MetricsLogger(std::string jsonl_path, MetricsOptions options)
    : jsonl_path_(std::move(jsonl_path)), options_(std::move(options)) {
  constexpr const char* op = "MetricsLogger";
  check(!jsonl_path_.empty(), op, "empty path");
  check(options_.csv_every >= 0, op, "csv_every must be >= 0, got ", options_.csv_every);
  check(!options_.resume_step || *options_.resume_step >= 0, op, "resume_step must be >= 0, got ",
        options_.resume_step.value_or(0));
  if (options_.write_csv) {
    csv_path_ = options_.csv_path.empty()
                    ? std::filesystem::path(jsonl_path_).replace_extension(".csv").string()
                    : options_.csv_path;
    check(csv_path_ != jsonl_path_, op, "the CSV path must differ from the JSONL path '", jsonl_path_, "'");
  }
  const auto parent = std::filesystem::path(jsonl_path_).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    check(!ec, op, "cannot create directory '", parent.string(), "': ", ec.message());
  }
  if (options_.resume_step && std::filesystem::exists(jsonl_path_)) {
    // Keep the lines of rows up to the resume step, verbatim.
    const std::string text = read_file(jsonl_path_, op);
    std::string kept;
    detail::for_each_metrics_line(text, [&](std::string_view line, std::size_t line_no) {
      const auto [step, values] = detail::parse_metrics_line(line, jsonl_path_, line_no);
      if (step > *options_.resume_step) return;
      table_.append(step, values);
      kept.append(line.data(), line.size());
      kept += '\n';
    });
    write_text_file_atomically(jsonl_path_, kept);
    file_.reset(std::fopen(jsonl_path_.c_str(), "ab"));
  } else {
    file_.reset(std::fopen(jsonl_path_.c_str(), "wb"));
  }
  check(file_ != nullptr, op, "cannot open '", jsonl_path_, "' for writing: ", std::strerror(errno));
  write_csv();
}

CHORD_INLINE MetricsLogger& MetricsLogger::operator=(MetricsLogger&& other) noexcept {
  if (this != &other) {
    close_quietly();
    jsonl_path_ = std::move(other.jsonl_path_);
    csv_path_ = std::move(other.csv_path_);
    options_ = std::move(other.options_);
    file_ = std::move(other.file_);
    table_ = std::move(other.table_);
    since_csv_ = other.since_csv_;
  }
  return *this;
}

CHORD_INLINE void MetricsLogger::log(std::int64_t step, const MetricRow& values) {
  check(file_ != nullptr, "MetricsLogger::log", "the logger for '", jsonl_path_, "' is closed");
  detail::check_metric_row(step, values, "MetricsLogger::log");
  const std::string line = detail::metrics_json_line(step, values) + "\n";
  check(std::fwrite(line.data(), 1, line.size(), file_.get()) == line.size() && std::fflush(file_.get()) == 0,
        "MetricsLogger::log", "writing '", jsonl_path_, "' failed: ", std::strerror(errno));
  table_.append(step, values);
  if (options_.csv_every > 0 && ++since_csv_ >= options_.csv_every) write_csv();
}

CHORD_INLINE void MetricsLogger::flush() {
  check(file_ != nullptr, "MetricsLogger::flush", "the logger for '", jsonl_path_, "' is closed");
  check(std::fflush(file_.get()) == 0, "MetricsLogger::flush", "flushing '", jsonl_path_, "' failed");
  write_csv();
}

CHORD_INLINE void MetricsLogger::close() {
  if (file_ == nullptr) return;
  write_csv();
  std::FILE* f = file_.release();
  check(std::fclose(f) == 0, "MetricsLogger::close", "closing '", jsonl_path_, "' failed");
}

CHORD_INLINE void MetricsLogger::write_csv() {
  since_csv_ = 0;
  if (!options_.write_csv) return;
  write_text_file_atomically(csv_path_, metrics_csv(table_));
}

CHORD_INLINE void MetricsLogger::close_quietly() noexcept {
  try {
    close();
  } catch (...) {
  }
}

}  // namespace chord::io
#endif  // CHORD_DEFINES_NON_TEMPLATES
