// Tokenizers: byte-level and character-level ids, special tokens, UTF-8
// round trips, errors for unknown characters, bad ids and invalid UTF-8,
// and save/load with a clear chord::Error for every kind of broken file.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "test_util.hpp"

using namespace chord;
using chord::io::Tokenizer;
using chord::io::TokenizerKind;
using chord::testing::temp_path;
using chord::testing::write_raw;
using Ids = std::vector<int64_t>;

namespace {
// Files in the temp dir whose names start with `prefix` (to find leftover temporaries).
std::vector<std::string> files_starting_with(const std::string& path_prefix) {
  const std::filesystem::path p(path_prefix);
  const std::string prefix = p.filename().string();
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(p.parent_path()))
    if (entry.path().filename().string().rfind(prefix, 0) == 0) found.push_back(entry.path().filename().string());
  return found;
}

const std::string kUtf8Text = "h\xC3\xA9llo \xE2\x86\x92 \xE4\xB8\x96\xE7\x95\x8C";  // "héllo → 世界"
}  // namespace

TEST_CASE("byte-level tokenizer: bytes are ids 0..255, then PAD 256, BOS 257, EOS 258") {
  const Tokenizer tok = Tokenizer::byte_level();
  CHECK(tok.kind() == TokenizerKind::Byte);
  CHECK(tok.vocab_size() == 259);
  CHECK(tok.pad_id() == 256);
  CHECK(tok.bos_id() == 257);
  CHECK(tok.eos_id() == 258);
  CHECK(tok.encode("AB z") == Ids{65, 66, 32, 122});
  CHECK(tok.token_text(65) == "A");
  CHECK(tok.token_text(256) == "<pad>");
  CHECK(tok.token_text(257) == "<bos>");
  CHECK(tok.token_text(258) == "<eos>");
  CHECK(tok.is_special(257));
  CHECK_FALSE(tok.is_special(255));
}

TEST_CASE("byte-level tokenizer round-trips ASCII, multi-byte UTF-8 and arbitrary bytes") {
  const Tokenizer tok = Tokenizer::byte_level();
  CHECK(tok.decode(tok.encode("hello, world")) == "hello, world");
  const Ids utf8 = tok.encode(kUtf8Text);
  CHECK(utf8.size() == kUtf8Text.size());  // one id per byte
  CHECK(utf8[1] == 0xC3);
  CHECK(utf8[2] == 0xA9);
  CHECK(tok.decode(utf8) == kUtf8Text);
  // Bytes that are not UTF-8, and a NUL, are fine at the byte level.
  const std::string raw("a\xFF\x00\xC3\xED\xA0\x80z", 8);
  const Ids ids = tok.encode(raw);
  CHECK(ids == Ids{97, 255, 0, 195, 237, 160, 128, 122});
  CHECK(tok.decode(ids) == raw);
  CHECK(tok.encode("").empty());
  CHECK(tok.decode({}).empty());
}

TEST_CASE("char-level tokenizer: PAD, BOS, EOS are 0, 1, 2, then the corpus's sorted distinct characters") {
  const Tokenizer tok = Tokenizer::char_level("hello world");
  CHECK(tok.kind() == TokenizerKind::Char);
  CHECK(tok.pad_id() == 0);
  CHECK(tok.bos_id() == 1);
  CHECK(tok.eos_id() == 2);
  // ' ' d e h l o r w
  CHECK(tok.vocab_size() == 3 + 8);
  CHECK(tok.token_text(3) == " ");
  CHECK(tok.token_text(4) == "d");
  CHECK(tok.token_text(10) == "w");
  CHECK(tok.encode("hello") == Ids{6, 5, 7, 7, 8});
  CHECK(tok.encode("world hello") == Ids{10, 8, 9, 7, 4, 3, 6, 5, 7, 7, 8});
  CHECK(tok.decode(tok.encode("hello world")) == "hello world");
  // An explicit alphabet works the same way, in any order, with repeats.
  CHECK(Tokenizer::char_level("cabba").encode("abc") == Ids{3, 4, 5});
}

