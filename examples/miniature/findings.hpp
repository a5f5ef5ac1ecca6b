#pragma once
// The papers in miniature, part 4: the premises the setting must meet, and the papers' findings,
// each checked on the runs' numbers (docs/miniature.md gives the definitions in prose).
//
// Premises are checked seed by seed (each method against the base policy of its own seed);
// findings compare methods over the seeds with statistics.hpp's rule (ranges that do not overlap).

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "results.hpp"
#include "statistics.hpp"

namespace miniature {

// One claim of a finding: what is compared, its verdict, and the numbers behind it.
struct Claim {
  std::string text;
  Verdict verdict = Verdict::NotRun;
  std::string numbers;
};

struct Finding {
  std::string title;
  std::vector<Claim> claims;

  Verdict verdict() const {
    Verdict v = Verdict::Reproduced;
    for (const Claim& c : claims) v = both(v, c.verdict);
    return v;
  }
};

struct Premise {
  std::string title;
  bool holds = false;
  std::string numbers;  // per seed
};

// ---- thresholds (docs/miniature.md, "Premises") ----------------------------------
constexpr double kClearGain = 0.05;      // "clearly above the base policy": pass@1 gain on id, every seed
constexpr double kOutOfReach = 0.02;     // the base policy's pass@k on the hard slice at most this
constexpr double kSolvedByExpert = 0.1;  // SFT's hard pass@1 at least this
constexpr double kSkillLearned = 0.5;    // the base policy's retention pass@1 at least this
constexpr std::size_t kEntropyWindow = 20;  // steps in the moving average of the entropy

inline std::string three(double x) { return decimals(x, 3); }

// "SFT 0.912 vs base 0.659, ..." for every seed of run `name` against the base policy.
inline std::string per_seed(const Results& results, const std::string& name, const std::string& split, bool pass_k,
                            const std::string& base_name = "base policy") {
  std::string out;
  const auto& runs = results.runs(name);
  const auto& bases = results.runs(base_name);
  for (std::size_t i = 0; i < runs.size() && i < bases.size(); ++i) {
    const auto a = runs[i].split(split), b = bases[i].split(split);
    out += (out.empty() ? "" : "; ") + std::string("seed ") + std::to_string(runs[i].seed) + ": " +
           three(pass_k ? a.pass_at_k : a.pass_at_1) + " vs " + three(pass_k ? b.pass_at_k : b.pass_at_1);
  }
  return out;
}

inline std::vector<Premise> check_premises(const Results& r) {
  std::vector<Premise> out;
  const auto& base = r.runs("base policy");
  const auto every_seed = [&](const std::string& name, auto&& predicate) {
    const auto& runs = r.runs(name);
    bool all = !runs.empty();
    for (std::size_t i = 0; i < runs.size(); ++i) all = all && predicate(runs[i], base[i]);
    return all;
  };
  out.push_back({"(a) the expert's demonstrations are learnable and useful: SFT alone ends at least " +
                     three(kClearGain) + " above the base policy on id (pass@1), on every seed",
                 every_seed("SFT",
                            [](const RunResult& m, const RunResult& b) {
                              return m.split("id").pass_at_1 >= b.split("id").pass_at_1 + kClearGain;
                            }),
                 "SFT vs base, id pass@1: " + per_seed(r, "SFT", "id", false)});
  out.push_back({"(b) RL alone improves on the base policy: GRPO ends at least " + three(kClearGain) +
                     " above it on id (pass@1), on every seed",
                 every_seed("GRPO",
                            [](const RunResult& m, const RunResult& b) {
                              return m.split("id").pass_at_1 >= b.split("id").pass_at_1 + kClearGain;
                            }),
                 "GRPO vs base, id pass@1: " + per_seed(r, "GRPO", "id", false)});
  bool out_of_reach = true;
  for (const RunResult& b : base) out_of_reach = out_of_reach && b.split("hard").pass_at_k <= kOutOfReach;
  const bool solved = every_seed("SFT", [](const RunResult& m, const RunResult&) {
    return m.split("hard").pass_at_1 >= kSolvedByExpert;
  });
  out.push_back({"(c) a hard slice beyond the base policy's reach: its pass@k on hard is at most " +
                     three(kOutOfReach) + " (so RL alone gets no reward there), while SFT on the expert reaches a "
                     "hard pass@1 of at least " + three(kSolvedByExpert) + ", on every seed",
                 out_of_reach && solved,
                 "base hard pass@k: " + mean_std(r.pass_at_k("base policy", "hard")) +
                     " (max " + three(r.pass_at_k("base policy", "hard").max()) + "); SFT vs base, hard pass@1: " +
                     per_seed(r, "SFT", "hard", false) + "; GRPO hard pass@1: " +
                     mean_std(r.pass_at_1("GRPO", "hard"))});
  bool learned = true;
  for (const RunResult& b : base) learned = learned && b.split("retention").pass_at_1 >= kSkillLearned;
  out.push_back({"(d) a held-out skill measures forgetting: the base policy reverses strings with pass@1 of at "
                 "least " + three(kSkillLearned) + " on every seed, and post-training never trains on it",
                 learned, "base retention pass@1: " + mean_std(r.pass_at_1("base policy", "retention")) +
                              " (min " + three(r.pass_at_1("base policy", "retention").min()) + ")"});
  return out;
}

// A claim "a (op) b" on one number per seed, with the numbers in its text.
inline Claim claim(const std::string& text, const std::string& a_name, const SeedStats& a, const std::string& b_name,
                   const SeedStats& b, bool at_least) {
  Claim c{text, at_least ? verdict_at_least(a, b) : verdict_above(a, b), ""};
  c.numbers = a_name + " " + mean_std(a) + " vs " + b_name + " " + mean_std(b) + " (" + order_words(compare(a, b)) + ")";
  return c;
}

// The SFT curve's shift (below the base policy in the first half) and readapt (above it at the end).
struct ShiftReadapt {
  bool shift = false, readapt = false, overfit = false;
  double low = 0, low_step = 0, base = 0, end = 0, peak = 0;
};

inline ShiftReadapt shift_readapt(const RunResult& sft, const RunResult& base, int64_t steps) {
  ShiftReadapt s;
  const Curve c = curve_of(sft, "eval/id/pass@1");
  s.base = base.split("id").pass_at_1;
  s.end = sft.split("id").pass_at_1;
  s.low = 1;
  for (std::size_t i = 0; i < c.x.size(); ++i) {
    s.peak = std::max(s.peak, c.y[i]);
    if (c.x[i] > 0 && c.x[i] <= static_cast<double>(steps) / 2 && c.y[i] < s.low) {
      s.low = c.y[i];
      s.low_step = c.x[i];
    }
  }
  s.shift = s.low < s.base;
  s.readapt = s.end > s.base;
  s.overfit = s.end < s.peak - 0.02;
  return s;
}

// Entropy summaries of one run on one seed, from its per-step entropy (a 20-step moving average):
// the highest it reached and where it ended.
struct EntropySummary {
  double peak = 0, end = 0;
};

inline EntropySummary entropy_summary(const RunResult& r) {
  const Curve c = moving_average(curve_of(r, "entropy"), kEntropyWindow);
  EntropySummary s;
  if (c.y.empty()) return s;
  s.peak = *std::max_element(c.y.begin(), c.y.end());
  s.end = c.y.back();
  return s;
}

inline std::vector<Finding> check_findings(const Results& r, int64_t steps) {
  std::vector<Finding> out;
  const auto id = [&](const std::string& n) { return r.pass_at_1(n, "id"); };
  const auto hard = [&](const std::string& n) { return r.pass_at_1(n, "hard"); };
  const auto retention = [&](const std::string& n) { return r.pass_at_1(n, "retention"); };
  const auto missing = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (!r.has(n)) return true;
    return false;
  };

