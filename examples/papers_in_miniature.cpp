// The papers in miniature: CHORD and LUFFY against SFT, GRPO and SFT-then-RL on a toy task chosen so
// that the papers' premises hold (docs/miniature.md), over several seeds, with the papers' findings
// checked on the numbers.
//
//   build/examples/papers_in_miniature            # default: one seed, the six methods (~9 min, 2 cores)
//   build/examples/papers_in_miniature --quick    # a smoke run (under 2 minutes)
//   build/examples/papers_in_miniature --full     # 3 seeds, the six methods and four ablations
//
// For each seed:
// (a) trains a base policy: a character-level GPT that sorts letters tersely ("sort dbcab=#abbcd")
//     on strings of 3 to 5 letters, with near-miss wrong answers in its data (partial competence),
//     and reverses strings (the held-out skill);
// (b) post-trains a copy of it with each method on strings of 3 to 8 letters, where the expert's
//     demonstrations count first ("a1b2c1d1#abbcd");
// (c) evaluates pass@1 and pass@k on id (3-5 letters), hard (6-8: the base policy never solves them)
//     and retention (reversal: what post-training made the model forget).
// Then (d) writes results.md (tables over seeds, the premises, the findings with verdicts),
// results.json, curves.png and findings.png, and under seed-<S>/ each run's metrics.

// This program's one source file: it compiles chord's PNG encoder (io/png.hpp).
#define CHORD_IMPLEMENTATION
#include <chord/chord.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "miniature/findings.hpp"
#include "miniature/report.hpp"
#include "miniature/results.hpp"
#include "miniature/setting.hpp"

