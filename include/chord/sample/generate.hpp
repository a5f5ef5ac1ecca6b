#pragma once
// Batched generation with a KV cache: prompts in, sampled completions with their log-probs out.
//
//   // the common case, one line: a prompt string in, completions out
//   auto texts = chord::generate_text(model, tokenizer, "347+285=", {.temperature = 0.7, .top_p = 0.9}, 4);
//
//   // the RL trainers: token batches in, tokens + lp_old + response mask out
//   auto out = chord::generate(model, prompt_ids, {.max_new_tokens = 64, .eos_id = eos, .seed = step}, 8);
//   out.tokens [N, L], out.log_probs [N, L], out.response_mask [N, L]   (N = prompts x n, L = max_new_tokens)
//
// How it runs (no graph is recorded, the model is in eval mode meanwhile): generate() is a loop
// over three parts.
//   1. prefill(): the B prompts, left-padded to the longest (P tokens) with key_start[b] = P - len_b,
//      go through the model once: one KV cache of B rows, slots [0, P). The cache's rows are then
//      repeated n times (KVCache::index_rows), so the n samples of a prompt share one prefill. Row
//      r = p * n + s is sample s of prompt p.
//   2. a Sampler (sample/sampler.hpp: one per device) draws one token per running row from the
//      last logits, with the row's own random stream: the first token from its prompt's last
//      logits, so samples of one group differ from the first token on.
//   3. decode_step(): the drawn tokens go through the model (Tq = 1 against the cache), until
//      every row has finished or max_new_tokens are drawn. A finished row is fed pad_id (harmless:
//      its results are masked); once at most half of the rows are still running, the cache is
//      compacted to them.
//
// Log-probs (docs/algorithms.md section 5). For each sampled token the result records
//     lp = log_softmax(logits / T)[token]
// over the FULL vocabulary of the model's logits: after temperature, BEFORE repetition penalty,
// top-k, top-p and min-p. That is what the RL trainer recomputes (chord::token_log_probs(logits,
// targets, T)), through the same row code (cpu::log_softmax_row_stats and cpu::log_prob_at, with
// 1 / T rounded the same way), so on fresh rollouts rho = exp(lp - lp_old) = 1 up to the rounding
// by which the cached and the full forward's logits differ (about 1e-6 in float). The filters
// change the distribution a token is drawn from, not the recorded lp: with filters on, lp is the
// log-prob under the unfiltered tempered policy (the policy the trainer optimises), not the log of
// the probability the token was actually drawn with. Greedy (T = 0) records lp at T = 1.
// Pass the trainer the same double `temperature` as here, so both round 1 / T identically.
//
// Finishing: a row stops at eos_id (finish_reason Eos) or at any of stop_ids (Stop), and that token
// is the last of its response; otherwise after max_new_tokens (Length). The response mask is 1 for
// every response token up to and including the EOS / stop token and 0 after it.
//
// On a GPU (the model's parameters there) the logits stay on the device: each step's draws run
// in one kernel (GpuSampler: sample/device_sampler.hpp, backend/cuda/sampling.hpp), with the same filters and
// the same recorded log-probs, and only a token and a log-prob per row come back to the host. A
// row's uniforms are its Generator's, drawn up front, so a seed gives the same tokens on every run.
//
// Randomness: each row draws from its own Generator, seeded from (seed, prompt index in this call,
// sample index), so results do not depend on the thread count, and a row's draws do not depend on
// how many prompts or samples follow it. Same model, prompts, options and thread count -> the same
// tokens, bit for bit.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/generator.hpp"
#include "chord/core/grad_mode.hpp"
#include "chord/core/non_templates.hpp"
#include "chord/core/tensor.hpp"
#include "chord/io/tokenizer.hpp"
#include "chord/nn/gpt.hpp"
#include "chord/nn/kv_cache.hpp"
#include "chord/sample/filters.hpp"
#include "chord/sample/sampler.hpp"

