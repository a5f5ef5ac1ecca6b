// The papers in miniature: CHORD and LUFFY against SFT, GRPO and SFT-then-RL on toy
// verifiable tasks, from one base policy, with one budget of optimizer steps each.
//
//   build/examples/papers_in_miniature [--quick] [--out runs/miniature] [--steps N] [--seed S]
//                                      [--threads N] [--device cpu|cuda]   (--help lists them all)
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

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace chord;

struct Options {
  bool quick = false;
  std::string out = "runs/miniature";
  int64_t steps = 0;  // post-training steps per method; 0 = the preset's
  uint64_t seed = 1;
  int threads = cpu::num_threads();
  std::string device = "cpu";
};

Options parse(int argc, char** argv) {
  Options o;
  io::ArgParser args("papers_in_miniature",
                     "The papers in miniature: trains a small base policy on toy verifiable tasks (addition,\n"
                     "letter sorting, and string reversal as a held-out skill), post-trains a copy with each of\n"
                     "SFT, GRPO, SFT-then-RL, LUFFY, CHORD-mu and CHORD-phi for the same number of optimizer\n"
                     "steps, evaluates them, and writes results.md, curves.png and each method's metrics.");
  args.flag("--quick", o.quick, "the 2-minute preset (a smaller model and 30 steps; a smoke run)")
      .option("--out", o.out, "output directory (created if missing)", {.metavar = "DIR"})
      .option("--steps", o.steps, "post-training steps per method; 0 = the preset's (300, quick 30)",
              {.min = 0, .max = 10'000'000})
      .option("--seed", o.seed, "seed of the base policy, the task draws and the sampling")
      .option("--threads", o.threads, "CPU threads", {.min = 1, .max = 1024})
      .choice("--device", o.device, {"cpu", "cuda"}, "where the models train")
      .epilog("examples:\n  build/examples/papers_in_miniature --quick\n"
              "  build/examples/papers_in_miniature --out runs/miniature --seed 2");
  args.parse_or_exit(argc, argv);
  check(!o.out.empty(), "papers_in_miniature", "--out must not be empty");
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

struct Result {
  std::string name;
  std::vector<rl::SplitScore> scores;
  double seconds = 0;

  // The scores of one split (zeros when the split is missing).
  rl::SplitScore split(const std::string& name) const {
    for (const auto& s : scores)
      if (s.name == name) return s;
    return {.name = name};
  }
  double pass_at_1(const std::string& name) const { return split(name).pass_at_1; }
};

// 0.336 (three decimals, as in the table).
std::string three_decimals(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", x);
  return buf;
}

// The lines under the table: what a reader should see in it. results[0] is the base policy.
std::string reading_notes(const std::vector<Result>& results, bool quick, int64_t steps) {
  if (quick)
    return "This is the quick preset, a smoke run: a 2-layer model and " + std::to_string(steps) +
           " steps per method check that every method runs end to end. At this size the numbers do not compare "
           "the methods; run without --quick for that.\n";
  const Result& base = results.front();
  std::string above, below, ood_nonzero;
  double retention_low = 1, retention_high = 0;
  for (std::size_t i = 1; i < results.size(); ++i) {
    const Result& r = results[i];
    (r.pass_at_1("id") > base.pass_at_1("id") ? above : below) += (std::string(1, ' ') + r.name + ",");
    if (r.pass_at_1("ood") > 0) ood_nonzero += " " + r.name + ",";
    retention_low = std::min(retention_low, r.pass_at_1("retention"));
    retention_high = std::max(retention_high, r.pass_at_1("retention"));
  }
  auto list = [](std::string s) { return s.empty() ? std::string(" none") : s.substr(0, s.size() - 1); };
  std::string notes = "How to read it: compare each method with the base policy's row (id pass@1 " +
                      three_decimals(base.pass_at_1("id")) + "). Above it on id pass@1:" + list(above) +
                      "; not above it:" + list(below) + ". ";
  notes += ood_nonzero.empty()
               ? "ood is 0 for every method, as expected at this size: the model does not extrapolate to longer "
                 "inputs than it was trained on. "
               : "Above 0 on ood:" + list(ood_nonzero) + ". ";
  notes += "Post-training moved the held-out skill (retention) from " + three_decimals(base.pass_at_1("retention")) +
           " to between " + three_decimals(retention_low) + " and " + three_decimals(retention_high) +
           ": the lower, the more the method forgot. One seed: differences under about 0.04 are within seed "
           "noise (README.md, \"The papers in miniature\").\n";
  return notes;
}

// The table as JSON, for programs (the example's test, tables over seeds):
// {"preset": "quick", "seed": 1, "steps": 30, "methods": [{"name": "base policy", "seconds": 0,
//   "splits": {"id": {"pass@1": 0.105, "pass@k": 0.312, "k": 4}, ...}}, ...]}
io::Json results_json(const std::vector<Result>& results, const Options& opt, int64_t steps, int64_t k) {
  io::Json::Array methods;
  for (const Result& r : results) {
    io::Json::Object splits;
    for (const auto& s : r.scores)
      splits.emplace_back(s.name, io::Json(io::Json::Object{{"pass@1", io::Json(s.pass_at_1)},
                                                            {"pass@k", io::Json(s.pass_at_k)},
                                                            {"k", io::Json(k)},
                                                            {"malformed", io::Json(s.malformed)}}));
    methods.emplace_back(io::Json::Object{
        {"name", io::Json(r.name)}, {"seconds", io::Json(r.seconds)}, {"splits", io::Json(std::move(splits))}});
  }
  return io::Json(io::Json::Object{{"preset", io::Json(opt.quick ? "quick" : "default")},
                                   {"seed", io::Json(static_cast<double>(opt.seed))},
                                   {"steps", io::Json(steps)},
                                   {"methods", io::Json(std::move(methods))}});
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  cpu::set_num_threads(opt.threads);
  {
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
                                   .progress_every = std::max<int64_t>(1, p.base_steps / 5),
                                   .progress_label = "base policy", .seed = opt.seed});
      pretrain.train();
    }
    io::save_gpt(opt.out + "/base.safetensors", base, &tokenizer);
    const auto base_scores = rl::evaluate(base, tokenizer, env, eval);

    // (b) + (c): each method from the same start, the same number of optimizer steps.
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
      const rl::SplitScore id = r.split("id"), ood = r.split("ood"), retention = r.split("retention");
      table.add_row({r.name, io::fixed(id.pass_at_1, 3), io::fixed(id.pass_at_k, 3), io::fixed(ood.pass_at_1, 3),
                     io::fixed(ood.pass_at_k, 3), io::fixed(retention.pass_at_1, 3), io::fixed(r.seconds, 0)});
    }
    const std::string report = "# The papers in miniature\n\n" + std::to_string(steps) + " optimizer steps per method from one base policy; pass@1 and pass@" +
                               std::to_string(eval.k) + " over " + std::to_string(p.test_size) +
                               " problems per family and split, sampled at temperature 1.\n\n" + table.str() +
                               "\n" + reading_notes(results, opt.quick, steps);
    io::write_text_file_atomically(opt.out + "/results.md", report);
    io::write_text_file_atomically(opt.out + "/results.json", results_json(results, opt, steps, eval.k).dump() + "\n");
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
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return chord::io::run_main([&] { return run(argc, argv); }); }
