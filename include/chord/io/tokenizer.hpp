#pragma once
// Tokenizers for toy GPT training: character-level and byte-level, each with
// three special tokens (PAD, BOS, EOS), saved as JSON beside the checkpoint.
//
//   byte-level:  ids 0..255 are the bytes, then PAD = 256, BOS = 257, EOS = 258 (vocab_size 259).
//                Any bytes encode; decode may return bytes that are not valid UTF-8 (a model can
//                emit half of a multi-byte character).
//   char-level:  PAD = 0, BOS = 1, EOS = 2, then the corpus's distinct UTF-8 code points in
//                increasing order. Text must be valid UTF-8; a character outside the vocabulary
//                is an error (there is no <unk>: a toy task's alphabet is known in advance).
//
// The file (written atomically):
//   {"kind": "char", "vocab": ["\n", " ", "a", ...], "special": {"pad": 0, "bos": 1, "eos": 2}}
//   {"kind": "byte", "special": {"pad": 256, "bos": 257, "eos": 258}}
// "vocab" lists the non-special tokens in increasing id order; they take the ids the special
// tokens leave free. load() checks every part of the file and names the file and the problem.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chord/core/non_templates.hpp"
#include "chord/io/json.hpp"

namespace chord::io {

namespace detail {

// "'é' (U+00E9)", or just "U+000A" for control characters, which would garble a message.
std::string describe_code_point(char32_t cp);

// Arbitrary bytes made safe for an error message: printable ASCII as is, the
// rest as \xNN, cut after `max_bytes`.
std::string printable_bytes(std::string_view s, std::size_t max_bytes = 40);

std::string hex_byte(unsigned char c);

}  // namespace detail

enum class TokenizerKind { Char, Byte };

class Tokenizer {
 public:
  // The 256 bytes as ids 0..255, then PAD, BOS, EOS.
  static Tokenizer byte_level();

  // PAD, BOS, EOS as ids 0, 1, 2, then every distinct code point of `corpus`
  // (a training text, or just the alphabet) in increasing order.
  static Tokenizer char_level(std::string_view corpus);

  TokenizerKind kind() const { return kind_; }
  int64_t vocab_size() const { return static_cast<int64_t>(pieces_.size()); }
  int64_t pad_id() const { return special_.pad; }
  int64_t bos_id() const { return special_.bos; }
  int64_t eos_id() const { return special_.eos; }
  bool is_special(int64_t id) const { return id == special_.pad || id == special_.bos || id == special_.eos; }

  // Text to ids, optionally framed by BOS and EOS.
  std::vector<int64_t> encode(std::string_view text, bool add_bos = false, bool add_eos = false) const;

  // Ids to text. Special tokens are dropped, or written as "<pad>", "<bos>",
  // "<eos>" when skip_special is false (for display: those strings are not
  // escaped, so they can collide with the same letters in the text).
  std::string decode(const std::vector<int64_t>& ids, bool skip_special = true) const;

  // One token's text: the character (UTF-8), the single byte, or "<pad>"/"<bos>"/"<eos>".
  std::string token_text(int64_t id) const;

  // Writes the JSON file described at the top, atomically.
  void save(const std::string& path) const;

  static Tokenizer load(const std::string& path);

  bool operator==(const Tokenizer& other) const {
    return kind_ == other.kind_ && pieces_ == other.pieces_ && special_ == other.special_;
  }

 private:
  struct Special {
    int64_t pad, bos, eos;
    bool operator==(const Special&) const = default;
  };

  // `tokens` are the non-special tokens' bytes (one code point each for Char,
  // one byte each for Byte); they take the ids that `special` leaves free, in
  // order. Callers have validated both.
  Tokenizer(TokenizerKind kind, std::vector<std::string> tokens, Special special);

  [[noreturn]] static void corrupt_file(const std::string& path, const std::string& why);

  // A value from the file for an error message (dump() refuses a number that overflowed to inf).
  static std::string json_text(const Json& v);

  std::string special_text(int64_t id) const;