namespace {

using namespace chord;
using namespace miniature;

struct Options {
  bool quick = false, full = false, resume = false;
  std::string out = "runs/miniature";
  int64_t steps = 0;  // post-training steps per method; 0 = the preset's
  int64_t seeds = 0;  // how many seeds; 0 = the preset's
  uint64_t seed = 1;  // the first seed
  int threads = cpu::num_threads();
  int jobs = 0;       // runs at a time; 0 = one per thread (CPU), 1 on CUDA
  std::string device = "cpu";
};

Options parse(int argc, char** argv) {
  Options o;
  io::ArgParser args("papers_in_miniature",
                     "The papers in miniature: trains a small base policy that sorts letters tersely, post-trains a\n"
                     "copy with each of SFT, GRPO, SFT-then-RL, LUFFY, CHORD-mu and CHORD-phi for the same number\n"
                     "of steps on an expert that counts first, over one or more seeds, and writes results.md (mean\n"
                     "± std over seeds, the premises, the papers' findings with verdicts), results.json, curves.png\n"
                     "and findings.png.");
  args.flag("--quick", o.quick, "a smoke run: a 2-layer model and 30 steps (under 2 minutes)")
      .flag("--full", o.full, "the reference run: 3 seeds, 800 steps, the six methods and four ablations")
      .option("--out", o.out, "output directory (created if missing)", {.metavar = "DIR"})
      .option("--steps", o.steps, "post-training steps per method; 0 = the preset's (default 600, full 800, quick 30)",
              {.min = 0, .max = 10'000'000})
      .option("--seeds", o.seeds, "how many seeds (seed, seed + 1, ...); 0 = the preset's (1, full 3)",
              {.min = 0, .max = 100})
      .option("--seed", o.seed, "the first seed: it sets the base policy, the task draws and the sampling")
      .option("--threads", o.threads, "CPU threads", {.min = 1, .max = 1024})
      .option("--jobs", o.jobs, "runs at a time; 0 = one per thread on the CPU, 1 on CUDA (same numbers either way)",
              {.min = 0, .max = 64})
      .flag("--resume", o.resume, "reuse the runs a previous call with the same settings finished in --out")
      .choice("--device", o.device, {"cpu", "cuda"}, "where the models train")
      .epilog("examples:\n  build/examples/papers_in_miniature --quick\n"
              "  build/examples/papers_in_miniature --full --out runs/miniature-full");
  args.parse_or_exit(argc, argv);
  check(!o.out.empty(), "papers_in_miniature", "--out must not be empty");
  check(!(o.quick && o.full), "papers_in_miniature", "--quick and --full exclude each other");
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The evaluation of seed `seed`: its own sampling stream (the seed changes the sampling too).
rl::EvalOptions eval_options(const Preset& p, uint64_t seed) {
  return {.k = p.eval_k, .temperature = 1.0, .max_new_tokens = p.max_new_tokens, .seed = 20250811 + 7919 * seed};
}

// ---- saved results, for --resume --------------------------------------------------

io::Json scores_json(const std::vector<rl::SplitScore>& scores, double seconds, const std::string& fingerprint) {
  io::Json::Array list;
  for (const auto& s : scores)
    list.emplace_back(io::Json::Object{{"name", io::Json(s.name)},
                                       {"pass@1", io::Json(s.pass_at_1)},
                                       {"pass@k", io::Json(s.pass_at_k)},
                                       {"malformed", io::Json(s.malformed)},
                                       {"queries", io::Json(s.queries)}});
  return io::Json(io::Json::Object{
      {"fingerprint", io::Json(fingerprint)}, {"seconds", io::Json(seconds)}, {"scores", io::Json(std::move(list))}});
}

// The scores saved at `path` when they were written with `fingerprint`.
std::optional<RunResult> read_saved(const std::string& path, const std::string& fingerprint) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  const io::Json j = io::Json::parse(io::read_file(path, "papers_in_miniature"));
  if (j.at("fingerprint").as_string() != fingerprint) return std::nullopt;
  RunResult r;
  r.seconds = j.at("seconds").as_number();
  for (const io::Json& s : j.at("scores").as_array())
    r.scores.push_back({.name = s.at("name").as_string(),
                        .pass_at_1 = s.at("pass@1").as_number(),
                        .pass_at_k = s.at("pass@k").as_number(),
                        .malformed = s.at("malformed").as_number(),
                        .queries = s.at("queries").as_int()});
  return r;
}

// ---- one seed's base policy, and one run ------------------------------------------

struct SeedContext {
  uint64_t seed = 0;
  std::string dir;  // out/seed-<S>
  std::unique_ptr<tasks::TaskSuite> suite;
  std::unique_ptr<tasks::SuiteEnvironment> env;
  std::shared_future<std::shared_ptr<const nn::GPT<float>>> base;  // ready once the base is trained
};

class Experiment {
 public:
  Experiment(const Options& opt, Preset preset, const io::Tokenizer& tokenizer, Device device)
      : opt_(opt), preset_(std::move(preset)), runs_(make_runs(preset_)), tokenizer_(tokenizer), device_(device) {}

  const Preset& preset() const { return preset_; }
  const std::vector<RunSpec>& runs() const { return runs_; }

  // Every base policy, then every run, `jobs` at a time (a run waits for its seed's base policy).
  Results run_all(int jobs) {
    std::vector<SeedContext> seeds;
    std::vector<std::promise<std::shared_ptr<const nn::GPT<float>>>> base_ready(preset_.seeds.size());
    for (std::size_t i = 0; i < preset_.seeds.size(); ++i) {
      SeedContext s;
      s.seed = preset_.seeds[i];
      s.dir = opt_.out + "/seed-" + std::to_string(s.seed);
      s.suite = std::make_unique<tasks::TaskSuite>(make_suite(s.seed, preset_.test_size));
      s.env = std::make_unique<tasks::SuiteEnvironment>(*s.suite);
      s.base = base_ready[i].get_future().share();
      seeds.push_back(std::move(s));
    }
    struct Job {
      std::size_t seed_index;
      int run;  // -1: the base policy
    };
    std::vector<Job> queue;
    for (std::size_t i = 0; i < seeds.size(); ++i) queue.push_back({i, -1});
    for (std::size_t i = 0; i < seeds.size(); ++i)
      for (int r = 0; r < static_cast<int>(runs_.size()); ++r) queue.push_back({i, r});

    std::atomic<std::size_t> next{0};
    std::exception_ptr error;
    const auto worker = [&] {
      for (std::size_t j; (j = next.fetch_add(1)) < queue.size();) {
        const Job job = queue[j];
        SeedContext& s = seeds[job.seed_index];
        try {
          if (job.run < 0) {
            RunResult base;
            auto model = train_base(s, base);
            add(std::move(base));
            base_ready[job.seed_index].set_value(std::move(model));
          } else {
            add(post_train(s, runs_[static_cast<std::size_t>(job.run)], *s.base.get()));
          }
        } catch (...) {
          std::lock_guard<std::mutex> lock(mutex_);
          if (!error) error = std::current_exception();
          if (job.run < 0) base_ready[job.seed_index].set_exception(std::current_exception());
          next.store(queue.size());  // start nothing new
        }
      }
    };
    std::vector<std::thread> workers;
    for (int i = 1; i < jobs; ++i) workers.emplace_back(worker);
    worker();
    for (std::thread& t : workers) t.join();
    if (error) std::rethrow_exception(error);
    results_.sort_by_seed();
    return results_;
  }

