// Sample completions from a trained checkpoint.
//
//   build/examples/sample --checkpoint runs/char_gpt --prompt "The " [--n 4] [--max-new-tokens 100]
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
  chord::SampleOptions sampling{.max_new_tokens = 100, .temperature = 0.8};
  int64_t n = 1;
  bool bos = false;
  chord::Device device = chord::Device::cpu();
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --checkpoint FILE_OR_DIR --prompt TEXT [--n N] [--max-new-tokens N] [--temperature T]\n"
               "          [--top-k K] [--top-p P] [--min-p P] [--repetition-penalty R] [--seed S] [--bos]\n"
               "          [--threads N] [--device cpu|cuda]\n",
               argv0);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  bool have_prompt = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        usage(argv[0]);
      }
      return argv[++i];
    };
    auto number = [&]() {
      const std::string text = value();
      char* end = nullptr;
      const double x = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0') {
        std::fprintf(stderr, "%s expects a number, got '%s'\n", arg.c_str(), text.c_str());
        usage(argv[0]);
      }
      return x;
    };
    if (arg == "--checkpoint") o.checkpoint = value();
    else if (arg == "--prompt") o.prompt = value(), have_prompt = true;
    else if (arg == "--n") o.n = static_cast<int64_t>(number());
    else if (arg == "--max-new-tokens") o.sampling.max_new_tokens = static_cast<int64_t>(number());
    else if (arg == "--temperature") o.sampling.temperature = number();
    else if (arg == "--top-k") o.sampling.top_k = static_cast<int64_t>(number());
    else if (arg == "--top-p") o.sampling.top_p = number();
    else if (arg == "--min-p") o.sampling.min_p = number();
    else if (arg == "--repetition-penalty") o.sampling.repetition_penalty = number();
    else if (arg == "--seed") o.sampling.seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (arg == "--bos") o.bos = true;
    else if (arg == "--threads") chord::cpu::set_num_threads(static_cast<int>(number()));
    else if (arg == "--device") {
      const std::string d = value();
      if (d != "cpu" && d != "cuda") {
        std::fprintf(stderr, "--device must be cpu or cuda, got '%s'\n", d.c_str());
        usage(argv[0]);
      }
      o.device = d == "cuda" ? chord::Device::cuda(0) : chord::Device::cpu();
    } else {
      std::fprintf(stderr, "unknown argument '%s'\n", arg.c_str());
      usage(argv[0]);
    }
  }
  if (o.checkpoint.empty() || !have_prompt) usage(argv[0]);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace chord;
  Options opt = parse(argc, argv);
  try {
    std::string path = opt.checkpoint;
    if (std::filesystem::is_directory(path)) path = (std::filesystem::path(path) / "model.safetensors").string();
    io::LoadedGPT<float> loaded = io::load_gpt<float>(path);
    check(loaded.tokenizer.has_value(), "sample", "no tokenizer beside '", path, "' (expected '",
          io::tokenizer_path_for(path), "')");
    nn::GPT<float>& model = *loaded.model;
    model.to(opt.device);
    const io::Tokenizer& tokenizer = *loaded.tokenizer;
    check(tokenizer.vocab_size() <= model.config().vocab_size, "sample", "the tokenizer has ",
          tokenizer.vocab_size(), " tokens but the model only ", model.config().vocab_size);

    std::vector<int64_t> prompt = tokenizer.encode(opt.prompt, opt.bos);
    if (prompt.empty()) prompt.push_back(tokenizer.bos_id());
    opt.sampling.eos_id = tokenizer.eos_id();
    opt.sampling.pad_id = tokenizer.pad_id();
    const int64_t room = model.config().context_length - static_cast<int64_t>(prompt.size()) + 1;
    if (opt.sampling.max_new_tokens > room) {
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
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