  TokenizerKind kind_;
  Special special_;
  std::vector<std::string> pieces_;              // [vocab_size]: the bytes each id decodes to ("" for specials)
  std::unordered_map<char32_t, int64_t> char_ids_;  // Char: code point -> id
  std::array<int64_t, 256> byte_ids_{};          // Byte: byte -> id
};

// Where a checkpoint's tokenizer lives: "run/model.safetensors" ->
// "run/model.tokenizer.json"; any other path gets ".tokenizer.json" appended.
std::string tokenizer_path_for(const std::string& checkpoint_path);

}  // namespace chord::io

#if CHORD_DEFINES_NON_TEMPLATES
#include <cmath>
#include <cstdio>
#include <utility>

#include "chord/core/error.hpp"
#include "chord/io/atomic_file.hpp"
#include "chord/io/utf8.hpp"

namespace chord::io {

namespace detail {

CHORD_INLINE std::string describe_code_point(char32_t cp) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(cp));
  const bool control = cp < 0x20 || (cp >= 0x7F && cp < 0xA0);
  return control ? std::string(hex) : "'" + utf8_encode(cp) + "' (" + hex + ")";
}

CHORD_INLINE std::string printable_bytes(std::string_view s, std::size_t max_bytes) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max_bytes; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) out += static_cast<char>(c);
    else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  if (s.size() > max_bytes) out += "...";
  return out;
}

CHORD_INLINE std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", c);
  return buf;
}

}  // namespace detail

CHORD_INLINE Tokenizer Tokenizer::byte_level() {
  std::vector<std::string> pieces;
  for (int b = 0; b < 256; ++b) pieces.emplace_back(1, static_cast<char>(b));
  return Tokenizer(TokenizerKind::Byte, std::move(pieces), {256, 257, 258});
}

CHORD_INLINE Tokenizer Tokenizer::char_level(std::string_view corpus) {
  std::vector<bool> seen(0x110000, false);  // one flag per code point: linear in the corpus
  std::size_t pos = 0;
  while (pos < corpus.size()) {
    const std::size_t at = pos;
    char32_t cp;
    if (const char* why = detail::utf8_next(corpus, pos, cp))
      fail("Tokenizer::char_level", "corpus is not valid UTF-8: ", why, " (byte ",
           detail::hex_byte(static_cast<unsigned char>(corpus[at])), ") at byte offset ", at);
    seen[cp] = true;
  }
  std::vector<std::string> pieces;
  for (char32_t cp = 0; cp < seen.size(); ++cp)
    if (seen[cp]) pieces.push_back(detail::utf8_encode(cp));
  check(!pieces.empty(), "Tokenizer::char_level", "the corpus is empty: a tokenizer needs at least one character");
  return Tokenizer(TokenizerKind::Char, std::move(pieces), {0, 1, 2});
}

CHORD_INLINE std::vector<int64_t> Tokenizer::encode(std::string_view text, bool add_bos, bool add_eos) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size() + 2);
  if (add_bos) ids.push_back(special_.bos);
  if (kind_ == TokenizerKind::Byte) {
    for (char c : text) ids.push_back(byte_ids_[static_cast<unsigned char>(c)]);
  } else {
    std::size_t pos = 0;
    for (int64_t index = 0; pos < text.size(); ++index) {
      const std::size_t at = pos;
      char32_t cp;
      if (const char* why = detail::utf8_next(text, pos, cp))
        fail("Tokenizer::encode", "text is not valid UTF-8: ", why, " (byte ",
             detail::hex_byte(static_cast<unsigned char>(text[at])), ") at byte offset ", at);
      const auto it = char_ids_.find(cp);
      check(it != char_ids_.end(), "Tokenizer::encode", "character ", detail::describe_code_point(cp),
            " at character ", index, " (byte offset ", at, ") is not in the vocabulary of ",
            char_ids_.size(), " characters");
      ids.push_back(it->second);
    }
  }
  if (add_eos) ids.push_back(special_.eos);
  return ids;
}