TEST_CASE("char-level tokenizer works on code points, not bytes") {
  const Tokenizer tok = Tokenizer::char_level(kUtf8Text);
  // ' ' h l o é → 世 界 (sorted by code point)
  CHECK(tok.vocab_size() == 3 + 8);
  CHECK(tok.token_text(3) == " ");
  CHECK(tok.token_text(7) == "\xC3\xA9");          // é  U+00E9
  CHECK(tok.token_text(8) == "\xE2\x86\x92");      // →  U+2192
  CHECK(tok.token_text(9) == "\xE4\xB8\x96");      // 世 U+4E16
  CHECK(tok.token_text(10) == "\xE7\x95\x8C");     // 界 U+754C
  const Ids ids = tok.encode(kUtf8Text);
  CHECK(ids == Ids{4, 7, 5, 5, 6, 3, 8, 3, 9, 10});  // one id per character
  CHECK(tok.decode(ids) == kUtf8Text);
  // A 4-byte character (U+1F600) and the edges of each UTF-8 length.
  const std::string edges =
      "\x7F" "\xC2\x80" "\xDF\xBF" "\xE0\xA0\x80" "\xEF\xBF\xBF"  // 1-, 2- and 3-byte edges
      "\xF0\x90\x80\x80" "\xF0\x9F\x98\x80" "\xF4\x8F\xBF\xBF";         // 4-byte: U+10000, U+1F600, U+10FFFF
  const Tokenizer wide = Tokenizer::char_level(edges);
  CHECK(wide.vocab_size() == 3 + 8);
  CHECK(wide.encode(edges).size() == 8);
  CHECK(wide.decode(wide.encode(edges)) == edges);
}

TEST_CASE("encode adds BOS and EOS on request for both kinds") {
  const Tokenizer chars = Tokenizer::char_level("ab");
  CHECK(chars.encode("ba", true, false) == Ids{1, 4, 3});
  CHECK(chars.encode("ba", false, true) == Ids{4, 3, 2});
  CHECK(chars.encode("ba", true, true) == Ids{1, 4, 3, 2});
  CHECK(chars.encode("", true, true) == Ids{1, 2});
  const Tokenizer bytes = Tokenizer::byte_level();
  CHECK(bytes.encode("a", true, true) == Ids{257, 97, 258});
}

TEST_CASE("decode skips special tokens by default and shows them as <bos>/<eos>/<pad> on request") {
  const Tokenizer chars = Tokenizer::char_level("hi");
  const Ids ids = {1, 3, 4, 2, 0, 0};
  CHECK(chars.decode(ids) == "hi");
  CHECK(chars.decode(ids, true) == "hi");
  CHECK(chars.decode(ids, false) == "<bos>hi<eos><pad><pad>");
  const Tokenizer bytes = Tokenizer::byte_level();
  CHECK(bytes.decode({257, 104, 105, 258, 256}) == "hi");
  CHECK(bytes.decode({257, 104, 105, 258, 256}, false) == "<bos>hi<eos><pad>");
}

TEST_CASE("char-level encode names an unknown character, safely printed, and its position") {
  const Tokenizer tok = Tokenizer::char_level("abc");
  CHORD_CHECK_ERROR(tok.encode("abx"), "Tokenizer::encode: character 'x' (U+0078) at character 2 (byte offset 2)");
  CHORD_CHECK_ERROR(tok.encode("ab\xC3\xA9"), "'\xC3\xA9' (U+00E9) at character 2 (byte offset 2)");
  // Positions count characters; byte offsets count bytes.
  CHORD_CHECK_ERROR(Tokenizer::char_level("a\xC3\xA9").encode("\xC3\xA9z"),
                    "'z' (U+007A) at character 1 (byte offset 2)");
  // A control character is shown only by its code point.
  CHECK_THROWS_WITH_AS(tok.encode("a\nb"), doctest::Contains("character U+000A at character 1"), Error);
  try {
    tok.encode("a\nb");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
  }
  CHORD_CHECK_ERROR(tok.encode("x"), "not in the vocabulary of 3 characters");
}

