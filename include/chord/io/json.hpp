#pragma once
// A small JSON reader and writer: enough for safetensors headers, tokenizer
// files and metric logs. The parser is strict (RFC 8259 values, no trailing
// commas, no comments), checks every bound, and reports the byte offset of
// the first problem in a chord::Error.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/non_templates.hpp"

namespace chord::io {

class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;  // keeps the file's key order

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : value_(b) {}
  Json(double d) : value_(d) {}
  Json(int v) : value_(static_cast<double>(v)) {}
  Json(int64_t v) : value_(static_cast<double>(v)) {}
  Json(const char* s) : value_(std::string(s)) {}
  Json(std::string s) : value_(std::move(s)) {}
  Json(Array a) : value_(std::make_shared<Array>(std::move(a))) {}
  Json(Object o) : value_(std::make_shared<Object>(std::move(o))) {}

  bool is_null() const { return std::holds_alternative<std::monostate>(value_); }
  bool is_bool() const { return std::holds_alternative<bool>(value_); }
  bool is_number() const { return std::holds_alternative<double>(value_); }
  bool is_string() const { return std::holds_alternative<std::string>(value_); }
  bool is_array() const { return std::holds_alternative<std::shared_ptr<Array>>(value_); }
  bool is_object() const { return std::holds_alternative<std::shared_ptr<Object>>(value_); }

  bool as_bool(const char* what = "value") const { return get<bool>(what, "a boolean"); }
  double as_number(const char* what = "value") const { return get<double>(what, "a number"); }
  // An integer that fits int64 exactly (JSON numbers are doubles: exact up to 2^53).
  int64_t as_int(const char* what = "value") const;
  const std::string& as_string(const char* what = "value") const { return get<std::string>(what, "a string"); }
  const Array& as_array(const char* what = "value") const { return *get<std::shared_ptr<Array>>(what, "an array"); }
  const Object& as_object(const char* what = "value") const {
    return *get<std::shared_ptr<Object>>(what, "an object");
  }
  // The member `key` of an object, or nullptr.
  const Json* find(std::string_view key) const;
  const Json& at(std::string_view key) const;

  std::string dump() const;
  static Json parse(std::string_view text);

 private:
  template <class V>
  const V& get(const char* what, const char* kind) const {
    const V* v = std::get_if<V>(&value_);
    check(v != nullptr, "json", what, " must be ", kind);
    return *v;
  }

  static void write_string(std::string& out, const std::string& s);
  void write(std::string& out) const;
  struct Parser;

  std::variant<std::monostate, bool, double, std::string, std::shared_ptr<Array>, std::shared_ptr<Object>> value_;
};

}  // namespace chord::io

#if CHORD_DEFINES_NON_TEMPLATES
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "chord/io/utf8.hpp"

namespace chord::io {

CHORD_INLINE int64_t Json::as_int(const char* what) const {
  const double d = as_number(what);
  check(std::floor(d) == d && std::abs(d) <= 9007199254740992.0, "json", what, " must be an integer, got ", d);
  return static_cast<int64_t>(d);
}

CHORD_INLINE const Json* Json::find(std::string_view key) const {
  for (const auto& [k, v] : as_object()) if (k == key) return &v;
  return nullptr;
}

CHORD_INLINE const Json& Json::at(std::string_view key) const {
  const Json* v = find(key);
  check(v != nullptr, "json", "missing key \"", std::string(key), "\"");
  return *v;
}

CHORD_INLINE std::string Json::dump() const {
  std::string out;
  write(out);
  return out;
}

CHORD_INLINE void Json::write_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

CHORD_INLINE void Json::write(std::string& out) const {
  if (is_null()) out += "null";
  else if (is_bool()) out += std::get<bool>(value_) ? "true" : "false";
  else if (is_number()) {
    const double d = std::get<double>(value_);
    check(std::isfinite(d), "json", "cannot write a non-finite number (", d, ")");
    char buf[32];
    if (std::floor(d) == d && std::abs(d) < 1e15) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(d));
    else std::snprintf(buf, sizeof buf, "%.17g", d);
    out += buf;
  } else if (is_string()) write_string(out, std::get<std::string>(value_));
  else if (is_array()) {
    out += '[';
    bool first = true;
    for (const Json& v : as_array()) {
      if (!first) out += ',';
      first = false;
      v.write(out);
    }
    out += ']';
  } else {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : as_object()) {
      if (!first) out += ',';
      first = false;
      write_string(out, k);
      out += ':';
      v.write(out);
    }
    out += '}';
  }
}