CHORD_INLINE std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  std::string out;
  out.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const int64_t id = ids[i];
    check(id >= 0 && id < vocab_size(), "Tokenizer::decode", "id ", id, " at position ", i,
          " is out of range for a vocabulary of ", vocab_size(), " tokens");
    if (!is_special(id)) out += pieces_[static_cast<std::size_t>(id)];
    else if (!skip_special) out += special_text(id);
  }
  return out;
}

CHORD_INLINE std::string Tokenizer::token_text(int64_t id) const {
  check(id >= 0 && id < vocab_size(), "Tokenizer::token_text", "id ", id,
        " is out of range for a vocabulary of ", vocab_size(), " tokens");
  return is_special(id) ? special_text(id) : pieces_[static_cast<std::size_t>(id)];
}

CHORD_INLINE void Tokenizer::save(const std::string& path) const {
  Json::Object root;
  root.emplace_back("kind", kind_ == TokenizerKind::Char ? "char" : "byte");
  if (kind_ == TokenizerKind::Char) {
    Json::Array vocab;
    for (int64_t id = 0; id < vocab_size(); ++id)
      if (!is_special(id)) vocab.emplace_back(pieces_[static_cast<std::size_t>(id)]);
    root.emplace_back("vocab", std::move(vocab));
  }
  root.emplace_back("special",
                    Json::Object{{"pad", special_.pad}, {"bos", special_.bos}, {"eos", special_.eos}});
  write_text_file_atomically(path, Json(std::move(root)).dump() + "\n");
}

CHORD_INLINE Tokenizer Tokenizer::load(const std::string& path) {
  const std::string text = read_file(path, "Tokenizer::load");
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Error& e) {
    corrupt_file(path, std::string("not JSON (") + e.what() + ")");
  }
  if (!root.is_object()) corrupt_file(path, "the top level is not a JSON object");
  for (const auto& [key, value] : root.as_object())
    if (key != "kind" && key != "vocab" && key != "special")
      corrupt_file(path, "unexpected key \"" + detail::printable_bytes(key) + "\" (expected kind, vocab, special)");

  const Json* kind = root.find("kind");
  if (!kind) corrupt_file(path, "missing key \"kind\"");
  if (!kind->is_string() || (kind->as_string() != "char" && kind->as_string() != "byte"))
    corrupt_file(path, "\"kind\" must be \"char\" or \"byte\", got " + json_text(*kind));
  const TokenizerKind k = kind->as_string() == "char" ? TokenizerKind::Char : TokenizerKind::Byte;

  std::vector<std::string> pieces;
  const Json* vocab = root.find("vocab");
  if (k == TokenizerKind::Byte) {
    if (vocab) corrupt_file(path, "a byte-level tokenizer has no \"vocab\" (its tokens are the 256 bytes)");
    for (int b = 0; b < 256; ++b) pieces.emplace_back(1, static_cast<char>(b));
  } else {
    if (!vocab) corrupt_file(path, "missing key \"vocab\"");
    if (!vocab->is_array()) corrupt_file(path, "\"vocab\" must be an array of strings");
    if (vocab->as_array().empty()) corrupt_file(path, "\"vocab\" is empty");
    std::unordered_map<char32_t, std::size_t> first_index;
    for (std::size_t i = 0; i < vocab->as_array().size(); ++i) {
      const Json& entry = vocab->as_array()[i];
      const std::string where = "vocab entry " + std::to_string(i);
      if (!entry.is_string()) corrupt_file(path, where + " is not a string");
      const std::string& s = entry.as_string();
      if (s.empty()) corrupt_file(path, where + " is empty; each entry must be exactly one character");
      std::size_t pos = 0;
      char32_t cp;
      if (const char* why = detail::utf8_next(s, pos, cp))
        corrupt_file(path, where + " (\"" + detail::printable_bytes(s) + "\") is not valid UTF-8: " + why);
      if (pos != s.size())
        corrupt_file(path, where + " (\"" + detail::printable_bytes(s) + "\") is more than one character");
      const auto [it, inserted] = first_index.emplace(cp, i);
      if (!inserted)
        corrupt_file(path, "vocab entries " + std::to_string(it->second) + " and " + std::to_string(i) +
                               " are both " + detail::describe_code_point(cp));
      pieces.push_back(s);
    }
  }
  const int64_t size = static_cast<int64_t>(pieces.size()) + 3;

  const Json* special = root.find("special");
  if (!special) corrupt_file(path, "missing key \"special\"");
  if (!special->is_object())
    corrupt_file(path, "\"special\" must be an object {\"pad\": id, \"bos\": id, \"eos\": id}");
  for (const auto& [key, value] : special->as_object())
    if (key != "pad" && key != "bos" && key != "eos")
      corrupt_file(path,
                   "unexpected special token \"" + detail::printable_bytes(key) + "\" (expected pad, bos, eos)");
  const auto special_id = [&](const char* name) -> int64_t {
    const Json* v = special->find(name);
    if (!v) corrupt_file(path, std::string("missing special token \"") + name + "\"");
    const std::string where = std::string("special token \"") + name + "\"";
    if (!v->is_number() || std::floor(v->as_number()) != v->as_number())
      corrupt_file(path, where + " must be an integer id, got " + json_text(*v));
    const double d = v->as_number();
    if (d < 0 || d >= static_cast<double>(size))
      corrupt_file(path,
                   where + " has id " + json_text(*v) + ", outside the vocabulary [0, " + std::to_string(size) + ")");
    return static_cast<int64_t>(d);
  };
  const Special sp{special_id("pad"), special_id("bos"), special_id("eos")};
  if (sp.pad == sp.bos || sp.pad == sp.eos || sp.bos == sp.eos)
    corrupt_file(path, "special tokens share an id (pad " + std::to_string(sp.pad) + ", bos " +
                           std::to_string(sp.bos) + ", eos " + std::to_string(sp.eos) + ")");
  return Tokenizer(k, std::move(pieces), sp);
}

