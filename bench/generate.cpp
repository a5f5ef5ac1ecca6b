// Generation benchmark (bench/README.md, config S): 16 prompts of 16 random tokens, 112 new tokens
// each, temperature 1.0 sampling with a KV cache, log-probs recorded. One repetition = one
// sample::generate call (prefill + 112 decoding steps); no EOS, so every row runs to the end.
//
//   build-bench/bench/generate [--reps N] [--warmup N] [--threads N] [--device cpu|cuda] [--breakdown]
//
// Prints ms per call and new tokens/s (median and min-max over the timed calls) and a RESULT line
// for bench/run_generate.sh, which runs bench/generate_reference.py (PyTorch eager, KV cache) in
// the same run and prints the ratio.

#include <chord/chord.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_util.hpp"

int main(int argc, char** argv) {
  using namespace chord;
  int reps = 10, warmup = 2;
  bool breakdown = false;  // also time the model's forwards alone
  Device device = Device::cpu();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    if (arg == "--reps") reps = value();
    else if (arg == "--breakdown") breakdown = true;
    else if (arg == "--warmup") warmup = value();
    else if (arg == "--threads") cpu::set_num_threads(value());
    else if (arg == "--device" && i + 1 < argc && std::string(argv[i + 1]) == "cuda") device = Device::cuda(0), ++i;
    else if (arg == "--device" && i + 1 < argc && std::string(argv[i + 1]) == "cpu") ++i;
    else {
      std::fprintf(arg == "--help" ? stdout : stderr,
                   "usage: %s [--reps N] [--warmup N] [--threads N] [--device cpu|cuda] [--breakdown]\n", argv[0]);
      return arg == "--help" ? 0 : 2;
    }
  }
  if (reps < 1 || warmup < 0) {
    std::fprintf(stderr, "--reps must be >= 1 and --warmup >= 0\n");
    return 2;
  }

  const nn::GPTConfig config{.vocab_size = 256, .context_length = 128, .n_layer = 4, .n_head = 4, .n_embd = 256};
  const int64_t batch = 16, prompt_length = 16, new_tokens = 112;
  nn::GPT<float> model(config, 1337);
  try {
    model.to(device);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  model.eval();
  Generator gen(42);
  std::vector<std::vector<int64_t>> prompts(batch);
  for (auto& p : prompts)
    for (int64_t t = 0; t < prompt_length; ++t) p.push_back(gen.randint(0, config.vocab_size));

  uint64_t seed = 0;
  int64_t produced = 0;
  const bench::Timing t = bench::time_it(warmup, reps, [&] {
    const auto result = generate(model, prompts, {.max_new_tokens = new_tokens, .temperature = 1.0, .seed = seed++});
    produced = result.num_new_tokens();
  });
  if (produced != batch * new_tokens) {
    std::fprintf(stderr, "expected %lld new tokens, got %lld\n", static_cast<long long>(batch * new_tokens),
                 static_cast<long long>(produced));
    return 1;
  }
  const double per_call = static_cast<double>(produced);
  std::printf("chord generation, config S, %lld prompts x %lld tokens + %lld new, %s, %d threads: %.1f ms (min "
              "%.1f, max %.1f), %.0f new tokens/s\n",
              static_cast<long long>(batch), static_cast<long long>(prompt_length),
              static_cast<long long>(new_tokens), device.str().c_str(), cpu::num_threads(), t.median_ms, t.min_ms,
              t.max_ms, per_call / (t.median_ms / 1000.0));
  bench::print_result(device.is_cuda() ? "generate_S_cuda" : "generate_S", t, per_call, "new_tokens_per_s");
  if (breakdown) {
    // The model's share: the same prefill and decode steps with fixed tokens and no draws.
    const auto forwards = bench::time_it(warmup, reps, [&] {
      NoGradGuard no_grad;
      auto cache = model.make_cache(batch, prompt_length + new_tokens);
      Tensor<int64_t> tokens = Tensor<int64_t>::empty({batch, prompt_length});
      for (int64_t b = 0; b < batch; ++b)
        std::copy(prompts[b].begin(), prompts[b].end(), tokens.data() + b * prompt_length);
      Tensor<float> logits = model.forward(tokens, cache);
      const Tensor<int64_t> step_tokens = Tensor<int64_t>::full({batch, 1}, 7);
      for (int64_t s = 1; s < new_tokens; ++s) logits = model.forward(step_tokens, cache);
      (void)logits.to(Device::cpu());  // waits for the GPU
    });
    std::printf("  of which the model (prefill + %lld decode forwards, no draws): %.1f ms (%.0f%%), %.0f us per step\n",
                static_cast<long long>(new_tokens - 1), forwards.median_ms, 100.0 * forwards.median_ms / t.median_ms,
                1000.0 * forwards.median_ms / static_cast<double>(new_tokens));
  }
}
