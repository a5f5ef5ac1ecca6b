#pragma once
// The tiny GPT, tokenizer, environment and trainer options that fuzz_resume.cpp resumes into and
// make_corpus.cpp trains to write its seed checkpoints: the two must agree (method, seed, shapes).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chord/io/tokenizer.hpp"
#include "chord/nn/config.hpp"
#include "chord/rl/environment.hpp"
#include "chord/rl/trainer.hpp"

namespace chord_fuzz {

// Prompts "q<k>=" for k in 0..3; a response starting with 'a' is correct. The expert answers "a#b".
class TinyEnv : public chord::rl::Environment {
 public:
  std::vector<chord::rl::Query> sample_queries(int64_t n, chord::Generator& gen) const override {
    std::vector<chord::rl::Query> out;
    for (int64_t i = 0; i < n; ++i) out.push_back(query(gen.randint(0, 4)));
    return out;
  }
  double reward(const chord::rl::Query&, std::string_view response) const override {
    if (response.empty()) return -0.1;
    return response[0] == 'a' ? 1.0 : static_cast<double>(static_cast<unsigned char>(response[0]) % 3) / 2;
  }
  std::string demonstrate(const chord::rl::Query&) const override { return "a#b"; }
  std::vector<chord::rl::EvalSplit> eval_splits() const override { return {{"toy", {query(0), query(1)}}}; }
  static chord::rl::Query query(int64_t k) { return {"q" + std::to_string(k) + "=", "a", "toy"}; }
};

// Made once: char_level() walks every code point, which is slow under the sanitizers.
inline const chord::io::Tokenizer& tiny_tokenizer() {
  static const chord::io::Tokenizer tok = chord::io::Tokenizer::char_level("q0123=ab#");
  return tok;
}

inline chord::nn::GPTConfig tiny_config() {
  return {.vocab_size = tiny_tokenizer().vocab_size(), .context_length = 12, .n_layer = 1, .n_head = 1, .n_embd = 4};
}

// GRPO, 3 steps, seed 5; beta > 0 keeps a frozen reference (reference.safetensors in checkpoints).
inline chord::rl::TrainerOptions tiny_options(double beta, const std::string& out_dir = "") {
  chord::rl::TrainerOptions o{.method = chord::rl::Method::GRPO, .steps = 3, .prompts_per_step = 2, .group_size = 2,
                              .lr = 1e-2, .max_new_tokens = 3, .beta = beta, .checkpoint_every = 1,
                              .out_dir = out_dir, .print_progress = false, .seed = 5};
  o.eval = {.k = 1, .max_new_tokens = 3};
  return o;
}

}  // namespace chord_fuzz
