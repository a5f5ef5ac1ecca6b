// libFuzzer target: chord::io::load_gpt<float> on a checkpoint directory made from the bytes.
// The bytes are cut at chord_fuzz::kFileSeparator into, in order:
//   model.safetensors, model.config.json, model.tokenizer.json, tokenizer.json
// (a missing part is a missing file; make_corpus writes a tiny save_gpt checkpoint this way).
// A checkpoint that loads must run a forward pass and survive save_gpt + load_gpt bit for bit.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "chord/io/gpt_checkpoint.hpp"
#include "fuzz_common.hpp"

using namespace chord;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* const kNames[] = {"model.safetensors", "model.config.json", "model.tokenizer.json",
                                       "tokenizer.json"};
  const std::string dir = chord_fuzz::fresh_scratch_dir();
  const std::string ckpt = dir + "/ckpt";
  std::filesystem::create_directories(ckpt);
  const std::vector<std::string> parts =
      chord_fuzz::split_files(std::string_view(reinterpret_cast<const char*>(data), size));
  for (std::size_t i = 0; i < parts.size() && i < std::size(kNames); ++i)
    chord_fuzz::write_file(ckpt + "/" + kNames[i], parts[i]);
  try {
    io::LoadedGPT<float> loaded = io::load_gpt<float>(ckpt);
    nn::GPT<float>& model = *loaded.model;
    const nn::GPTConfig& c = model.config();
    const int64_t T = std::min<int64_t>(c.context_length, 3);
    const Tensor<float> logits = model.forward(Tensor<int64_t>::zeros({1, T}));
    FUZZ_CHECK((logits.shape() == Shape{1, T, c.vocab_size}));

    // save_gpt + load_gpt reproduce the model and the tokenizer exactly.
    const io::Tokenizer* tok = loaded.tokenizer && loaded.tokenizer->vocab_size() <= c.vocab_size
                                   ? &*loaded.tokenizer : nullptr;
    const std::string copy = dir + "/copy.safetensors";
    io::save_gpt(copy, model, tok);
    io::LoadedGPT<float> again = io::load_gpt<float>(copy);
    FUZZ_CHECK(io::gpt_checkpoint_detail::first_difference(again.model->config(), c).empty());
    FUZZ_CHECK(again.tokenizer.has_value() == (tok != nullptr));
    if (tok) FUZZ_CHECK(*again.tokenizer == *tok);
    const auto a = model.named_parameters(), b = again.model->named_parameters();
    FUZZ_CHECK(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      FUZZ_CHECK(a[i].first == b[i].first && a[i].second.shape() == b[i].second.shape());
      const Tensor<float> x = a[i].second.contiguous(), y = b[i].second.contiguous();
      FUZZ_CHECK(std::memcmp(x.data(), y.data(), sizeof(float) * x.numel()) == 0);
    }
  } catch (const Error&) {
  }
  return 0;
}