struct Json::Parser {
  std::string_view s;
  std::size_t pos;
  static constexpr int kMaxDepth = 64;

  [[noreturn]] void error(const char* what) const { fail("json", what, " at byte ", pos); }
  [[noreturn]] void error(const std::string& what) const { error(what.c_str()); }
  void skip_space() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\r' || s[pos] == '\t')) ++pos;
  }
  bool consume(std::string_view word) {
    if (s.substr(pos, word.size()) != word) return false;
    pos += word.size();
    return true;
  }
  Json value(int depth) {
    if (depth > kMaxDepth) error("nesting too deep");
    skip_space();
    if (pos >= s.size()) error("unexpected end of input");
    const char c = s[pos];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') return Json(string());
    if (consume("true")) return Json(true);
    if (consume("false")) return Json(false);
    if (consume("null")) return Json();
    if (c == '-' || (c >= '0' && c <= '9')) return Json(number());
    error("unexpected character");
  }
  Json object(int depth) {
    ++pos;  // {
    Object members;
    skip_space();
    if (pos < s.size() && s[pos] == '}') {
      ++pos;
      return Json(std::move(members));
    }
    while (true) {
      skip_space();
      if (pos >= s.size() || s[pos] != '"') error("expected a string key");
      std::string key = string();
      skip_space();
      if (pos >= s.size() || s[pos] != ':') error("expected ':'");
      ++pos;
      members.emplace_back(std::move(key), value(depth + 1));
      skip_space();
      if (pos < s.size() && s[pos] == ',') { ++pos; continue; }
      if (pos < s.size() && s[pos] == '}') { ++pos; return Json(std::move(members)); }
      error("expected ',' or '}'");
    }
  }
  Json array(int depth) {
    ++pos;  // [
    Array items;
    skip_space();
    if (pos < s.size() && s[pos] == ']') {
      ++pos;
      return Json(std::move(items));
    }
    while (true) {
      items.push_back(value(depth + 1));
      skip_space();
      if (pos < s.size() && s[pos] == ',') { ++pos; continue; }
      if (pos < s.size() && s[pos] == ']') { ++pos; return Json(std::move(items)); }
      error("expected ',' or ']'");
    }
  }
  unsigned hex4() {
    if (pos + 4 > s.size()) error("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s[pos++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= h - '0';
      else if (h >= 'a' && h <= 'f') v |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') v |= h - 'A' + 10;
      else error("bad hex digit in \\u escape");
    }
    return v;
  }
  std::string string() {
    ++pos;  // "
    std::string out;
    while (true) {
      if (pos >= s.size()) error("unterminated string");
      const char c = s[pos++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) error("control character in string");
      if (static_cast<unsigned char>(c) >= 0x80) {  // a multi-byte character: strict UTF-8 (RFC 8259 section 8.1)
        std::size_t at = pos - 1;
        char32_t cp = 0;
        if (const char* why = detail::utf8_next(s, at, cp)) error(std::string("invalid UTF-8 in string: ") + why);
        out.append(s.substr(pos - 1, at - (pos - 1)));
        pos = at;
        continue;
      }
      if (c != '\\') { out += c; continue; }
      if (pos >= s.size()) error("unterminated escape");
      const char e = s[pos++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
            if (!consume("\\u")) error("unpaired surrogate");
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) error("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            error("unpaired low surrogate");
          }
          out += detail::utf8_encode(cp);
          break;
        }
        default: error("unknown escape");
      }
    }
  }
  double number() {
    const std::size_t start = pos;
    if (s[pos] == '-') ++pos;
    auto digits = [&] {
      const std::size_t d0 = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
      return pos - d0;
    };
    if (digits() == 0) error("expected digits");
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      if (digits() == 0) error("expected digits after '.'");
    }
    if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
      ++pos;
      if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) ++pos;
      if (digits() == 0) error("expected exponent digits");
    }
    const std::string text(s.substr(start, pos - start));
    const double d = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(d)) error("number out of range");
    return d;
  }
};

CHORD_INLINE Json Json::parse(std::string_view text) {
  Parser p{text, 0};
  Json v = p.value(0);
  p.skip_space();
  check(p.pos == text.size(), "json", "unexpected trailing characters at byte ", p.pos);
  return v;
}

}  // namespace chord::io
#endif  // CHORD_DEFINES_NON_TEMPLATES
