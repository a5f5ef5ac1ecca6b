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
// How it runs (no graph is recorded, the model is in eval mode meanwhile):
//   1. prefill: the B prompts, left-padded to the longest (P tokens) with key_start[b] = P - len_b, go
//      through the model once: one KV cache of B rows, slots [0, P).
//   2. the cache's rows are repeated n times (KVCache::index_rows), so the n samples of a prompt share
//      one prefill. Row r = p * n + s is sample s of prompt p.
//   3. the first token of every row is drawn from its prompt's last logits with the row's own random
//      stream: samples of one group differ from the first token on.
//   4. decode: one token per step for the whole batch (Tq = 1 against the cache) until every row has
//      finished or max_new_tokens are drawn. A finished row is fed pad_id (harmless: its results are
//      masked); once at most half of the rows are still running, the cache is compacted to them.
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
// in one kernel (sample/device_sampler.hpp, backend/cuda/sampling.hpp), with the same filters and
// the same recorded log-probs, and only a token and a log-prob per row come back to the host. A
// row's uniforms are its Generator's, drawn up front, so a seed gives the same tokens on every run.
//
// Randomness: each row draws from its own Generator, seeded from (seed, prompt index in this call,
// sample index), so results do not depend on the thread count, and a row's draws do not depend on
// how many prompts or samples follow it. Same model, prompts, options and thread count -> the same
// tokens, bit for bit.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cpu/thread_pool.hpp"
#include "chord/backend/cpu/token_logprobs.hpp"
#include "chord/core/error.hpp"
#include "chord/core/generator.hpp"
#include "chord/core/grad_mode.hpp"
#include "chord/core/tensor.hpp"
#include "chord/io/tokenizer.hpp"
#include "chord/nn/gpt.hpp"
#include "chord/nn/kv_cache.hpp"
#include "chord/sample/device_sampler.hpp"
#include "chord/sample/filters.hpp"

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

  void validate(int64_t vocab_size, const char* op = "generate") const {
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
};

enum class FinishReason { Eos, Stop, Length };

inline const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::Eos: return "eos";
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
  }
  return "?";
}

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

// One row's state while it is generated.
template <FloatingPoint T>
struct Row {
  Generator gen;
  std::vector<int64_t> context;  // prompt then response (the repetition penalty's ids)
  std::size_t prompt_length = 0;
  std::vector<T> log_probs;
  FinishReason reason = FinishReason::Length;
  bool done = false;
};

}  // namespace detail

