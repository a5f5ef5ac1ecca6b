// Sample completions from a trained checkpoint.
//
//   build/examples/sample --checkpoint runs/char_gpt --prompt "The " [--n 4] [--max-new-tokens 0]
//       [--temperature 0.8] [--top-k 0] [--top-p 1] [--min-p 0] [--repetition-penalty 1]
//       [--seed 0] [--bos] [--threads N] [--device cpu|cuda]
//
// --checkpoint is a .safetensors file written by io::save_gpt, or a directory holding
// model.safetensors (as train_char_gpt writes); its tokenizer (model.tokenizer.json) must be beside
// it. --bos puts the tokenizer's BOS before the prompt (the RL trainers' prompts start with it; a
// model trained on plain text, like train_char_gpt's, expects none). --temperature 0 is greedy.
// Each completion is printed with its finish reason and the sum of its tokens' log-probs
// log_softmax(logits / T) (before top-k / top-p / min-p filtering; see sample/generate.hpp).

#include <chord/chord.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string checkpoint, prompt;
  chord::SampleOptions sampling{.max_new_tokens = 0, .temperature = 0.8};  // 0: as many as fit
  int64_t n = 1;
  bool bos = false;
  int threads = chord::cpu::num_threads();
  std::string device = "cpu";
};

Options parse(int argc, char** argv) {
  Options o;
  auto& s = o.sampling;
  chord::io::ArgParser args(
      "sample",
      "Samples completions of a prompt from a GPT checkpoint written by chord (train_char_gpt, the\n"
      "papers in miniature) or a Hugging Face GPT-2 directory with a chord tokenizer. Prints each\n"
      "completion with its finish reason and the sum of its tokens' log-probs.");
  args.option("--checkpoint", o.checkpoint, "a .safetensors file, or a directory holding model.safetensors",
              {.metavar = "PATH"})
      .option("--prompt", o.prompt, "the text to continue (required)")
      .option("--n", o.n, "samples", {.min = 1, .max = 4096})
      .option("--max-new-tokens", s.max_new_tokens,
              "most tokens to generate; 0: as many as the context holds", {.min = 0, .max = 1'000'000})
      .option("--temperature", s.temperature, "sampling temperature; 0 is greedy", {.min = 0, .max = 1e6})
      .option("--top-k", s.top_k, "keep the k most likely tokens; 0 keeps all", {.min = 0})
      .option("--top-p", s.top_p, "keep the smallest set with this much probability", {.min = 0, .max = 1})
      .option("--min-p", s.min_p, "drop tokens below min-p times the top probability", {.min = 0, .max = 1})
      .option("--repetition-penalty", s.repetition_penalty, "CTRL's penalty on tokens already present",
              {.min = 1e-6, .max = 1e6})
      .option("--seed", s.seed, "seed of the draws")
      .flag("--bos", o.bos, "put the tokenizer's BOS before the prompt (the RL trainers' prompts start with it)")
      .option("--threads", o.threads, "CPU threads", {.min = 1, .max = 1024})
      .choice("--device", o.device, {"cpu", "cuda"}, "where the model runs")
      .epilog("example:\n  build/examples/sample --checkpoint runs/char_gpt --prompt \"the \" --n 4 --temperature 0.8");
  args.parse_or_exit(argc, argv);
  if (o.checkpoint.empty() || o.prompt.empty()) {
    std::fprintf(stderr, "sample: --checkpoint and --prompt are required\n(try 'sample --help')\n");
    std::exit(2);
  }
  return o;
}

int run(int argc, char** argv) {
  using namespace chord;
  Options opt = parse(argc, argv);
  cpu::set_num_threads(opt.threads);
  {
    const std::string& path = opt.checkpoint;  // load_gpt reads a file or a directory
    io::LoadedGPT<float> loaded = io::load_gpt<float>(path);
    check(loaded.tokenizer.has_value(), "sample", "no chord tokenizer with '", path,
          "' (model.tokenizer.json; GPT-2's BPE tokenizer is not supported yet)");
    nn::GPT<float>& model = *loaded.model;
    model.to(opt.device == "cuda" ? Device::cuda(0) : Device::cpu());
    const io::Tokenizer& tokenizer = *loaded.tokenizer;
    check(tokenizer.vocab_size() <= model.config().vocab_size, "sample", "the tokenizer has ",
          tokenizer.vocab_size(), " tokens but the model only ", model.config().vocab_size);

    std::vector<int64_t> prompt = tokenizer.encode(opt.prompt, opt.bos);
    if (prompt.empty()) prompt.push_back(tokenizer.bos_id());
    opt.sampling.eos_id = tokenizer.eos_id();
    opt.sampling.pad_id = tokenizer.pad_id();
    // The last generated token needs no position of its own, hence the + 1.
    const int64_t room = model.config().context_length - static_cast<int64_t>(prompt.size()) + 1;
    check(room >= 1, "sample", "the prompt has ", prompt.size(), " tokens, more than the model's context of ",
          model.config().context_length);
    if (opt.sampling.max_new_tokens == 0) {
      opt.sampling.max_new_tokens = room;
    } else if (opt.sampling.max_new_tokens > room) {
      std::fprintf(stderr, "note: --max-new-tokens %lld lowered to %lld to fit the context of %lld tokens\n",
                   static_cast<long long>(opt.sampling.max_new_tokens), static_cast<long long>(room),
                   static_cast<long long>(model.config().context_length));
      opt.sampling.max_new_tokens = room;
    }

    const auto result = generate(model, {prompt}, opt.sampling, opt.n);
    std::printf("%s: %.2f M parameters, %lld layers, context %lld, vocab %lld; T = %g, top-k %lld, top-p %g, "
                "min-p %g, seed %llu\n",
                path.c_str(), model.num_parameters() / 1e6, static_cast<long long>(model.config().n_layer),
                static_cast<long long>(model.config().context_length),
                static_cast<long long>(model.config().vocab_size), opt.sampling.temperature,
                static_cast<long long>(opt.sampling.top_k), opt.sampling.top_p, opt.sampling.min_p,
                static_cast<unsigned long long>(opt.sampling.seed));
    for (const auto& c : result.completions) {
      std::vector<int64_t> printable;  // ids the tokenizer knows, without the EOS
      double lp = 0;
      for (std::size_t t = 0; t < c.tokens.size(); ++t) {
        lp += c.log_probs[t];
        if (c.tokens[t] < tokenizer.vocab_size()) printable.push_back(c.tokens[t]);
      }
      std::printf("--- sample %lld (%s, %zu tokens, log-prob %.2f)\n%s%s\n", static_cast<long long>(c.sample_index),
                  sample::finish_reason_name(c.finish_reason), c.tokens.size(), lp, opt.prompt.c_str(),
                  tokenizer.decode(printable).c_str());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return chord::io::run_main([&] { return run(argc, argv); }); }