 private:
  void add(RunResult r) {
    std::lock_guard<std::mutex> lock(mutex_);
    results_.add(std::move(r));
  }
  void say(const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }

  // (a) the base policy of one seed: SFT on the base-style corpus (or, with --resume, the saved one).
  std::shared_ptr<const nn::GPT<float>> train_base(const SeedContext& s, RunResult& result) {
    std::filesystem::create_directories(s.dir);
    const std::string weights = s.dir + "/base.safetensors", saved = s.dir + "/base.json";
    auto base = std::make_shared<nn::GPT<float>>(preset_.model, s.seed);
    base->to(device_);
    result.name = "base policy";
    result.seed = s.seed;
    if (opt_.resume && std::filesystem::exists(weights))
      if (auto done = read_saved(saved, preset_.fingerprint())) {
        io::load_gpt_weights(weights, *base);
        result.scores = done->scores;
        say("(a) seed " + std::to_string(s.seed) + ": the base policy from " + weights);
        return base;
      }
    say("(a) seed " + std::to_string(s.seed) + ": base policy, " + decimals(static_cast<double>(base->num_parameters()) / 1e6, 2) +
        " M parameters, " + std::to_string(preset_.base_steps) + " steps on terse answers (30% of them wrong)");
    const tasks::SuiteEnvironment corpus(*s.suite, tasks::DemonstrationStyle::BasePretraining, base_corpus());
    const auto t0 = std::chrono::steady_clock::now();
    rl::Trainer<float> pretrain(*base, tokenizer_, corpus,
                                {.method = rl::Method::SFT, .steps = preset_.base_steps, .expert_rows_per_step = 64,
                                 .micro_batch_rows = 64, .lr = 3e-3, .weight_decay = 0.0,
                                 .eval = eval_options(preset_, s.seed),
                                 .progress_every = std::max<int64_t>(1, preset_.base_steps / 5),
                                 .progress_label = "seed " + std::to_string(s.seed) + " base policy", .seed = s.seed});
    result.scores = pretrain.train();  // evaluated at the last step
    io::save_gpt(weights, *base, &tokenizer_);
    io::write_text_file_atomically(saved, scores_json(result.scores, seconds_since(t0), preset_.fingerprint()).dump() + "\n");
    return base;
  }