CHORD_INLINE Tokenizer::Tokenizer(TokenizerKind kind, std::vector<std::string> tokens, Special special)
    : kind_(kind), special_(special) {
  pieces_.resize(tokens.size() + 3);
  std::size_t next = 0;
  for (int64_t id = 0; id < static_cast<int64_t>(pieces_.size()); ++id) {
    if (is_special(id)) continue;
    std::string& piece = pieces_[static_cast<std::size_t>(id)];
    piece = std::move(tokens[next++]);
    if (kind_ == TokenizerKind::Byte) {
      byte_ids_[static_cast<unsigned char>(piece[0])] = id;
    } else {
      std::size_t pos = 0;
      char32_t cp = 0;
      detail::utf8_next(piece, pos, cp);
      char_ids_.emplace(cp, id);
    }
  }
}

CHORD_INLINE void Tokenizer::corrupt_file(const std::string& path, const std::string& why) {
  fail("Tokenizer::load", "'", path, "' is not a valid tokenizer file: ", why);
}

CHORD_INLINE std::string Tokenizer::json_text(const Json& v) {
  try {
    return detail::printable_bytes(v.dump());
  } catch (const Error&) {
    return "a number too large to represent";
  }
}

CHORD_INLINE std::string Tokenizer::special_text(int64_t id) const {
  if (id == special_.pad) return "<pad>";
  if (id == special_.bos) return "<bos>";
  return "<eos>";
}

CHORD_INLINE std::string tokenizer_path_for(const std::string& checkpoint_path) {
  constexpr std::string_view ext = ".safetensors";
  if (checkpoint_path.size() >= ext.size() &&
      std::string_view(checkpoint_path).substr(checkpoint_path.size() - ext.size()) == ext)
    return checkpoint_path.substr(0, checkpoint_path.size() - ext.size()) + ".tokenizer.json";
  return checkpoint_path + ".tokenizer.json";
}

}  // namespace chord::io
#endif  // CHORD_DEFINES_NON_TEMPLATES