TEST_CASE("decode and token_text reject out-of-range ids, naming the id and its position") {
  const Tokenizer bytes = Tokenizer::byte_level();
  CHORD_CHECK_ERROR(bytes.decode({3, 259}), "Tokenizer::decode: id 259 at position 1 is out of range");
  CHORD_CHECK_ERROR(bytes.decode({-1}), "id -1 at position 0");
  CHORD_CHECK_ERROR(bytes.token_text(259), "Tokenizer::token_text: id 259 is out of range");
  const Tokenizer chars = Tokenizer::char_level("ab");
  CHORD_CHECK_ERROR(chars.decode({3, 4, 5}), "id 5 at position 2 is out of range for a vocabulary of 5 tokens");
  CHORD_CHECK_ERROR(chars.token_text(-2), "id -2");
}

TEST_CASE("char-level tokenizer rejects invalid UTF-8 with the byte offset") {
  CHORD_CHECK_ERROR(Tokenizer::char_level("ab\xFF"), "Tokenizer::char_level: corpus is not valid UTF-8");
  CHORD_CHECK_ERROR(Tokenizer::char_level("ab\xFF"), "(byte 0xFF) at byte offset 2");
  CHORD_CHECK_ERROR(Tokenizer::char_level("a\x80"), "unexpected continuation byte");
  const Tokenizer tok = Tokenizer::char_level("abc");
  CHORD_CHECK_ERROR(tok.encode("ab\xC3"), "truncated multi-byte sequence (byte 0xC3) at byte offset 2");
  CHORD_CHECK_ERROR(tok.encode("a\xC3" "b"), "truncated multi-byte sequence (byte 0xC3) at byte offset 1");
  CHORD_CHECK_ERROR(tok.encode("\xC0\x80"), "overlong encoding");                 // NUL as two bytes
  CHORD_CHECK_ERROR(tok.encode("a\xE0\x80\x80"), "overlong encoding (byte 0xE0) at byte offset 1");
  CHORD_CHECK_ERROR(tok.encode("\xED\xA0\x80"), "encoded surrogate");             // U+D800
  CHORD_CHECK_ERROR(tok.encode("\xF4\x90\x80\x80"), "above U+10FFFF");
  CHORD_CHECK_ERROR(tok.encode("\xF8\x88\x80\x80\x80"), "invalid lead byte");
  CHORD_CHECK_ERROR(Tokenizer::char_level(""), "the corpus is empty");
}

TEST_CASE("save then load gives the same tokenizer and the same encodings, written atomically") {
  const std::string text = "tab\there, \"quotes\", back\\slash, nul" + std::string(1, '\0') + ", " + kUtf8Text +
                           " \xF0\x9F\x98\x80\n";
  for (const Tokenizer& tok : {Tokenizer::char_level(text), Tokenizer::byte_level()}) {
    const bool is_char = tok.kind() == TokenizerKind::Char;
    const std::string path = temp_path(is_char ? "char.tokenizer.json" : "byte.tokenizer.json");
    write_raw(path, "old contents");  // save replaces an existing file
    tok.save(path);
    const Tokenizer loaded = Tokenizer::load(path);
    CHECK(loaded == tok);
    CHECK(loaded.kind() == tok.kind());
    CHECK(loaded.vocab_size() == tok.vocab_size());
    CHECK(loaded.pad_id() == tok.pad_id());
    CHECK(loaded.bos_id() == tok.bos_id());
    CHECK(loaded.eos_id() == tok.eos_id());
    CHECK(loaded.encode(text, true, true) == tok.encode(text, true, true));
    CHECK(loaded.decode(loaded.encode(text)) == text);
    // Atomic: only the target exists, no temporary beside it.
    CHECK(files_starting_with(path) == std::vector<std::string>{std::filesystem::path(path).filename().string()});
    // The documented layout.
    const io::Json json = io::Json::parse(io::read_file(path));
    CHECK(json.at("kind").as_string() == (is_char ? "char" : "byte"));
    CHECK(json.at("special").at("pad").as_int() == tok.pad_id());
    CHECK(json.at("special").at("bos").as_int() == tok.bos_id());
    CHECK(json.at("special").at("eos").as_int() == tok.eos_id());
    if (is_char) {
      const auto& vocab = json.at("vocab").as_array();
      REQUIRE(static_cast<int64_t>(vocab.size()) == tok.vocab_size() - 3);
      for (std::size_t i = 0; i < vocab.size(); ++i)
        CHECK(vocab[i].as_string() == tok.token_text(static_cast<int64_t>(i) + 3));
    } else {
      CHECK(json.find("vocab") == nullptr);
    }
    std::filesystem::remove(path);
  }
}

