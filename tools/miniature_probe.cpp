// Probe for the redesign of "the papers in miniature": one binary, many configurations.
// A research tool, not part of the build: it measured docs/miniature_redesign.md's premises, and
// the demo's next presets come from it. Build it beside a checkout (Debian's stb):
//
//   g++ -std=c++20 -O2 -march=native -fopenmp -Iinclude
//       -I/usr/include/stb tools/miniature_probe.cpp -o miniature_probe -lpthread   (one line)
//
//   miniature_probe --style reversed --base-digits 2-4 --train-digits 2-5 --hard digits:5
//                   --methods SFT,GRPO --steps 400 --seed 1
//
// Tasks: addition (post-training family; expert style configurable) and reverse (held-out skill).
// Optionally sort as a second post-training family (--sort 1).
// Base policy: SFT on the terse style "#632" over --base-digits, with --wrong near-miss answers,
// --ret-share of the corpus from the held-out skill. Cached in --cache (keyed by its settings).
// Splits: id (uniform over --id-digits), hard (digits:D = D-digit problems; chain:C = id-digit
// problems whose longest carry chain is >= C), retention (reverse 3..6).
// Prints EVAL lines: method step id/hard/ret pass@1 pass@k, wall and CPU seconds.

#include <chord/chord.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace chord;

namespace {

struct Cfg {
  std::string style = "reversed";
  std::string base_digits = "2-4", train_digits = "2-5", id_digits = "2-4", hard = "digits:5";
  int sort = 0, add = 1;
  std::string sort_base = "3-5", sort_train = "3-8", sort_id = "3-5";
  double wrong = 0.3, ret_share = 0.25, style_share = 0.0;
  int64_t layers = 3, embd = 128, heads = 4, ctx = 64;
  int64_t base_steps = 1500, base_rows = 64;
  double base_lr = 3e-3;
  std::string methods = "SFT,GRPO";
  int64_t steps = 400, prompts = 16, group = 8, expert_rows = 32, eval_every = 100;
  double lr = 1e-3;
  int64_t sft_steps = 0, mu_decay = 0;
  int64_t eval_n = 100, eval_k = 8, max_new = 24;
  uint64_t seed = 1;
  int threads = 1;
  std::string cache = "runs/probe_cache";
  int diag = 0;
};

std::pair<int, int> range_of(const std::string& s) {
  const auto dash = s.find('-');
  if (dash == std::string::npos) return {std::stoi(s), std::stoi(s)};
  return {std::stoi(s.substr(0, dash)), std::stoi(s.substr(dash + 1))};
}

tasks::AdditionStyle style_of(const std::string& s) {
  if (s == "scratchpad") return tasks::AdditionStyle::Scratchpad;
  if (s == "column-sums") return tasks::AdditionStyle::ColumnSums;
  if (s == "reversed") return tasks::AdditionStyle::Reversed;
  if (s == "terse") return tasks::AdditionStyle::Terse;
  fail("probe", "unknown style ", s);
}

double cpu_s() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

class ProbeEnv : public rl::Environment {
 public:
  explicit ProbeEnv(const Cfg& c)
      : c_(c), add_(tasks::Difficulties{.id = {1, 9}, .ood = {1, 9}}, style_of(c.style)) {
    auto [ilo, ihi] = range_of(c.id_digits);
    Generator g(c.seed * 7919 + 11);
    // id
    rl::EvalSplit id{"id", {}}, id_add{"id_add", {}}, id_sort{"id_sort", {}};
    if (c.add)
      for (int64_t i = 0; i < c.eval_n; ++i) id_add.queries.push_back(fresh_add(g, ilo + int(i % (ihi - ilo + 1)), 0));
    auto [slo, shi] = range_of(c.sort_id);
    if (c.sort)
      for (int64_t i = 0; i < c.eval_n; ++i) id_sort.queries.push_back(fresh_sort(g, slo + int(i % (shi - slo + 1))));
    for (auto& q : id_add.queries) id.queries.push_back(q);
    for (auto& q : id_sort.queries) id.queries.push_back(q);
    splits_.push_back(id);
    // hard
    rl::EvalSplit hard{"hard", {}};
    std::stringstream hs(c.hard);
    std::string part;
    while (std::getline(hs, part, '+')) {
    const auto colon = part.find(':');
    const std::string kind = part.substr(0, colon);
    const std::string arg = part.substr(colon + 1);
    if (kind == "sortlen") {
      auto [hlo, hhi] = range_of(arg);
      for (int64_t i = 0; i < c.eval_n; ++i) hard.queries.push_back(fresh_sort(g, hlo + int(i % (hhi - hlo + 1))));
    } else if (kind == "digits") {
      auto [hlo, hhi] = range_of(arg);
      for (int64_t i = 0; i < c.eval_n; ++i) hard.queries.push_back(fresh_add(g, hlo + int(i % (hhi - hlo + 1)), 0));
    } else if (kind == "chain") {
      const int chain = std::stoi(arg);
      for (int64_t i = 0; i < c.eval_n; ++i) hard.queries.push_back(fresh_add(g, ilo + int(i % (ihi - ilo + 1)), chain));
    } else if (kind == "chainhi") {  // chain:C at the top id digit count only
      const int chain = std::stoi(arg);
      for (int64_t i = 0; i < c.eval_n; ++i) hard.queries.push_back(fresh_add(g, ihi, chain));
    }
    }
    splits_.push_back(hard);
    rl::EvalSplit ret{"ret", {}};
    for (int64_t i = 0; i < c.eval_n; ++i) {
      for (;;) {
        auto p = rev_.generate(g, 3 + int(i % 4));
        if (held_.insert(p.prompt).second) {
          ret.queries.push_back({p.prompt, p.answer, p.family});
          break;
        }
      }
    }
    splits_.push_back(ret);
    if (c.add && c.sort) {
      splits_.push_back(id_add);
      splits_.push_back(id_sort);
    }
    if (c.diag) {  // per digit count and per chain length
      for (int d = 1; d <= 7; ++d) {
        rl::EvalSplit s{"d" + std::to_string(d), {}};
        for (int64_t i = 0; i < c.eval_n / 2; ++i) s.queries.push_back(fresh_add(g, d, 0));
        splits_.push_back(s);
      }
      for (int ch = 0; ch <= 4; ++ch) {
        rl::EvalSplit s{"d4ch" + std::to_string(ch), {}};
        for (int64_t i = 0; i < c.eval_n / 2; ++i) s.queries.push_back(fresh_add(g, 4, ch, true));
        splits_.push_back(s);
      }
    }
  }

