// Trains a character-level GPT on text this program writes itself (no download), prints a
// progress line, and writes a loss-curve PNG, a checkpoint (Hugging Face GPT-2 layout) and
// samples.
//
//   build/examples/train_char_gpt [--steps 600] [--batch 16] [--out runs/char_gpt] [--seed 1]
//                                 [--threads N] [--device cpu|cuda]      (--help lists them all)
//
// The text: short sentences from a small grammar ("the old fox jumps over the red fence.").
// A model that has learned it spells words right and follows the grammar; the held-out
// validation loss (fresh sentences) says how well.

// This program's one source file: it compiles chord's PNG encoder (io/png.hpp).
#define CHORD_IMPLEMENTATION
#include <chord/chord.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

// A sentence of the grammar: [name|the adj noun] verb [prep the adj noun]? "."
std::string sentence(chord::Generator& gen) {
  static const std::vector<std::string> names = {"ada", "bob", "cleo", "dan", "eve"};
  static const std::vector<std::string> adjs = {"old", "red", "quick", "lazy", "small", "happy", "quiet"};
  static const std::vector<std::string> nouns = {"fox", "dog", "cat", "bird", "fence", "tree", "river", "house"};
  static const std::vector<std::string> verbs = {"jumps", "runs", "sleeps", "sings", "waits", "looks"};
  static const std::vector<std::string> preps = {"over", "under", "near", "behind", "past"};
  auto pick = [&](const std::vector<std::string>& words) { return words[gen.randint(0, words.size())]; };
  std::string s = gen.uniform() < 0.3 ? pick(names) : "the " + pick(adjs) + " " + pick(nouns);
  s += " " + pick(verbs);
  if (gen.uniform() < 0.7) s += " " + pick(preps) + " the " + pick(adjs) + " " + pick(nouns);
  return s + ".\n";
}

std::string corpus(chord::Generator& gen, std::size_t chars) {
  std::string text;
  while (text.size() < chars) text += sentence(gen);
  return text;
}

struct Options {
  int64_t steps = 600;
  int64_t batch = 16;
  std::string out = "runs/char_gpt";
  uint64_t seed = 1;
  int threads = chord::cpu::num_threads();
  std::string device = "cpu";
};

Options parse(int argc, char** argv) {
  Options o;
  chord::io::ArgParser args("train_char_gpt",
                            "Trains a small character-level GPT on sentences this program generates (no download),\n"
                            "prints progress, and writes a loss curve (loss.png), a checkpoint in Hugging Face\n"
                            "GPT-2 layout (model.safetensors, model.config.json, model.tokenizer.json) and greedy\n"
                            "samples. build/examples/sample reads the checkpoint.");
  args.option("--steps", o.steps, "optimizer steps", {.min = 1, .max = 10'000'000})
      .option("--batch", o.batch, "sequences of 64 characters per step", {.min = 1, .max = 4096})
      .option("--out", o.out, "output directory (created if missing)", {.metavar = "DIR"})
      .option("--seed", o.seed, "seed of the text, the initial weights and the batches")
      .option("--threads", o.threads, "CPU threads", {.min = 1, .max = 1024})
      .choice("--device", o.device, {"cpu", "cuda"}, "where the model trains")
      .epilog("example:\n  build/examples/train_char_gpt --steps 600 --out runs/char_gpt");
  args.parse_or_exit(argc, argv);
  chord::check(!o.out.empty(), "train_char_gpt", "--out must not be empty");
  return o;
}

// `batch` random windows of `length + 1` tokens: inputs [batch, length] and next-token targets.
std::pair<chord::Tensor<int64_t>, chord::Tensor<int64_t>> windows(const std::vector<int64_t>& ids, int64_t batch,
                                                                int64_t length, chord::Generator& gen) {
  auto x = chord::Tensor<int64_t>::empty({batch, length}), y = chord::Tensor<int64_t>::empty({batch, length});
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t start = gen.randint(0, static_cast<int64_t>(ids.size()) - length - 1);
    for (int64_t t = 0; t < length; ++t) {
      x.data()[b * length + t] = ids[start + t];
      y.data()[b * length + t] = ids[start + t + 1];
    }
  }
  return {x, y};
}