  out.push_back({"CHORD-phi at least matches GRPO, SFT and SFT-then-RL on id",
                 {claim("CHORD-phi >= GRPO (id pass@1)", "CHORD-phi", id("CHORD-phi"), "GRPO", id("GRPO"), true),
                  claim("CHORD-phi >= SFT (id pass@1)", "CHORD-phi", id("CHORD-phi"), "SFT", id("SFT"), true),
                  claim("CHORD-phi >= SFT-then-RL (id pass@1)", "CHORD-phi", id("CHORD-phi"), "SFT-then-RL",
                        id("SFT-then-RL"), true)}});
  out.push_back({"LUFFY and CHORD learn the hard slice, where GRPO has no signal",
                 {claim("LUFFY > GRPO (hard pass@1)", "LUFFY", hard("LUFFY"), "GRPO", hard("GRPO"), false),
                  claim("CHORD-mu > GRPO (hard pass@1)", "CHORD-mu", hard("CHORD-mu"), "GRPO", hard("GRPO"), false),
                  claim("CHORD-phi > GRPO (hard pass@1)", "CHORD-phi", hard("CHORD-phi"), "GRPO", hard("GRPO"),
                        false)}});

  // SFT's shift and readapt, seed by seed.
  {
    const auto& sft = r.runs("SFT");
    const auto& base = r.runs("base policy");
    bool shift = true, readapt = true;
    std::string numbers, overfit;
    for (std::size_t i = 0; i < sft.size(); ++i) {
      const ShiftReadapt s = shift_readapt(sft[i], base[i], steps);
      shift = shift && s.shift;
      readapt = readapt && s.readapt;
      numbers += (numbers.empty() ? "" : "; ") + std::string("seed ") + std::to_string(sft[i].seed) + ": base " +
                 three(s.base) + ", low " + three(s.low) + " at step " + std::to_string(static_cast<int64_t>(s.low_step)) +
                 ", end " + three(s.end) + " (peak " + three(s.peak) + ")";
      if (s.overfit) overfit += (overfit.empty() ? "" : ", ") + std::to_string(sft[i].seed);
    }
    const Verdict seeds = sft.size() < 2 ? Verdict::OneSeed : Verdict::Reproduced;
    Finding f{"SFT's shift-readapt curve, and SFT-then-RL ending below pure RL", {}};
    f.claims.push_back({"SFT first drops below the base policy on id (shift, in the first half of the steps)",
                        shift ? seeds : Verdict::NotReproduced, numbers});
    f.claims.push_back({"then ends above it (readapt)", readapt ? seeds : Verdict::NotReproduced,
                        "overfitting (the end 0.02 or more below the curve's peak) on seeds: " +
                            (overfit.empty() ? std::string("none") : overfit)});
    f.claims.push_back(
        claim("SFT-then-RL < GRPO (id pass@1)", "GRPO", id("GRPO"), "SFT-then-RL", id("SFT-then-RL"), false));
    out.push_back(std::move(f));
  }