  // (b) + (c): one run from the seed's base policy.
  RunResult post_train(const SeedContext& s, const RunSpec& spec, const nn::GPT<float>& base) {
    const std::string dir = s.dir + "/" + spec.name, saved = dir + "/result.json";
    RunResult result;
    result.name = spec.name;
    result.seed = s.seed;
    if (opt_.resume && std::filesystem::exists(dir + "/metrics.jsonl"))
      if (auto done = read_saved(saved, preset_.fingerprint())) {
        result.scores = done->scores;
        result.seconds = done->seconds;
        result.curves = io::read_metrics(dir + "/metrics.jsonl");
        say("(b) seed " + std::to_string(s.seed) + ", " + spec.name + ": finished before, read from " + saved);
        return result;
      }
    std::filesystem::remove_all(dir);  // no stale metrics from a run with other settings
    say("(b) seed " + std::to_string(s.seed) + ", " + spec.name + ": " + std::to_string(preset_.steps) +
        " steps from the base policy (" + spec.what + ")");
    nn::GPT<float> policy(preset_.model);
    policy.to(device_);
    policy.load_state_dict(base.state_dict());
    const auto t0 = std::chrono::steady_clock::now();
    rl::Trainer<float> trainer(policy, tokenizer_, *s.env,
                               {.method = spec.method, .steps = preset_.steps, .prompts_per_step = preset_.prompts_per_step,
                                .group_size = preset_.group_size, .expert_rows_per_step = preset_.expert_rows,
                                .sft_steps = preset_.steps / 3, .micro_batch_rows = 64, .lr = preset_.lr,
                                .max_new_tokens = preset_.max_new_tokens, .objective_override = spec.objective,
                                .mu_override = spec.mu, .eval_every = preset_.eval_every,
                                .eval = eval_options(preset_, s.seed), .out_dir = dir,
                                .progress_every = std::max<int64_t>(1, preset_.steps / 5),
                                .progress_label = "seed " + std::to_string(s.seed) + " " + spec.name, .seed = s.seed});
    result.scores = trainer.train();
    result.seconds = seconds_since(t0);
    result.curves = io::read_metrics(dir + "/metrics.jsonl");
    io::write_text_file_atomically(saved, scores_json(result.scores, result.seconds, preset_.fingerprint()).dump() + "\n");
    return result;
  }

  const Options& opt_;
  Preset preset_;
  std::vector<RunSpec> runs_;
  const io::Tokenizer& tokenizer_;
  Device device_;
  std::mutex mutex_;
  Results results_;
};

std::string command_line(int argc, char** argv) {
  std::string s = "build/examples/papers_in_miniature";
  for (int i = 1; i < argc; ++i) s += std::string(" ") + argv[i];
  return s;
}

int run(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  cpu::set_num_threads(opt.threads);
  const Device device = opt.device == "cuda" ? Device::cuda(0) : Device::cpu();
  (void)Tensor<float>::empty({1}, device);  // a clear error now, without CUDA or a GPU
  std::filesystem::create_directories(opt.out);
  const auto start = std::chrono::steady_clock::now();

  const io::Tokenizer tokenizer = io::Tokenizer::char_level(make_suite(1, 1).charset());
  Preset preset = make_preset(opt.quick ? "quick" : opt.full ? "full" : "default", tokenizer.vocab_size());
  if (opt.steps > 0) preset.steps = opt.steps;
  if (opt.seeds > 0) preset.seeds.resize(static_cast<std::size_t>(opt.seeds));
  for (std::size_t i = 0; i < preset.seeds.size(); ++i) preset.seeds[i] = opt.seed + i;
  const int jobs = device.is_cuda() ? 1 : opt.jobs > 0 ? opt.jobs : cpu::num_threads();

  Experiment experiment(opt, preset, tokenizer, device);
  std::printf("chord: the papers in miniature (%s), %s, %d threads, %d %s at a time, seeds %s\n\n",
              preset.name.c_str(), device.str().c_str(), cpu::num_threads(), jobs, jobs == 1 ? "run" : "runs",
              seeds_text(preset.seeds).c_str());
  const Results results = experiment.run_all(jobs);

  // (d) the report.
  const ReportContext context{.preset = preset, .runs = experiment.runs(), .command = command_line(argc, argv),
                              .wall_seconds = seconds_since(start), .threads = cpu::num_threads(), .jobs = jobs,
                              .device = device.is_cuda() ? device.str() : "the CPU"};
  const auto premises = check_premises(results);
  const auto findings = check_findings(results, preset.steps);
  const std::string report = results_markdown(results, context, premises, findings);
  io::write_text_file_atomically(opt.out + "/results.md", report);
  io::write_text_file_atomically(opt.out + "/results.json", results_json(results, context, premises, findings).dump() + "\n");
  save_plots(results, context, opt.out);
  std::printf("\n%s\nwrote %s/results.md, results.json, curves.png, findings.png and seed-*/<method>/metrics.jsonl "
              "(%.0f s in all)\n", report.c_str(), opt.out.c_str(), seconds_since(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return chord::io::run_main([&] { return run(argc, argv); }); }