namespace chord::sample {

struct SampleOptions {
  int64_t max_new_tokens = 64;      // >= 1: the most tokens sampled per row (the response length L)
  double temperature = 1.0;         // >= 0; 0 is greedy (argmax)
  int64_t top_k = 0;                // >= 0; 0 is off
  double top_p = 1.0;               // in (0, 1]; 1 is off
  double min_p = 0.0;               // in [0, 1]; 0 is off
  double repetition_penalty = 1.0;  // > 0; 1 is off. Applies to the prompt's and the response's ids
  int64_t eos_id = -1;              // end of sequence; -1 is none (generate_text uses the tokenizer's)
  std::vector<int64_t> stop_ids = {};  // more ids that end a response (included in it, as EOS is)
  uint64_t seed = 0;                // the random streams (RL: vary it per step)
  int64_t pad_id = 0;               // fills the prompts' left padding and tokens after a response's end

  FilterOptions filters() const {
    return {.temperature = temperature, .top_k = top_k, .top_p = top_p, .min_p = min_p,
            .repetition_penalty = repetition_penalty};
  }

  void validate(int64_t vocab_size, const char* op = "generate") const;
};

enum class FinishReason { Eos, Stop, Length };

const char* finish_reason_name(FinishReason reason);

// One sampled response.
template <FloatingPoint T = float>
struct Completion {
  int64_t prompt_index = 0;     // which prompt of the call
  int64_t sample_index = 0;     // which of its n samples
  std::vector<int64_t> tokens;  // the response; its last token is the EOS / stop id unless Length
  std::vector<T> log_probs;     // [tokens.size()]: lp of each token (see the top of this file)
  FinishReason finish_reason = FinishReason::Length;
  std::string text;             // the decoded response (generate with a tokenizer only; no EOS)
};

// Every response of one call, N = prompts x n rows, prompt-major (row p * n + s).
template <FloatingPoint T = float>
struct GenerationResult {
  std::vector<Completion<T>> completions;  // [N]
  Tensor<int64_t> tokens;                  // [N, L] responses, pad_id after the end; L = max_new_tokens
  Tensor<T> log_probs;                     // [N, L] lp_old, 0 after the end
  Tensor<T> response_mask;                 // [N, L] 1 up to and including EOS / stop, 0 after
  int64_t num_prompts = 0, n = 0;