TEST_CASE("a saved char-level file is the documented JSON") {
  const std::string path = temp_path("exact.tokenizer.json");
  Tokenizer::char_level("ba").save(path);
  CHECK(io::read_file(path) == R"({"kind":"char","vocab":["a","b"],"special":{"pad":0,"bos":1,"eos":2}})"
                               "\n");
  std::filesystem::remove(path);
}

TEST_CASE("load accepts special tokens at other ids; the other tokens fill the free ids in order") {
  const std::string path = temp_path("layout.tokenizer.json");
  write_raw(path, R"({"kind":"char","vocab":["a","b"],"special":{"pad":2,"bos":3,"eos":4}})");
  const Tokenizer chars = Tokenizer::load(path);
  CHECK(chars.encode("ab", true, true) == Ids{3, 0, 1, 4});
  CHECK(chars.decode({3, 1, 0, 4, 2}, false) == "<bos>ba<eos><pad>");
  write_raw(path, R"({"special":{"eos":2,"bos":1,"pad":0},"kind":"byte"})");
  const Tokenizer bytes = Tokenizer::load(path);
  CHECK(bytes.vocab_size() == 259);
  CHECK(bytes.encode("A") == Ids{65 + 3});
  CHECK(bytes.decode({1, 68, 258, 2}) == std::string("A\xFF"));
  std::filesystem::remove(path);
}