  // Post-training stream.
  std::vector<rl::Query> sample_queries(int64_t n, Generator& gen) const override {
    auto [lo, hi] = range_of(c_.train_digits);
    std::vector<rl::Query> out;
    for (int64_t i = 0; i < n; ++i) {
      if (c_.sort && (!c_.add || gen.randint(0, 2) == 1)) {
        auto [a, b] = range_of(c_.sort_train);
        out.push_back(draw_sort(gen, int(gen.randint(a, b + 1))));
        continue;
      }
      out.push_back(draw_add(gen, int(gen.randint(lo, hi + 1))));
    }
    return out;
  }
  double reward(const rl::Query& q, std::string_view response) const override {
    tasks::Problem p{q.prompt, q.answer, 0, q.family};
    if (q.family == "addition") return add_.reward(p, response);
    if (q.family == "sort") return sort_.reward(p, response);
    return rev_.reward(p, response);
  }
  std::string demonstrate(const rl::Query& q) const override {
    tasks::Problem p{q.prompt, q.answer, 0, q.family};
    if (q.family == "addition") return add_.expert_solution(p);
    return sort_.expert_solution(p);
  }
  std::vector<rl::EvalSplit> eval_splits() const override { return splits_; }

  // The base corpus (terse), used by the pretraining environment.
  std::vector<rl::Demonstration> base_corpus(int64_t n, Generator& gen) const {
    auto [lo, hi] = range_of(c_.base_digits);
    std::vector<rl::Demonstration> out;
    for (int64_t i = 0; i < n; ++i) {
      if (gen.uniform() < c_.ret_share) {
        for (;;) {
          auto p = rev_.generate(gen, int(gen.randint(3, 7)));
          if (held_.count(p.prompt)) continue;
          out.push_back({{p.prompt, p.answer, p.family}, rev_.base_solution(p)});
          break;
        }
        continue;
      }
      auto [sa, sb] = range_of(c_.sort_base);
      rl::Query q = (c_.sort && (!c_.add || gen.randint(0, 2) == 1)) ? draw_sort(gen, int(gen.randint(sa, sb + 1)))
                                                        : draw_add(gen, int(gen.randint(lo, hi + 1)));
      tasks::Problem p{q.prompt, q.answer, 0, q.family};
      const tasks::Task& t = q.family == "addition" ? static_cast<const tasks::Task&>(add_) : sort_;
      if (c_.style_share > 0 && gen.uniform() < c_.style_share) {
        out.push_back({q, q.family == "addition" ? add_.expert_solution(p) : sort_.expert_solution(p)});
        continue;
      }
      std::string resp = gen.uniform() < c_.wrong ? tasks::Task::base_response(t.wrong_answer(p, gen)) : t.base_solution(p);
      out.push_back({q, resp});
    }
    return out;
  }
  std::string charset() const {
    std::string s = add_.alphabet() + rev_.alphabet() + sort_.alphabet();
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
    return s;
  }
  const tasks::Addition& addition() const { return add_; }

