#pragma once
// The papers in miniature, part 5: what a person reads and looks at.
//
//   results.md    the tables (mean ± std over seeds), the premises, the findings with verdicts
//   results.json  the same numbers for programs, every seed's included
//   curves.png    each method's curves: the mean over seeds, with a min-max band
//   findings.png  one panel per finding a person would rather look at than read

#include <chord/chord.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "findings.hpp"
#include "results.hpp"
#include "setting.hpp"
#include "statistics.hpp"

namespace miniature {

struct ReportContext {
  Preset preset;
  std::vector<RunSpec> runs;
  std::string command;   // how the run was started
  double wall_seconds = 0;
  int threads = 1, jobs = 1;
  std::string device;
};

inline std::string seeds_text(const std::vector<uint64_t>& seeds) {
  std::string s;
  for (uint64_t seed : seeds) s += (s.empty() ? "" : ", ") + std::to_string(seed);
  return s;
}

inline std::string table_of(const Results& r, const std::vector<std::string>& names, int64_t k) {
  const std::string K = std::to_string(k);
  using io::Align;
  io::MarkdownTable table({"method", "id pass@1", "id pass@" + K, "hard pass@1", "hard pass@" + K, "retention pass@1",
                           "time (s)"},
                          {Align::left, Align::right, Align::right, Align::right, Align::right, Align::right,
                           Align::right});
  for (const std::string& n : names) {
    if (!r.has(n)) continue;
    table.add_row({n, mean_std(r.pass_at_1(n, "id")), mean_std(r.pass_at_k(n, "id")), mean_std(r.pass_at_1(n, "hard")),
                   mean_std(r.pass_at_k(n, "hard")), mean_std(r.pass_at_1(n, "retention")),
                   io::fixed(r.stats(n, [](const RunResult& x) { return x.seconds; }).mean(), 0)});
  }
  return table.str();
}

inline std::string findings_text(const std::vector<Finding>& findings) {
  std::string out;
  for (std::size_t i = 0; i < findings.size(); ++i) {
    const Finding& f = findings[i];
    out += std::to_string(i + 1) + ". **" + f.title + "**: " + to_string(f.verdict()) + ".\n";
    for (const Claim& c : f.claims) {
      out += "   - " + c.text + ": " + to_string(c.verdict);
      if (!c.numbers.empty()) out += ". " + c.numbers;
      out += ".\n";
    }
  }
  return out;
}

inline std::string premises_text(const std::vector<Premise>& premises) {
  std::string out;
  for (const Premise& p : premises)
    out += "- " + p.title + ": **" + (p.holds ? "holds" : "does not hold") + "**. " + p.numbers + ".\n";
  return out;
}

inline std::string results_markdown(const Results& r, const ReportContext& c, const std::vector<Premise>& premises,
                                    const std::vector<Finding>& findings) {
  const Preset& p = c.preset;
  const std::size_t n = p.seeds.size();
  std::string md = "# The papers in miniature\n\n";
  md += "Preset `" + p.name + "`: " + std::to_string(p.steps) + " optimizer steps per method from one base policy per seed (" +
        std::to_string(p.base_steps) + " steps), " + std::to_string(n) + (n == 1 ? " seed" : " seeds") + " (" +
        seeds_text(p.seeds) + "); pass@1 and pass@" + std::to_string(p.eval_k) + " over " +
        std::to_string(p.test_size) + " problems per split at temperature 1. " +
        (n > 1 ? "Cells are mean ± standard deviation over the seeds. " : "") + "id: sorting 3 to 5 letters (what the "
        "base policy was taught); hard: 6 to 8 letters (never in its data); retention: reversing 3 to 6 letters (the "
        "held-out skill).\n\n";
  md += "Command: `" + c.command + "` on " + c.device + ", " + std::to_string(c.threads) + " threads, " +
        std::to_string(c.jobs) + (c.jobs == 1 ? " run" : " runs") + " at a time; wall time " +
        decimals(c.wall_seconds / 60.0, 1) + " min (a run's time counts its evaluations, and is longer when runs "
        "share the cores).\n\n";
  if (p.name == "quick")
    md += "This is the quick preset, a smoke run: a 2-layer model and " + std::to_string(p.steps) +
          " steps per method check that every method runs end to end. Its numbers do not compare the methods.\n\n";

  std::vector<std::string> methods = {"base policy"}, ablations;
  for (const RunSpec& s : c.runs) (s.ablation ? ablations : methods).push_back(s.name);
  md += "## Methods\n\n" + table_of(r, methods, p.eval_k) + "\n";
  if (!ablations.empty()) {
    std::vector<std::string> rows = {"CHORD-phi", "SFT-IS", "CHORD-mu", "CHORD-mu=0.5", "CHORD-mu=0.02", "LUFFY",
                                     "LUFFY-unshaped"};
    md += "## Ablations\n\nEach ablation changes one thing of the method above it:\n\n";
    for (const RunSpec& s : c.runs)
      if (s.ablation) md += "- " + s.name + ": " + s.what + ".\n";
    md += "\n" + table_of(r, rows, p.eval_k) + "\n";
  }
  md += "## Premises\n\n" + premises_text(premises) + "\n";
  md += "## Findings\n\n";
  md += n > 1 ? "A difference is called real only when the two ranges over the " + std::to_string(n) +
                    " seeds do not overlap (the exact one-sided Mann-Whitney test at U = 0, p = " +
                    three(separation_p_value(n, n)) + "); a claim \"A >= B\" holds unless B's range lies above "
                    "A's.\n\n"
              : std::string("One seed cannot separate a finding from seed noise: the verdicts need --full.\n\n");
  md += findings_text(findings);
  return md;
}

inline io::Json split_json(const SeedStats& p1, const SeedStats& pk, int64_t k) {
  io::Json::Array per_seed;
  for (double v : p1.values) per_seed.emplace_back(v);
  return io::Json(io::Json::Object{{"pass@1", io::Json(p1.mean())},
                                   {"pass@1_std", io::Json(p1.std())},
                                   {"pass@1_per_seed", io::Json(std::move(per_seed))},
                                   {"pass@k", io::Json(pk.mean())},
                                   {"pass@k_std", io::Json(pk.std())},
                                   {"k", io::Json(k)}});
}

// {"preset": "default", "seeds": [1], "steps": 600, "methods": [{"name": "base policy", "ablation": false,
//   "seconds": 0, "splits": {"id": {"pass@1": mean, "pass@1_std": ..., "pass@1_per_seed": [...], "pass@k": ...}}}],
//  "premises": [{"title": ..., "holds": true}], "findings": [{"title": ..., "verdict": "reproduced"}]}
inline io::Json results_json(const Results& r, const ReportContext& c, const std::vector<Premise>& premises,
                             const std::vector<Finding>& findings) {
  io::Json::Array methods, seeds, premise_list, finding_list;
  std::vector<std::pair<std::string, bool>> names = {{"base policy", false}};
  for (const RunSpec& s : c.runs) names.emplace_back(s.name, s.ablation);
  for (const auto& [name, ablation] : names) {
    if (!r.has(name)) continue;
    io::Json::Object splits;
    for (const char* split : {"id", "hard", "retention"})
      splits.emplace_back(split, split_json(r.pass_at_1(name, split), r.pass_at_k(name, split), c.preset.eval_k));
    methods.emplace_back(io::Json::Object{
        {"name", io::Json(name)},
        {"ablation", io::Json(ablation)},
        {"seconds", io::Json(r.stats(name, [](const RunResult& x) { return x.seconds; }).mean())},
        {"splits", io::Json(std::move(splits))}});
  }
  for (uint64_t s : c.preset.seeds) seeds.emplace_back(static_cast<double>(s));
  for (const Premise& p : premises)
    premise_list.emplace_back(io::Json::Object{{"title", io::Json(p.title)}, {"holds", io::Json(p.holds)}});
  for (const Finding& f : findings)
    finding_list.emplace_back(
        io::Json::Object{{"title", io::Json(f.title)}, {"verdict", io::Json(to_string(f.verdict()))}});
  return io::Json(io::Json::Object{{"preset", io::Json(c.preset.name)},
                                   {"seeds", io::Json(std::move(seeds))},
                                   {"steps", io::Json(c.preset.steps)},
                                   {"wall_seconds", io::Json(c.wall_seconds)},
                                   {"methods", io::Json(std::move(methods))},
                                   {"premises", io::Json(std::move(premise_list))},
                                   {"findings", io::Json(std::move(finding_list))}});
}

// ---- plots --------------------------------------------------------------------------

// One colour per run in every panel (the plot's own palette has 8, the runs are 10): the papers'
// methods in the palette's colours, each ablation in a lighter shade of its method's.
inline io::Rgb run_color(const std::string& name) {
  static const std::vector<std::pair<std::string, io::Rgb>> colors = {
      {"SFT", {31, 119, 180}},         {"GRPO", {255, 127, 14}},         {"SFT-then-RL", {127, 127, 127}},
      {"LUFFY", {44, 160, 44}},        {"LUFFY-unshaped", {152, 223, 138}}, {"CHORD-mu", {148, 103, 189}},
      {"CHORD-mu=0.5", {197, 176, 213}}, {"CHORD-mu=0.02", {23, 190, 207}}, {"CHORD-phi", {214, 39, 40}},
      {"SFT-IS", {227, 119, 194}}};
  for (const auto& [run, color] : colors)
    if (run == name) return color;
  return {0, 0, 0};
}

// The mean over seeds of one metric of run `name`, with the min-max band (points where every seed
// has a value; per-step metrics smoothed by a moving average first, eval metrics left as they are).
inline io::Series band_series(const Results& r, const std::string& name, const std::string& metric,
                              std::size_t smoothing_window) {
  io::Series s{.label = name, .color = run_color(name)};
  std::vector<Curve> curves;
  for (const RunResult& run : r.runs(name)) {
    Curve c = curve_of(run, metric);
    if (c.x.empty()) return s;
    curves.push_back(smoothing_window > 1 ? moving_average(std::move(c), smoothing_window) : std::move(c));
  }
  std::size_t points = curves.front().x.size();
  for (const Curve& c : curves) points = std::min(points, c.x.size());
  for (std::size_t i = 0; i < points; ++i) {
    SeedStats at;
    for (const Curve& c : curves) at.values.push_back(c.y[i]);
    s.x.push_back(curves.front().x[i]);
    s.y.push_back(at.mean());
    if (curves.size() > 1) {
      s.lower.push_back(at.min());
      s.upper.push_back(at.max());
    }
  }
  return s;
}

inline io::Panel band_panel(const Results& r, const std::vector<std::string>& names, const std::string& metric,
                            const std::string& title, bool per_step) {
  io::Panel panel;
  panel.options = {.title = title, .x_label = "step", .y_label = "", .width = 640, .height = 400};
  for (const std::string& n : names)
    if (r.has(n)) {
      io::Series s = band_series(r, n, metric, per_step ? kEntropyWindow : 1);
      if (!s.x.empty()) panel.series.push_back(std::move(s));
    }
  return panel;
}

inline void add_base_line(io::Panel& panel, const Results& r, const std::string& split) {
  panel.options.reference_lines.push_back(
      {.y = r.pass_at_1("base policy", split).mean(), .label = "base policy", .color = std::nullopt});
}

inline void save_plots(const Results& r, const ReportContext& c, const std::string& out) {
  std::vector<std::string> methods;
  for (const RunSpec& s : c.runs)
    if (!s.ablation) methods.push_back(s.name);
  const std::string band = c.preset.seeds.size() > 1 ? " (mean; band: min-max over seeds)" : "";
  std::vector<io::Panel> curves = {
      band_panel(r, methods, "eval/id/pass@1", "id pass@1" + band, false),
      band_panel(r, methods, "eval/hard/pass@1", "hard pass@1" + band, false),
      band_panel(r, methods, "eval/retention/pass@1", "retention pass@1" + band, false),
      band_panel(r, methods, "reward/mean", "rollout reward (20-step mean)", true),
      band_panel(r, methods, "entropy", "entropy, nats/token (20-step mean)", true),
      band_panel(r, {"CHORD-mu", "CHORD-phi"}, "mu", "mu (SFT weight)", false)};
  add_base_line(curves[0], r, "id");
  add_base_line(curves[2], r, "retention");
  io::save_plot_grid(out + "/curves.png", curves, 2);

  std::vector<io::Panel> findings = {
      band_panel(r, {"SFT"}, "eval/id/pass@1", "SFT's shift and readapt (id pass@1)", false),
      band_panel(r, {"GRPO", "LUFFY", "LUFFY-unshaped", "CHORD-mu", "CHORD-phi"}, "eval/hard/pass@1",
                 "the hard slice: beyond the base policy's reach", false),
      band_panel(r, {"GRPO", "CHORD-mu", "CHORD-phi", "SFT-IS"}, "entropy",
                 "entropy: plain SFT spikes, SFT-IS collapses, phi stable", true),
      band_panel(r, {"CHORD-mu", "CHORD-mu=0.5", "CHORD-mu=0.02"}, "eval/hard/pass@1", "mu ablation: hard pass@1",
                 false),
      band_panel(r, methods, "eval/retention/pass@1", "forgetting: the held-out skill", false),
      band_panel(r, {"CHORD-mu", "CHORD-mu=0.5", "CHORD-mu=0.02", "CHORD-phi", "SFT-IS"}, "mu", "mu over the steps",
                 false)};
  add_base_line(findings[0], r, "id");
  add_base_line(findings[4], r, "retention");
  io::save_plot_grid(out + "/findings.png", findings, 2);
}

}  // namespace miniature
