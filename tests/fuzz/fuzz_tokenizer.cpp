// libFuzzer target: chord::io::Tokenizer::load on the bytes (written to a scratch file). A
// tokenizer that loads must encode and decode: every id decodes, text it encodes decodes back to
// itself, and save() + load() gives the same tokenizer.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chord/io/tokenizer.hpp"
#include "fuzz_common.hpp"

using namespace chord;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = chord_fuzz::fresh_scratch_dir();
  const std::string path = dir + "/tokenizer.json";
  chord_fuzz::write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
  std::optional<io::Tokenizer> loaded;
  try {
    loaded = io::Tokenizer::load(path);
  } catch (const Error&) {
    return 0;
  }
  const io::Tokenizer& tok = *loaded;
  FUZZ_CHECK(tok.vocab_size() >= 4);
  FUZZ_CHECK(tok.pad_id() != tok.bos_id() && tok.pad_id() != tok.eos_id() && tok.bos_id() != tok.eos_id());

  // Every id decodes; the ids of the text decode back to it.
  std::vector<int64_t> all;
  for (int64_t id = 0; id < tok.vocab_size(); ++id) {
    all.push_back(id);
    (void)tok.token_text(id);
  }
  const std::string everything = tok.decode(all);
  FUZZ_CHECK(tok.decode(tok.encode(everything, true, true)) == everything);
  (void)tok.decode(all, /*skip_special=*/false);

  // A few texts: the ones outside a char-level vocabulary (or not UTF-8) are refused with an error.
  const std::string texts[] = {"", "q0=ab#", "hello, world\n", "\xC3\xA9t\xC3\xA9", "\xFF\xFE", "\xE2\x82"};
  for (const std::string& text : texts) {
    try {
      const std::vector<int64_t> ids = tok.encode(text, true, true);
      FUZZ_CHECK(tok.decode(ids) == text);
    } catch (const Error&) {
      FUZZ_CHECK(tok.kind() == io::TokenizerKind::Char);
    }
  }
  // Out-of-range ids are refused.
  for (int64_t bad : {int64_t{-1}, tok.vocab_size()}) {
    bool refused = false;
    try {
      (void)tok.decode({bad});
    } catch (const Error&) {
      refused = true;
    }
    FUZZ_CHECK(refused);
  }

  // save() + load() is the same tokenizer.
  const std::string copy = dir + "/copy.tokenizer.json";
  tok.save(copy);
  FUZZ_CHECK(io::Tokenizer::load(copy) == tok);
  return 0;
}
