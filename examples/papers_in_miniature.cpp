// The papers in miniature: CHORD and LUFFY against SFT, GRPO and SFT-then-RL on toy
// verifiable tasks, from one base policy, with one budget of optimizer steps each.
//
//   build/examples/papers_in_miniature [--quick] [--out runs/miniature] [--steps N] [--seed S]
//                                      [--threads N] [--device cpu|cuda]
//
// (a) trains a base policy: a character-level GPT taught to answer addition and letter-sorting
//     prompts in a terse style ("347+285=#632"), with 30% near-miss wrong answers in its data
//     (partial competence), plus a held-out skill (string reversal) it learns well;
// (b) post-trains a copy of it with each method on the same prompts, where the expert
//     demonstrations reason in another style ("7+5=12,4+8+1=13,3+2+1=6#632");
// (c) evaluates pass@1 and pass@k on the in-distribution test split (id), harder problems (ood)
//     and the held-out skill (retention: what post-training made the model forget);
// (d) writes results.md (a Markdown table), each method's metrics (JSONL + CSV) and
//     curves.png (one curve per method: reward, test accuracy, entropy, mu).

#include <chord/chord.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace chord;

struct Options {
  bool quick = false;
  std::string out = "runs/miniature";
  int64_t steps = 0;  // post-training steps per method; 0 = the preset's
  uint64_t seed = 1;
  std::string device = "cpu";
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--quick") o.quick = true;
    else if (arg == "--out") o.out = value();
    else if (arg == "--steps") o.steps = std::atoll(value().c_str());
    else if (arg == "--seed") o.seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (arg == "--threads") cpu::set_num_threads(std::atoi(value().c_str()));
    else if (arg == "--device") o.device = value();
    else {
      std::fprintf(stderr,
                   "usage: %s [--quick] [--out DIR] [--steps N] [--seed S] [--threads N] [--device cpu|cuda]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  if (o.device != "cpu" && o.device != "cuda") {
    std::fprintf(stderr, "--device must be cpu or cuda, got '%s'\n", o.device.c_str());
    std::exit(2);
  }
  if (o.steps < 0) {
    std::fprintf(stderr, "--steps must be >= 0\n");
    std::exit(2);
  }
  return o;
}

// The sizes of a run: the default (about 12 minutes on 2 quiet cores) and --quick (under 2).
struct Preset {
  int64_t base_steps, steps, prompts_per_step, group_size, expert_rows, eval_every, test_size, eval_k;
  nn::GPTConfig model;
};

Preset preset(bool quick, int64_t vocab) {
  if (quick)
    return {.base_steps = 300, .steps = 30, .prompts_per_step = 8, .group_size = 8, .expert_rows = 16,
            .eval_every = 10, .test_size = 32, .eval_k = 4,
            .model = {.vocab_size = vocab, .context_length = 64, .n_layer = 2, .n_head = 4, .n_embd = 64}};
  return {.base_steps = 1500, .steps = 300, .prompts_per_step = 16, .group_size = 8, .expert_rows = 32,
          .eval_every = 25, .test_size = 100, .eval_k = 8,
          .model = {.vocab_size = vocab, .context_length = 64, .n_layer = 3, .n_head = 4, .n_embd = 128}};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  try {
    const Device device = opt.device == "cuda" ? Device::cuda(0) : Device::cpu();
    (void)Tensor<float>::empty({1}, device);  // a clear error now, without CUDA or a GPU
    std::filesystem::create_directories(opt.out);
    const auto start = std::chrono::steady_clock::now();

    const tasks::TaskSuite suite = tasks::TaskSuite::standard({.seed = opt.seed});
    const io::Tokenizer tokenizer = io::Tokenizer::char_level(suite.charset());
    const Preset p = preset(opt.quick, tokenizer.vocab_size());
    const tasks::TaskSuite eval_suite = tasks::TaskSuite::standard(
        {.seed = opt.seed, .test_size = p.test_size, .ood_size = p.test_size, .retention_size = p.test_size});
    const tasks::SuiteEnvironment env(eval_suite);
    const tasks::SuiteEnvironment pretraining(eval_suite, tasks::DemonstrationStyle::BasePretraining);
    const int64_t steps = opt.steps > 0 ? opt.steps : p.steps;
    const rl::EvalOptions eval{.k = p.eval_k, .temperature = 1.0, .max_new_tokens = 40};
    std::printf("chord: the papers in miniature (%s), %s, %d threads\n", opt.quick ? "quick" : "default",
                device.str().c_str(), cpu::num_threads());

    // (a) the base policy: SFT on the base-style corpus.
    nn::GPT<float> base(p.model, opt.seed);
    base.to(device);
    std::printf("\n(a) base policy: %.2f M parameters, %lld steps on terse answers (30%% of them wrong)\n",
                base.num_parameters() / 1e6, static_cast<long long>(p.base_steps));
    {
      rl::Trainer<float> pretrain(base, tokenizer, pretraining,
                                  {.method = rl::Method::SFT, .steps = p.base_steps, .expert_rows_per_step = 64,
                                   .micro_batch_rows = 64, .lr = 3e-3, .weight_decay = 0.0, .eval = eval,
                                   .progress_every = std::max<int64_t>(1, p.base_steps / 5), .seed = opt.seed});
      pretrain.train();
    }
    io::save_gpt(opt.out + "/base.safetensors", base, &tokenizer);
    const auto base_scores = rl::evaluate(base, tokenizer, env, eval);

    // (b) + (c): each method from the same start, the same number of optimizer steps.
    struct Result {
      std::string name;
      std::vector<rl::SplitScore> scores;
      double seconds = 0;
    };
    std::vector<Result> results{{"base policy", base_scores, 0}};
    std::vector<rl::Method> methods = {rl::Method::SFT, rl::Method::GRPO, rl::Method::SFTThenRL,
                                       rl::Method::LUFFY, rl::Method::CHORDMu, rl::Method::CHORDPhi};
    for (rl::Method method : methods) {
      const std::string name = rl::to_string(method);
      std::printf("\n(b) %s: %lld steps from the base policy\n", name.c_str(), static_cast<long long>(steps));
      nn::GPT<float> policy(p.model);
      policy.to(device);
      policy.load_state_dict(base.state_dict());
      const auto t0 = std::chrono::steady_clock::now();
      rl::Trainer<float> trainer(policy, tokenizer, env,
                                 {.method = method, .steps = steps, .prompts_per_step = p.prompts_per_step,
                                  .group_size = p.group_size, .expert_rows_per_step = p.expert_rows,
                                  .sft_steps = steps / 3, .micro_batch_rows = 64, .lr = 1e-3,
                                  .max_new_tokens = 40, .eval_every = p.eval_every, .eval = eval,
                                  .out_dir = opt.out + "/" + name, .progress_every = std::max<int64_t>(1, steps / 5),
                                  .seed = opt.seed});
      auto scores = trainer.train();
      results.push_back({name, std::move(scores), seconds_since(t0)});
    }

    // (d) the table and the curves.
    io::MarkdownTable table({"method", "id pass@1", "id pass@" + std::to_string(eval.k), "ood pass@1",
                             "ood pass@" + std::to_string(eval.k), "retention pass@1", "time (s)"});
    table.precision(3);
    for (const Result& r : results) {
      std::map<std::string, rl::SplitScore> by;
      for (const auto& s : r.scores) by[s.name] = s;
      table.add_row({r.name, io::fixed(by["id"].pass_at_1, 3), io::fixed(by["id"].pass_at_k, 3),
                     io::fixed(by["ood"].pass_at_1, 3), io::fixed(by["ood"].pass_at_k, 3),
                     io::fixed(by["retention"].pass_at_1, 3), io::fixed(r.seconds, 0)});
    }
    const std::string report = "# The papers in miniature\n\n" + std::to_string(steps) + " optimizer steps per method from one base policy; pass@1 and pass@" +
                               std::to_string(eval.k) + " over " + std::to_string(p.test_size) +
                               " problems per family and split, sampled at temperature 1.\n\n" + table.str();
    io::write_text_file_atomically(opt.out + "/results.md", report);
    std::printf("\n%s\n", report.c_str());

    std::vector<io::Panel> panels;
    const std::vector<std::pair<std::string, std::string>> curves = {{"reward/mean", "rollout reward"},
                                                                     {"eval/id/pass@1", "test accuracy (id, pass@1)"},
                                                                     {"eval/ood/pass@1", "harder problems (ood, pass@1)"},
                                                                     {"eval/retention/pass@1", "held-out skill (retention)"},
                                                                     {"entropy", "entropy (nats/token)"},
                                                                     {"mu", "mu (SFT weight)"}};
    for (const auto& [metric, title] : curves) {
      io::Panel panel;
      panel.options = {.title = title, .x_label = "step", .y_label = "", .width = 640, .height = 400,
                       .smoothing = metric.rfind("eval/", 0) == 0 || metric == "mu" ? 0.0 : 0.6};
      for (rl::Method method : methods) {
        const std::string name = rl::to_string(method);
        const io::MetricsTable t = io::read_metrics(opt.out + "/" + name + "/metrics.jsonl");
        if (!t.has(metric)) continue;
        auto [x, y] = t.xy(metric);
        panel.series.push_back({name, x, y});
      }
      panels.push_back(panel);
    }
    io::save_plot_grid(opt.out + "/curves.png", panels, 2);
    std::printf("wrote %s/results.md, %s/curves.png and each method's metrics.jsonl/.csv (%.0f s in all)\n",
                opt.out.c_str(), opt.out.c_str(), seconds_since(start));
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