 private:
  rl::Query fresh_add(Generator& g, int d, int min_chain, bool exact = false) {
    for (;;) {
      auto p = add_.generate(g, d);
      const int ch = add_.carry_chain(p.prompt);
      if (exact ? ch != min_chain : ch < min_chain) continue;
      if (held_.insert(p.prompt).second) return {p.prompt, p.answer, p.family};
    }
  }
  rl::Query fresh_sort(Generator& g, int n) {
    for (;;) {
      auto p = sort_.generate(g, n);
      if (held_.insert(p.prompt).second) return {p.prompt, p.answer, p.family};
    }
  }
  rl::Query draw_add(Generator& g, int d) const {
    for (;;) {
      auto p = add_.generate(g, d);
      if (!held_.count(p.prompt)) return {p.prompt, p.answer, p.family};
    }
  }
  rl::Query draw_sort(Generator& g, int n) const {
    for (;;) {
      auto p = sort_.generate(g, n);
      if (!held_.count(p.prompt)) return {p.prompt, p.answer, p.family};
    }
  }

  Cfg c_;
  tasks::Addition add_;
  tasks::Sort sort_;
  tasks::Reverse rev_;
  std::set<std::string, std::less<>> held_;
  std::vector<rl::EvalSplit> splits_;
};

class PretrainEnv : public rl::Environment {
 public:
  explicit PretrainEnv(const ProbeEnv& e) : e_(e) {}
  std::vector<rl::Query> sample_queries(int64_t n, Generator& gen) const override { return e_.sample_queries(n, gen); }
  double reward(const rl::Query& q, std::string_view r) const override { return e_.reward(q, r); }
  std::string demonstrate(const rl::Query& q) const override { return e_.demonstrate(q); }
  std::vector<rl::EvalSplit> eval_splits() const override { return e_.eval_splits(); }
  std::vector<rl::Demonstration> sample_demonstrations(int64_t n, Generator& gen) const override {
    return e_.base_corpus(n, gen);
  }

 private:
  const ProbeEnv& e_;
};

std::string fmt_scores(const std::vector<rl::SplitScore>& s) {
  std::ostringstream o;
  for (const auto& x : s) {
    char buf[96];
    std::snprintf(buf, sizeof buf, " %s %.3f/%.3f", x.name.c_str(), x.pass_at_1, x.pass_at_k);
    o << buf;
  }
  return o.str();
}

}  // namespace