  // Entropy: plain SFT in RL spikes it, SFT-IS collapses it, phi keeps it stable.
  if (missing({"SFT-IS"})) {
    out.push_back({"entropy: plain SFT mixed into RL spikes it, SFT-IS collapses it, phi keeps it stable",
                   {{"needs the SFT-IS run (--full)", Verdict::NotRun, ""}}});
  } else {
    const auto peak = [&](const std::string& n) {
      return r.stats(n, [](const RunResult& x) { return entropy_summary(x).peak; });
    };
    const auto end = [&](const std::string& n) {
      return r.stats(n, [](const RunResult& x) { return entropy_summary(x).end; });
    };
    out.push_back({"entropy: plain SFT mixed into RL spikes it, SFT-IS collapses it, phi keeps it stable",
                   {claim("spike: CHORD-mu's peak entropy > CHORD-phi's", "CHORD-mu",
                          peak("CHORD-mu"), "CHORD-phi", peak("CHORD-phi"), false),
                    claim("collapse: CHORD-phi's final entropy > SFT-IS's", "CHORD-phi", end("CHORD-phi"), "SFT-IS",
                          end("SFT-IS"), false)}});
  }

  if (missing({"CHORD-mu=0.5", "CHORD-mu=0.02"})) {
    out.push_back({"the mu ablation: a decaying mu beats mu = 0.5 and matches mu = 0.02",
                   {{"needs the constant-mu runs (--full)", Verdict::NotRun, ""}}});
  } else {
    const auto score = [&](const std::string& n) {
      return r.stats(n, [](const RunResult& x) { return (x.split("id").pass_at_1 + x.split("hard").pass_at_1) / 2; });
    };
    out.push_back({"the mu ablation: a decaying mu beats mu = 0.5 and matches mu = 0.02 (score: the mean of id "
                   "and hard pass@1)",
                   {claim("CHORD-mu (0.9 -> 0.05) > CHORD-mu=0.5", "CHORD-mu", score("CHORD-mu"), "CHORD-mu=0.5",
                          score("CHORD-mu=0.5"), false),
                    claim("CHORD-mu (0.9 -> 0.05) >= CHORD-mu=0.02", "CHORD-mu", score("CHORD-mu"), "CHORD-mu=0.02",
                          score("CHORD-mu=0.02"), true)}});
  }

  out.push_back({"forgetting: the methods that imitate heavily lose the held-out skill most; CHORD-phi loses less",
                 {claim("GRPO keeps more than SFT (retention pass@1)", "GRPO", retention("GRPO"), "SFT",
                        retention("SFT"), false),
                  claim("GRPO keeps more than SFT-then-RL", "GRPO", retention("GRPO"), "SFT-then-RL",
                        retention("SFT-then-RL"), false),
                  claim("CHORD-phi keeps more than SFT", "CHORD-phi", retention("CHORD-phi"), "SFT",
                        retention("SFT"), false),
                  claim("CHORD-phi keeps more than SFT-then-RL", "CHORD-phi", retention("CHORD-phi"), "SFT-then-RL",
                        retention("SFT-then-RL"), false)}});

  if (missing({"LUFFY-unshaped"})) {
    out.push_back({"LUFFY's policy shaping p/(p+0.1) beats no shaping", {{"needs the LUFFY-unshaped run (--full)", Verdict::NotRun, ""}}});
  } else {
    out.push_back({"LUFFY's policy shaping p/(p+0.1) beats no shaping (-A p) on the hard slice",
                   {claim("LUFFY > LUFFY-unshaped (hard pass@1)", "LUFFY", hard("LUFFY"), "LUFFY-unshaped",
                          hard("LUFFY-unshaped"), false)}});
  }
  return out;
}

}  // namespace miniature