// The seed of row (prompt_index, sample_index)'s random stream.
inline uint64_t row_seed(uint64_t seed, int64_t prompt_index, int64_t sample_index) {
  uint64_t x = detail::mix64(seed + 0x9e3779b97f4a7c15ULL);
  x = detail::mix64(x ^ (static_cast<uint64_t>(prompt_index) + 0x632be59bd9b4e019ULL));
  return detail::mix64(x ^ (static_cast<uint64_t>(sample_index) * 0xd1b54a32d192ed03ULL + 0x8cb92ba72f3d8dd7ULL));
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
  const FilterOptions filters = options.filters();
  // lp is recorded at temperature T (T = 1 when greedy), 1 / T rounded as token_log_probs does.
  const T inv_temperature = static_cast<T>(1.0 / (filters.greedy() ? 1.0 : options.temperature));

  // 1. prefill: prompts right-aligned in tokens [B, P].
  Tensor<int64_t> prompt_tokens = Tensor<int64_t>::full({B, P}, options.pad_id);  // [B, P]
  nn::KVCache<T> cache = model.make_cache(B, slots);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = static_cast<int64_t>(prompts[b].size());
    std::copy(prompts[b].begin(), prompts[b].end(), prompt_tokens.data() + b * P + (P - len));
    cache.key_start.data()[b] = P - len;
  }
  // [B, V] where the draws happen: on the model's GPU, else on the host
  const bool on_gpu = model.device().is_cuda();
  Tensor<T> last_logits = model.forward(prompt_tokens, cache).select(1, P - 1).contiguous();
  if (!on_gpu) last_logits = last_logits.to(Device::cpu());

  // 2. n rows per prompt.
  const int64_t N = B * n;
  if (n > 1) {
    std::vector<int64_t> repeat(static_cast<std::size_t>(N));
    for (int64_t r = 0; r < N; ++r) repeat[r] = r / n;
    cache = cache.index_rows(repeat);
  }
  std::vector<detail::Row<T>> rows(static_cast<std::size_t>(N));
  for (int64_t r = 0; r < N; ++r) {
    auto& row = rows[r];
    const auto& prompt = prompts[r / n];
    row.gen.manual_seed(row_seed(options.seed, r / n, r % n));
    row.context.reserve(prompt.size() + static_cast<std::size_t>(L));
    row.context.assign(prompt.begin(), prompt.end());
    row.prompt_length = prompt.size();
    row.log_probs.reserve(static_cast<std::size_t>(L));
  }

  // On a GPU: the rows' uniforms [N, L], the k-th of row r its k-th draw from its Generator.
  std::optional<DeviceSampler<T>> device_sampler;
  if (on_gpu) {
    std::vector<double> uniforms;
    if (!filters.greedy()) {
      uniforms.resize(static_cast<std::size_t>(N * L));
      for (int64_t r = 0; r < N; ++r)
        for (int64_t k = 0; k < L; ++k) uniforms[r * L + k] = rows[r].gen.uniform();
    }
    std::vector<std::vector<int64_t>> contexts;
    if (filters.repetition_penalty != 1.0)
      for (const auto& row : rows) contexts.push_back(row.context);
    device_sampler.emplace(model.device(), V, filters, N, L, uniforms, contexts);
  }

  // One TokenSampler per thread (a sampler keeps nothing between draws, so which one serves a row
  // does not change the result).
  std::vector<TokenSampler<T>> samplers;
  const int threads = std::max(1, cpu::num_threads());
  if (!on_gpu) {
    samplers.reserve(static_cast<std::size_t>(threads));
    for (int i = 0; i < threads; ++i) samplers.emplace_back(V);
  }
  const auto thread_index = [&] { return std::min<int>(cpu::ThreadPool::thread_index(), threads - 1); };
  const auto is_stop = [&](int64_t id) {
    return std::find(options.stop_ids.begin(), options.stop_ids.end(), id) != options.stop_ids.end();
  };

  // 3-4. Batch slot i of the cache holds row active[i].
  std::vector<int64_t> active(static_cast<std::size_t>(N));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(N));  // [N]: a row's failed draw
  for (int64_t r = 0; r < N; ++r) active[r] = r;
  Tensor<int64_t> step_tokens = Tensor<int64_t>::empty({N, 1});  // [batch, 1], reused every step
  Tensor<T> step_logits;                                          // [batch, 1, V] of the last decode step
  // Appends slot i's token and log-prob to its row and notes whether the row has finished.
  const auto take = [&](int64_t i, int64_t token, T log_prob) {
    detail::Row<T>& row = rows[active[i]];
    row.log_probs.push_back(log_prob);
    row.context.push_back(token);
    if (token == options.eos_id) row.reason = FinishReason::Eos, row.done = true;
    else if (is_stop(token)) row.reason = FinishReason::Stop, row.done = true;
  };
  for (int64_t step = 0; step < L; ++step) {
    const int64_t batch = static_cast<int64_t>(active.size());
    const int64_t div = step == 0 ? n : 1;  // step 0 reads the prompt's prefill row
    if (device_sampler) {
      std::vector<int64_t> slot_rows(static_cast<std::size_t>(batch));  // [batch]: -1 for a finished row
      for (int64_t i = 0; i < batch; ++i) slot_rows[i] = rows[active[i]].done ? -1 : active[i];
      const DeviceDraws<T> draws = device_sampler->draw(step == 0 ? last_logits : step_logits, div, slot_rows, step);
      for (int64_t i = 0; i < batch; ++i)
        if (slot_rows[i] >= 0) take(i, draws.tokens[i], draws.log_probs[i]);
    } else {
      // logits_of(i) [V]: the logits that slot i's next token is drawn from.
      const T* base = step == 0 ? last_logits.data() : step_logits.data();
      cpu::parallel_for(batch, 8 * V, [&](int64_t begin, int64_t end) {
        TokenSampler<T>& sampler = samplers[static_cast<std::size_t>(thread_index())];
        for (int64_t i = begin; i < end; ++i) {
          detail::Row<T>& row = rows[active[i]];
          if (row.done) continue;
          const T* logits = base + (step == 0 ? active[i] / div : i) * V;  // [V]
          try {  // (a NaN row throws; the error is rethrown after the loop)
            const int64_t token = sampler.sample(logits, filters, row.gen, row.context);
            const cpu::LogSoftmaxRowStats<T> stats = cpu::log_softmax_row_stats(logits, V, inv_temperature);
            take(i, token, cpu::log_prob_at(logits[token], inv_temperature, stats));
          } catch (...) {
            errors[active[i]] = std::current_exception();
          }
        }
      });
      for (const int64_t r : active)
        if (errors[r]) std::rethrow_exception(errors[r]);
    }
    if (step == L - 1) break;
    int64_t running = 0;
    for (int64_t r : active) running += rows[r].done ? 0 : 1;
    if (running == 0) break;
    // Compact the cache to the running rows once they are at most half of the batch (and enough
    // steps remain for the copy to pay off).
    if (running <= batch / 2 && L - 1 - step >= 4) {
      std::vector<int64_t> keep_slots, keep_rows;
      for (int64_t i = 0; i < batch; ++i)
        if (!rows[active[i]].done) keep_slots.push_back(i), keep_rows.push_back(active[i]);
      cache = cache.index_rows(keep_slots);
      active = std::move(keep_rows);
      step_tokens = Tensor<int64_t>::empty({running, 1});
    }
    for (std::size_t i = 0; i < active.size(); ++i) {
      const detail::Row<T>& row = rows[active[i]];
      step_tokens.data()[i] = row.done ? options.pad_id : row.context.back();
    }
    step_logits = model.forward(step_tokens, cache);  // [batch, 1, V]
    if (!on_gpu) step_logits = step_logits.to(Device::cpu());
    check(step_logits.is_contiguous(), op, "internal: the model's logits are not contiguous");
  }

  // Results.
  GenerationResult<T> out;
  out.num_prompts = B;
  out.n = n;
  out.tokens = Tensor<int64_t>::full({N, L}, options.pad_id);
  out.log_probs = Tensor<T>::zeros({N, L});
  out.response_mask = Tensor<T>::zeros({N, L});
  out.completions.resize(static_cast<std::size_t>(N));
  for (int64_t r = 0; r < N; ++r) {
    detail::Row<T>& row = rows[r];
    Completion<T>& c = out.completions[r];
    c.prompt_index = r / n;
    c.sample_index = r % n;
    c.tokens.assign(row.context.begin() + static_cast<std::ptrdiff_t>(row.prompt_length), row.context.end());
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