  int64_t num_rows() const { return static_cast<int64_t>(completions.size()); }
  // The number of sampled tokens (the sum of the mask).
  int64_t num_new_tokens() const {
    int64_t total = 0;
    for (const auto& c : completions) total += static_cast<int64_t>(c.tokens.size());
    return total;
  }
};

namespace detail {

inline uint64_t mix64(uint64_t z) {  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Restores the model's training mode when generation ends (also by an exception).
template <FloatingPoint T>
class EvalModeGuard {
 public:
  explicit EvalModeGuard(nn::Module<T>& m) : module_(m), was_training_(m.is_training()) { m.eval(); }
  ~EvalModeGuard() { module_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  nn::Module<T>& module_;
  bool was_training_;
};

// The N = prompts x n responses of one call while they are generated (row r = p * n + s).
template <FloatingPoint T>
class Responses {
 public:
  Responses(const std::vector<std::vector<int64_t>>& prompts, int64_t n, const SampleOptions& options)
      : options_(options), n_(n) {
    const int64_t N = static_cast<int64_t>(prompts.size()) * n;
    const auto L = static_cast<std::size_t>(options.max_new_tokens);
    contexts_.resize(static_cast<std::size_t>(N));
    rows_.resize(static_cast<std::size_t>(N));
    for (int64_t r = 0; r < N; ++r) {
      const auto& prompt = prompts[r / n];
      contexts_[r].reserve(prompt.size() + L);
      contexts_[r].assign(prompt.begin(), prompt.end());
      rows_[r].prompt_length = prompt.size();
      rows_[r].log_probs.reserve(L);
    }
  }

  int64_t size() const { return static_cast<int64_t>(rows_.size()); }
  // [N]: each row's prompt then its response so far (the repetition penalty's ids).
  std::span<const std::vector<int64_t>> contexts() const { return contexts_; }
  int64_t running() const {
    int64_t count = 0;
    for (const Row& row : rows_) count += row.done ? 0 : 1;
    return count;
  }
  // Per batch slot holding row slot_rows[i]: the row, or -1 once it finished.
  std::vector<int64_t> running_rows(const std::vector<int64_t>& slot_rows) const {
    std::vector<int64_t> out(slot_rows.size());
    for (std::size_t i = 0; i < slot_rows.size(); ++i) out[i] = rows_[slot_rows[i]].done ? -1 : slot_rows[i];
    return out;
  }
  // Per batch slot: the row's last token (the next decode step's input), or -1 once it finished.
  std::vector<int64_t> last_tokens(const std::vector<int64_t>& slot_rows) const {
    std::vector<int64_t> out(slot_rows.size());
    for (std::size_t i = 0; i < slot_rows.size(); ++i)
      out[i] = rows_[slot_rows[i]].done ? -1 : contexts_[slot_rows[i]].back();
    return out;
  }

  // Appends each drawn token and its log-prob to its row (slot i: row drawn_rows[i], -1 for
  // none) and notes which rows finished.
  void take(const std::vector<int64_t>& drawn_rows, const Draws<T>& draws) {
    for (std::size_t i = 0; i < drawn_rows.size(); ++i) {
      if (drawn_rows[i] < 0) continue;
      Row& row = rows_[drawn_rows[i]];
      const int64_t token = draws.tokens[i];
      row.log_probs.push_back(draws.log_probs[i]);
      contexts_[drawn_rows[i]].push_back(token);
      if (token == options_.eos_id) row.reason = FinishReason::Eos, row.done = true;
      else if (is_stop(token)) row.reason = FinishReason::Stop, row.done = true;
    }
  }

  GenerationResult<T> result() && {
    const int64_t N = size(), L = options_.max_new_tokens;
    GenerationResult<T> out;
    out.num_prompts = N / n_;
    out.n = n_;
    out.tokens = Tensor<int64_t>::full({N, L}, options_.pad_id);
    out.log_probs = Tensor<T>::zeros({N, L});
    out.response_mask = Tensor<T>::zeros({N, L});
    out.completions.resize(static_cast<std::size_t>(N));
    for (int64_t r = 0; r < N; ++r) {
      Row& row = rows_[r];
      Completion<T>& c = out.completions[r];
      c.prompt_index = r / n_;
      c.sample_index = r % n_;
      c.tokens.assign(contexts_[r].begin() + static_cast<std::ptrdiff_t>(row.prompt_length), contexts_[r].end());
      c.log_probs = std::move(row.log_probs);
      c.finish_reason = row.reason;
      for (std::size_t t = 0; t < c.tokens.size(); ++t) {
        out.tokens.data()[r * L + t] = c.tokens[t];
        out.log_probs.data()[r * L + t] = c.log_probs[t];
        out.response_mask.data()[r * L + t] = T(1);
      }
    }
    return out;
  }

 private:
  struct Row {
    std::size_t prompt_length = 0;
    std::vector<T> log_probs;
    FinishReason reason = FinishReason::Length;
    bool done = false;
  };
  bool is_stop(int64_t id) const {
    return std::find(options_.stop_ids.begin(), options_.stop_ids.end(), id) != options_.stop_ids.end();
  }

  const SampleOptions& options_;
  int64_t n_;
  std::vector<std::vector<int64_t>> contexts_;  // [N]
  std::vector<Row> rows_;                       // [N]
};

}  // namespace detail

// The seed of row (prompt_index, sample_index)'s random stream.
inline uint64_t row_seed(uint64_t seed, int64_t prompt_index, int64_t sample_index) {
  uint64_t x = detail::mix64(seed + 0x9e3779b97f4a7c15ULL);
  x = detail::mix64(x ^ (static_cast<uint64_t>(prompt_index) + 0x632be59bd9b4e019ULL));
  return detail::mix64(x ^ (static_cast<uint64_t>(sample_index) * 0xd1b54a32d192ed03ULL + 0x8cb92ba72f3d8dd7ULL));
}

// The batch a generation decodes: its KV cache, the generation row each of the cache's slots
// holds, and the logits the next draws read.
template <FloatingPoint T>
struct DecodeBatch {
  nn::KVCache<T> cache;        // one row per slot
  std::vector<int64_t> rows;   // [slots]: slot i holds generation row rows[i]
  Tensor<T> logits;            // [logit rows, V], contiguous on the model's device: slot i draws from row
  int64_t rows_per_logit = 1;  //   i / rows_per_logit (n after the prefill: a prompt's row serves its n samples)
  Tensor<int64_t> tokens;      // [slots, 1]: the next decode step's input, reused from step to step
};

// Prefill: the prompts, right-aligned in one batch [B, P] (P the longest; row b's left padding is
// pad_id, and key_start[b] = P - len_b keeps attention off it), go through the model once, into a
// KV cache of cache_length slots. Its rows are then repeated n times (KVCache::index_rows), so the
// n samples of a prompt share one prefill: slot r = p * n + s holds sample s of prompt p. The
// logits are each prompt's last ones, [B, V].
template <FloatingPoint T>
DecodeBatch<T> prefill(nn::GPT<T>& model, const std::vector<std::vector<int64_t>>& prompts, int64_t n,
                       int64_t cache_length, int64_t pad_id) {
  const int64_t B = static_cast<int64_t>(prompts.size());
  int64_t P = 0;
  for (const auto& prompt : prompts) P = std::max<int64_t>(P, static_cast<int64_t>(prompt.size()));
  Tensor<int64_t> prompt_tokens = Tensor<int64_t>::full({B, P}, pad_id);  // [B, P]
  DecodeBatch<T> batch{model.make_cache(B, cache_length), {}, {}, n, {}};
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = static_cast<int64_t>(prompts[b].size());
    std::copy(prompts[b].begin(), prompts[b].end(), prompt_tokens.data() + b * P + (P - len));
    batch.cache.key_start.data()[b] = P - len;
  }
  batch.logits = model.forward(prompt_tokens, batch.cache).select(1, P - 1).contiguous();  // [B, V]
  const int64_t N = B * n;
  batch.rows.resize(static_cast<std::size_t>(N));
  for (int64_t r = 0; r < N; ++r) batch.rows[r] = r;
  if (n > 1) {
    std::vector<int64_t> repeat(static_cast<std::size_t>(N));
    for (int64_t r = 0; r < N; ++r) repeat[r] = r / n;
    batch.cache = batch.cache.index_rows(repeat);
  }
  batch.tokens = Tensor<int64_t>::empty({N, 1});
  return batch;
}

// Decode: one token per slot through the model, against the cache: last_tokens[i] is slot i's
// input, -1 for a finished row (fed pad_id instead: harmless, its results are masked). Once at
// most half of the slots still run and steps_left (the decode steps still to come, this one
// included) make the copy pay off, the batch is first compacted to the running rows. Leaves the
// new logits [slots, V] in batch.logits.
template <FloatingPoint T>
void decode_step(nn::GPT<T>& model, DecodeBatch<T>& batch, const std::vector<int64_t>& last_tokens, int64_t pad_id,
                 int64_t steps_left) {
  const int64_t slots = static_cast<int64_t>(batch.rows.size());
  std::vector<int64_t> inputs = last_tokens;  // [slots]
  const auto running = static_cast<int64_t>(std::count_if(inputs.begin(), inputs.end(), [](int64_t t) { return t >= 0; }));
  if (running <= slots / 2 && steps_left >= 4) {
    std::vector<int64_t> keep_slots, keep_rows, keep_inputs;
    for (int64_t i = 0; i < slots; ++i)
      if (inputs[i] >= 0) keep_slots.push_back(i), keep_rows.push_back(batch.rows[i]), keep_inputs.push_back(inputs[i]);
    batch.cache = batch.cache.index_rows(keep_slots);
    batch.rows = std::move(keep_rows);
    inputs = std::move(keep_inputs);
    batch.tokens = Tensor<int64_t>::empty({running, 1});
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) batch.tokens.data()[i] = inputs[i] >= 0 ? inputs[i] : pad_id;
  const Tensor<T> logits = model.forward(batch.tokens, batch.cache);  // [slots, 1, V]
  check(logits.is_contiguous(), "generate", "internal: the model's logits are not contiguous");
  batch.logits = logits.view({logits.size(0), logits.size(2)});  // [slots, V]
  batch.rows_per_logit = 1;
}

// Samples n completions of each prompt (token ids, any lengths >= 1). The longest prompt plus
// max_new_tokens - 1 must fit in the model's context.
template <FloatingPoint T>
GenerationResult<T> generate(nn::GPT<T>& model, const std::vector<std::vector<int64_t>>& prompts,
                             const SampleOptions& options = {}, int64_t n = 1) {
  const char* op = "generate";
  const nn::GPTConfig& config = model.config();
  const int64_t V = config.vocab_size;
  options.validate(V, op);
  check(n >= 1, op, "n (samples per prompt) must be >= 1, got ", n);
  check(!prompts.empty(), op, "no prompts");
  const int64_t B = static_cast<int64_t>(prompts.size());
  int64_t P = 0;  // the longest prompt
  for (int64_t b = 0; b < B; ++b) {
    const auto& prompt = prompts[b];
    check(!prompt.empty(), op, "prompt ", b, " is empty (start it with a BOS token)");
    for (std::size_t t = 0; t < prompt.size(); ++t)
      check(prompt[t] >= 0 && prompt[t] < V, op, "token ", prompt[t], " at position ", t, " of prompt ", b,
            " is outside the vocabulary [0, ", V, ")");
    P = std::max<int64_t>(P, static_cast<int64_t>(prompt.size()));
  }
  const int64_t L = options.max_new_tokens;
  const int64_t slots = P + L - 1;  // the last sampled token is never fed back
  check(slots <= config.context_length, op, "the longest prompt (", P, " tokens) plus max_new_tokens (", L,
        ") - 1 = ", slots, " exceeds the context length ", config.context_length);

  NoGradGuard no_grad;
  detail::EvalModeGuard<T> eval(model);
  detail::Responses<T> responses(prompts, n, options);
  std::vector<uint64_t> seeds(static_cast<std::size_t>(B * n));
  for (int64_t r = 0; r < B * n; ++r) seeds[r] = row_seed(options.seed, r / n, r % n);
  const std::unique_ptr<Sampler<T>> sampler =
      make_sampler<T>(model.device(), V, options.filters(), L, seeds, responses.contexts());

  DecodeBatch<T> batch = prefill(model, prompts, n, slots, options.pad_id);
  Draws<T> draws;
  for (int64_t step = 0;; ++step) {
    const std::vector<int64_t> drawing = responses.running_rows(batch.rows);  // [slots]: -1 for a finished row
    sampler->draw(batch.logits, batch.rows_per_logit, drawing, step, responses.contexts(), draws);
    responses.take(drawing, draws);
    if (step == L - 1 || responses.running() == 0) break;
    decode_step(model, batch, responses.last_tokens(batch.rows), options.pad_id, /*steps_left=*/L - 1 - step);
  }
  return std::move(responses).result();
}

// prompts [B, P]: B prompts of P tokens each.
template <FloatingPoint T>
GenerationResult<T> generate(nn::GPT<T>& model, const Tensor<int64_t>& prompts, const SampleOptions& options = {},
                             int64_t n = 1) {
  check(prompts.defined() && prompts.dim() == 2, "generate", "expected prompts [batch, time], got ",
        prompts.defined() ? prompts.shape() : Shape{});
  const Tensor<int64_t> dense = prompts.contiguous();
  const int64_t B = dense.size(0), P = dense.size(1);
  std::vector<std::vector<int64_t>> rows(static_cast<std::size_t>(B));
  for (int64_t b = 0; b < B; ++b) rows[b].assign(dense.data() + b * P, dense.data() + (b + 1) * P);
  return generate(model, rows, options, n);
}

// Text prompts through a tokenizer: each completion's text is filled in (special tokens dropped).
// Each prompt starts with the tokenizer's BOS token, as every row chord trains on does (rl/rows.hpp);
// eos_id -1 becomes the tokenizer's EOS and pad_id its PAD.
template <FloatingPoint T>
GenerationResult<T> generate(nn::GPT<T>& model, const io::Tokenizer& tokenizer,
                             const std::vector<std::string>& prompts, SampleOptions options = {}, int64_t n = 1) {
  check(tokenizer.vocab_size() <= model.config().vocab_size, "generate", "the tokenizer has ",
        tokenizer.vocab_size(), " tokens but the model only ", model.config().vocab_size);
  if (options.eos_id == -1) options.eos_id = tokenizer.eos_id();
  options.pad_id = tokenizer.pad_id();
  std::vector<std::vector<int64_t>> ids;
  ids.reserve(prompts.size());
  for (const std::string& prompt : prompts) ids.push_back(tokenizer.encode(prompt, /*add_bos=*/true));
  GenerationResult<T> out = generate(model, ids, options, n);
  for (Completion<T>& c : out.completions) {
    std::vector<int64_t> printable;  // ids past the tokenizer's vocabulary (an untrained model may emit them) dropped
    printable.reserve(c.tokens.size());
    for (int64_t id : c.tokens)
      if (id < tokenizer.vocab_size()) printable.push_back(id);
    c.text = tokenizer.decode(printable);
  }
  return out;
}

// The one-line common case: n completions of one prompt, as text.
template <FloatingPoint T>
std::vector<std::string> generate_text(nn::GPT<T>& model, const io::Tokenizer& tokenizer, std::string_view prompt,
                                       const SampleOptions& options = {}, int64_t n = 1) {
  GenerationResult<T> out = generate(model, tokenizer, std::vector<std::string>{std::string(prompt)}, options, n);
  std::vector<std::string> texts;
  texts.reserve(out.completions.size());
  for (Completion<T>& c : out.completions) texts.push_back(std::move(c.text));
  return texts;
}

}  // namespace chord::sample

namespace chord {
using sample::Completion;
using sample::FinishReason;
using sample::GenerationResult;
using sample::SampleOptions;
using sample::generate;
using sample::generate_text;
}  // namespace chord

#if CHORD_DEFINES_NON_TEMPLATES

namespace chord::sample {

CHORD_INLINE void SampleOptions::validate(int64_t vocab_size, const char* op) const {
  filters().validate(op);
  check(max_new_tokens >= 1, op, "max_new_tokens must be >= 1, got ", max_new_tokens);
  check(eos_id >= -1 && eos_id < vocab_size, op, "eos_id ", eos_id, " is outside [0, ", vocab_size,
        ") (use -1 for none)");
  for (std::size_t i = 0; i < stop_ids.size(); ++i)
    check(stop_ids[i] >= 0 && stop_ids[i] < vocab_size, op, "stop_ids[", i, "] = ", stop_ids[i],
          " is outside the vocabulary [0, ", vocab_size, ")");
  check(pad_id >= 0 && pad_id < vocab_size, op, "pad_id ", pad_id, " is outside the vocabulary [0, ", vocab_size,
        ")");
}

CHORD_INLINE const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::Eos: return "eos";
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
  }
  return "?";
}

}  // namespace chord::sample
#endif  // CHORD_DEFINES_NON_TEMPLATES