int main(int argc, char** argv) {
  return io::run_main([&] {
    Cfg c;
    io::ArgParser a("probe", "redesign probe");
    a.option("--style", c.style, "expert style").option("--base-digits", c.base_digits, "")
        .option("--train-digits", c.train_digits, "").option("--id-digits", c.id_digits, "")
        .option("--hard", c.hard, "digits:D or chain:C").option("--sort", c.sort, "").option("--add", c.add, "")
        .option("--sort-base", c.sort_base, "").option("--sort-train", c.sort_train, "").option("--sort-id", c.sort_id, "")
        .option("--wrong", c.wrong, "").option("--style-share", c.style_share, "").option("--ret-share", c.ret_share, "")
        .option("--layers", c.layers, "").option("--embd", c.embd, "").option("--heads", c.heads, "")
        .option("--ctx", c.ctx, "").option("--base-steps", c.base_steps, "").option("--base-rows", c.base_rows, "")
        .option("--base-lr", c.base_lr, "").option("--methods", c.methods, "").option("--steps", c.steps, "")
        .option("--prompts", c.prompts, "").option("--group", c.group, "").option("--expert-rows", c.expert_rows, "")
        .option("--eval-every", c.eval_every, "").option("--lr", c.lr, "").option("--sft-steps", c.sft_steps, "")
        .option("--mu-decay", c.mu_decay, "").option("--eval-n", c.eval_n, "").option("--eval-k", c.eval_k, "")
        .option("--max-new", c.max_new, "").option("--seed", c.seed, "").option("--threads", c.threads, "")
        .option("--cache", c.cache, "").option("--diag", c.diag, "");
    a.parse_or_exit(argc, argv);
    cpu::set_num_threads(c.threads);

    ProbeEnv env(c);
    PretrainEnv pre(env);
    const io::Tokenizer tok = io::Tokenizer::char_level(env.charset());
    const nn::GPTConfig mc{.vocab_size = tok.vocab_size(), .context_length = c.ctx, .n_layer = c.layers,
                           .n_head = c.heads, .n_embd = c.embd};
    const rl::EvalOptions eval{.k = c.eval_k, .temperature = 1.0, .max_new_tokens = c.max_new};

    std::filesystem::create_directories(c.cache);
    std::ostringstream key;
    key << c.cache << "/base_L" << c.layers << "E" << c.embd << "_b" << c.base_digits << "_s" << c.sort << c.add << c.sort_base << "_w"
        << c.wrong << "_ss" << c.style_share << "_r" << c.ret_share << "_n" << c.base_steps << "x" << c.base_rows << "_lr" << c.base_lr
        << "_seed" << c.seed << ".safetensors";
    nn::GPT<float> base(mc, c.seed);
    double t_wall0 = 0;
    if (std::filesystem::exists(key.str())) {
      io::load_gpt_weights(key.str(), base);
      std::printf("loaded base %s (%.2f M params)\n", key.str().c_str(), base.num_parameters() / 1e6);
    } else {
      const auto w0 = std::chrono::steady_clock::now();
      const double c0 = cpu_s();
      rl::Trainer<float> pt(base, tok, pre,
                            {.method = rl::Method::SFT, .steps = c.base_steps, .expert_rows_per_step = c.base_rows,
                             .micro_batch_rows = 64, .lr = c.base_lr, .weight_decay = 0.0, .eval = eval,
                             .print_progress = false, .seed = c.seed});
      for (int64_t s = 1; s <= c.base_steps; ++s) {
        auto row = pt.train_step();
        if (s % 250 == 0)
          for (auto& [k, v] : row)
            if (k == "loss" || k == "loss/sft") std::printf("  base step %lld %s %.4f\n", (long long)s, k.c_str(), v);
      }
      t_wall0 = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
      io::save_gpt(key.str(), base, &tok);
      std::printf("trained base %s (%.2f M params): wall %.1f s cpu %.1f s\n", key.str().c_str(),
                  base.num_parameters() / 1e6, t_wall0, cpu_s() - c0);
    }
    {
      const double c0 = cpu_s();
      const auto s = rl::evaluate(base, tok, env, eval);
      std::printf("EVAL base step 0%s evalcpu %.1f\n", fmt_scores(s).c_str(), cpu_s() - c0);
      std::fflush(stdout);
    }
    // one expert example, and the base's greedy answers
    {
      const auto& sp = env.eval_splits();
      std::vector<std::vector<int64_t>> prompts;
      std::vector<std::string> texts;
      for (int i = 0; i < 4; ++i) for (int j = 0; j < 3 && j < (int)sp.size(); ++j) {
        texts.push_back(sp[j].queries[i].prompt);
        prompts.push_back(tok.encode(texts.back(), true));
      }
      const auto res = sample::generate(base, prompts, {.max_new_tokens = c.max_new, .temperature = 0.0,
                                        .eos_id = tok.eos_id(), .seed = 1, .pad_id = tok.pad_id()}, 1);
      for (std::size_t i = 0; i < texts.size(); ++i)
        std::printf("  base greedy: %s%s\n", texts[i].c_str(), rl::response_text(res.completions[i], tok).c_str());
    }
    {
      Generator g(3);
      auto q = env.sample_queries(2, g);
      for (auto& x : q) std::printf("  expert: %s%s\n", x.prompt.c_str(), env.demonstrate(x).c_str());
    }

    std::stringstream ms(c.methods);
    std::string mname;
    while (std::getline(ms, mname, ',')) {
      const rl::Method m = rl::method_from_string(mname);
      nn::GPT<float> pol(mc);
      pol.load_state_dict(base.state_dict());
      rl::Trainer<float> tr(pol, tok, env,
                            {.method = m, .steps = c.steps, .prompts_per_step = c.prompts, .group_size = c.group,
                             .expert_rows_per_step = c.expert_rows,
                             .sft_steps = c.sft_steps > 0 ? c.sft_steps : c.steps / 3, .mu_decay_steps = c.mu_decay,
                             .micro_batch_rows = 64, .lr = c.lr, .max_new_tokens = c.max_new, .eval = eval,
                             .print_progress = false, .seed = c.seed});
      const auto w0 = std::chrono::steady_clock::now();
      const double c0 = cpu_s();
      double eval_cpu = 0;
      double rsum = 0, esum = 0;
      int64_t rn = 0;
      for (int64_t s = 1; s <= c.steps; ++s) {
        auto row = tr.train_step();
        for (auto& [k, v] : row) {
          if (k == "reward/mean") rsum += v;
          if (k == "entropy") esum += v;
        }
        ++rn;
        if (s % c.eval_every == 0 || s == c.steps) {
          const double e0 = cpu_s();
          const auto sc = rl::evaluate(pol, tok, env, eval);
          eval_cpu += cpu_s() - e0;
          std::printf("EVAL %s step %lld%s | reward %.3f entropy %.3f | wall %.0f cpu %.0f (eval cpu %.0f)\n",
                      mname.c_str(), (long long)s, fmt_scores(sc).c_str(), rsum / rn, esum / rn,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count(), cpu_s() - c0,
                      eval_cpu);
          std::fflush(stdout);
          rsum = esum = 0;
          rn = 0;
        }
      }
    }
    return 0;
  });
}