int run(int argc, char** argv) {
  using namespace chord;
  const Options opt = parse(argc, argv);
  cpu::set_num_threads(opt.threads);
  const Device device = opt.device == "cuda" ? Device::cuda(0) : Device::cpu();
  (void)Tensor<float>::empty({1}, device);  // a clear error now, without CUDA or a GPU
  std::filesystem::create_directories(opt.out);

  Generator data_gen(opt.seed);
  const std::string train_text = corpus(data_gen, 200'000), valid_text = corpus(data_gen, 20'000);
  const io::Tokenizer tokenizer = io::Tokenizer::char_level(train_text);
  const std::vector<int64_t> train_ids = tokenizer.encode(train_text), valid_ids = tokenizer.encode(valid_text);

  const nn::GPTConfig config{.vocab_size = tokenizer.vocab_size(), .context_length = 64, .n_layer = 3,
                             .n_head = 4, .n_embd = 128};
  nn::GPT<float> model(config, opt.seed);
  model.to(device);  // before the optimizer, so that its state is made on the same device
  optim::AdamW<float> adamw(model.named_parameters(), {.lr = 3e-3, .weight_decay = 0.1});
  const auto schedule = optim::LRSchedule::warmup_cosine(3e-3, 3e-4, opt.steps / 20, opt.steps);
  std::printf("chord: a %.2f M-parameter GPT on %zu characters of generated text (vocab %lld), %lld steps of "
              "%lld x %lld tokens, %s, %d threads\n",
              model.num_parameters() / 1e6, train_text.size(), static_cast<long long>(config.vocab_size),
              static_cast<long long>(opt.steps),
              static_cast<long long>(opt.batch), static_cast<long long>(config.context_length), device.str().c_str(),
              cpu::num_threads());

  auto validation_loss = [&] {
    NoGradGuard no_grad;
    model.eval();
    Generator gen(7);  // the same validation windows every time
    double total = 0;
    for (int i = 0; i < 4; ++i) {
      auto [x, y] = windows(valid_ids, 16, config.context_length, gen);
      total += nn::lm_loss(model.forward(x), y.to(device)).item() / 4;
    }
    model.train();
    return total;
  };

  Generator batch_gen(opt.seed + 1);
  std::vector<double> steps, train_loss, valid_steps, valid_loss;
  io::Progress progress(opt.steps);
  int64_t tokens_seen = 0;
  for (int64_t step = 1; step <= opt.steps; ++step) {
    auto [x, y] = windows(train_ids, opt.batch, config.context_length, batch_gen);
    adamw.set_lr(schedule(step));
    adamw.zero_grad();
    auto loss = nn::lm_loss(model.forward(x), y.to(device));
    loss.backward();
    optim::clip_grad_norm(model.parameters(), 1.0);
    adamw.step();
    steps.push_back(step);
    train_loss.push_back(loss.item());
    tokens_seen += opt.batch * config.context_length;
    if (step % 50 == 0 || step == opt.steps) {
      valid_steps.push_back(step);
      valid_loss.push_back(validation_loss());
      std::printf("%s\n", progress.line(step, {{"loss", train_loss.back()}, {"val", valid_loss.back()}}, tokens_seen).c_str());
      std::fflush(stdout);
    }
  }

  const std::string plot_path = opt.out + "/loss.png", checkpoint = opt.out + "/model.safetensors";
  // The training loss is noisy (one batch per step): smoothed, as TensorBoard does; the
  // validation loss (the same held-out windows every time) is drawn as measured.
  io::save_line_plot(plot_path,
                     {{"train (smoothed)", steps, io::ema(train_loss, 0.9)}, {"validation", valid_steps, valid_loss}},
                     {.title = "char-level GPT on generated sentences", .x_label = "step",
                      .y_label = "cross-entropy (nats/char)"});
  io::save_gpt(checkpoint, model, &tokenizer);

  // Greedy continuations of a few prompts, one token at a time through the KV cache.
  model.eval();
  NoGradGuard no_grad;
  std::printf("\nsamples (greedy):\n");
  for (const std::string prompt : {"the quick ", "ada ", "the old dog sleeps "}) {
    std::vector<int64_t> ids = tokenizer.encode(prompt);
    auto cache = model.make_cache(1, config.context_length);
    auto logits = model.forward(Tensor<int64_t>::from_vector(ids, {1, static_cast<int64_t>(ids.size())}), cache);
    std::string text = prompt;
    for (int t = 0; t < 40 && cache.length() < config.context_length; ++t) {
      const auto last = logits.select(1, logits.size(1) - 1).reshape({config.vocab_size});
      const int64_t next = argmax(last).item();
      const std::string piece = tokenizer.decode({next});
      text += piece;
      if (piece == "\n") break;
      logits = model.forward(Tensor<int64_t>::from_vector({next}, {1, 1}), cache);
    }
    std::printf("  %s", text.c_str());
    if (text.back() != '\n') std::printf("\n");
  }
  std::printf("\nwrote %s, %s (+ tokenizer and config beside it)\n", plot_path.c_str(), checkpoint.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return chord::io::run_main([&] { return run(argc, argv); }); }