TEST_CASE("load rejects every kind of broken tokenizer file, naming the file and the problem") {
  const std::string path = temp_path("broken.tokenizer.json");
  const std::string special = R"("special":{"pad":0,"bos":1,"eos":2})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not JSON"},
      {"{\"kind\": \"char\",", "not JSON (json: expected a string key at byte 16)"},
      {"[1, 2]", "the top level is not a JSON object"},
      {R"({"vocab":["a"],)" + special + "}", "missing key \"kind\""},
      {R"({"kind":"word","vocab":["a"],)" + special + "}", "\"kind\" must be \"char\" or \"byte\", got \"word\""},
      {R"({"kind":3,"vocab":["a"],)" + special + "}", "\"kind\" must be \"char\" or \"byte\", got 3"},
      {R"({"kind":"char","vocab":["a"],"extra":1,)" + special + "}", "unexpected key \"extra\""},
      {R"({"kind":"byte","vocab":["a"],)" + special + "}", "a byte-level tokenizer has no \"vocab\""},
      {R"({"kind":"char",)" + special + "}", "missing key \"vocab\""},
      {R"({"kind":"char","vocab":"abc",)" + special + "}", "\"vocab\" must be an array of strings"},
      {R"({"kind":"char","vocab":[],)" + special + "}", "\"vocab\" is empty"},
      {R"({"kind":"char","vocab":["a",7],)" + special + "}", "vocab entry 1 is not a string"},
      {R"({"kind":"char","vocab":["a",""],)" + special + "}", "vocab entry 1 is empty"},
      {R"({"kind":"char","vocab":["a","bc"],)" + special + "}", "vocab entry 1 (\"bc\") is more than one character"},
      {"{\"kind\":\"char\",\"vocab\":[\"a\",\"\xFF\"]," + special + "}",
       "invalid UTF-8 in string: invalid lead byte"},  // the JSON reader is strict UTF-8 itself
      {R"({"kind":"char","vocab":["\udc00"],)" + special + "}",
       "unpaired low surrogate"},
      {R"({"kind":"char","vocab":["a","b","\u00e9","a"],)" + special + "}",
       "vocab entries 0 and 3 are both 'a' (U+0061)"},
      {R"({"kind":"char","vocab":["\n","\u000a"],)" + special + "}", "vocab entries 0 and 1 are both U+000A"},
      {R"({"kind":"char","vocab":["a"]})", "missing key \"special\""},
      {R"({"kind":"char","vocab":["a"],"special":[0,1,2]})", "\"special\" must be an object"},
      {R"({"kind":"char","vocab":["a"],"special":{"bos":1,"eos":2}})", "missing special token \"pad\""},
      {R"({"kind":"char","vocab":["a"],"special":{"pad":0,"bos":1,"eos":2,"unk":3}})",
       "unexpected special token \"unk\""},
      {R"({"kind":"char","vocab":["a"],"special":{"pad":0,"bos":1.5,"eos":2}})",
       "special token \"bos\" must be an integer id, got 1.5"},
      {R"({"kind":"char","vocab":["a"],"special":{"pad":"0","bos":1,"eos":2}})",
       "special token \"pad\" must be an integer id, got \"0\""},
      {R"({"kind":"char","vocab":["a"],"special":{"pad":0,"bos":1,"eos":4}})",
       "special token \"eos\" has id 4, outside the vocabulary [0, 4)"},
      {R"({"kind":"char","vocab":["a"],"special":{"pad":-1,"bos":1,"eos":2}})", "\"pad\" has id -1, outside"},
      {R"({"kind":"byte","special":{"pad":0,"bos":1,"eos":1e999}})", "number out of range"},
      {R"({"kind":"byte","special":{"pad":256,"bos":257,"eos":259}})", "has id 259, outside the vocabulary [0, 259)"},
      {R"({"kind":"char","vocab":["a"],"special":{"pad":0,"bos":0,"eos":2}})",
       "special tokens share an id (pad 0, bos 0, eos 2)"},
      {R"({"kind":"byte","special":{"pad":256,"bos":257,"eos":257}})", "special tokens share an id"},
  };
  for (const auto& c : cases) {  // (not a structured binding: older clang cannot capture one in INFO)
    const std::string& contents = c.first;
    const std::string& needle = c.second;
    INFO("file: " << contents);
    write_raw(path, contents);
    const std::string prefix = "Tokenizer::load: '" + path + "' is not a valid tokenizer file: ";
    CHORD_CHECK_ERROR(Tokenizer::load(path), prefix.c_str());
    CHORD_CHECK_ERROR(Tokenizer::load(path), needle.c_str());
  }
  std::filesystem::remove(path);
  CHORD_CHECK_ERROR(Tokenizer::load(path), ("Tokenizer::load: cannot open '" + path + "'").c_str());
}

TEST_CASE("tokenizer_path_for puts the tokenizer beside the checkpoint") {
  CHECK(io::tokenizer_path_for("runs/model.safetensors") == "runs/model.tokenizer.json");
  CHECK(io::tokenizer_path_for("step_100.safetensors") == "step_100.tokenizer.json");
  CHECK(io::tokenizer_path_for("runs/model.ckpt") == "runs/model.ckpt.tokenizer.json");
  CHECK(io::tokenizer_path_for("runs/model") == "runs/model.tokenizer.json");
  CHECK(io::tokenizer_path_for("a.safetensors.bak") == "a.safetensors.bak.tokenizer.json");
}

TEST_CASE("a tokenizer saved at tokenizer_path_for(checkpoint) loads back beside it") {
  const std::string checkpoint = temp_path("beside.safetensors");
  const Tokenizer tok = Tokenizer::char_level("0123456789+= ");
  tok.save(io::tokenizer_path_for(checkpoint));
  CHECK(Tokenizer::load(temp_path("beside.tokenizer.json")).encode("12+3=15") == tok.encode("12+3=15"));
  std::filesystem::remove(io::tokenizer_path_for(checkpoint));
}
