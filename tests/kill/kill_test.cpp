// The kill test's driver (tools/kill_test.sh builds and runs it):
//
//   kill_test KILL_TRAIN WORK_DIR [STEPS] [SEED]
//
// 1. runs KILL_TRAIN (tests/kill/kill_train.cpp) once without a kill, in WORK_DIR/reference,
//    noting every file-system step it reports and how long each took;
// 2. runs it again in WORK_DIR/killed, killing it with SIGKILL over and over, each time resuming
//    it (Trainer::resume on its checkpoint, which falls back to checkpoint.previous) until the run
//    completes. The kills: one exactly before each step of a save (so every phase of a save is
//    hit: before the build directory, between files, inside a file's atomic write, before the
//    manifest, between the two renames that publish it, while the previous one is removed), then
//    more at random microsecond offsets after a random step of a save, and some in the middle of
//    a training step;
// 3. checks that the killed run ends bit-identical to the reference: every file of the final
//    checkpoint (weights, optimizer, reference policy, trainer state, manifest) byte for byte,
//    the metrics log row for row (all but the wall-clock timing/* columns), and the same files
//    in the run directory (no litter left by the kills).
// Prints what each kill interrupted, then
//   kill test: N kills (K inside a save), M resumes, final weights identical
// and exits 0; any mismatch, a failed resume or a crash exits 1.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "chord/io/atomic_file.hpp"
#include "chord/io/json.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string train_binary;

[[noreturn]] void die(const std::string& why) {
  std::fflush(stdout);
  std::fprintf(stderr, "kill test: FAILED: %s\n", why.c_str());
  std::exit(1);
}

// One reported file-system step: "rename", "/abs/path/checkpoint.tmp-123/x.tmp-123", "...".
struct Event {
  std::string function, path, second;
  Clock::time_point at;
};

// The step with the run directory cut off and process ids replaced: "rename checkpoint.tmp-<pid>/x".
std::string label(const Event& e, const std::string& dir) {
  const auto clean = [&](std::string p) {
    if (p.rfind(dir, 0) == 0) p = p.substr(std::min(p.size(), dir.size() + 1));
    std::string out;
    for (std::size_t i = 0; i < p.size();) {
      if (p.compare(i, 5, ".tmp-") == 0) {
        out += ".tmp-<pid>";
        i += 5;
        while (i < p.size() && std::isdigit(static_cast<unsigned char>(p[i]))) ++i;
      } else {
        out += p[i++];
      }
    }
    return out.empty() ? std::string("<run directory>") : out;
  };
  return e.function + " " + clean(e.path) + (e.second.empty() ? "" : " -> " + clean(e.second));
}

bool is_save_start(const Event& e) {  // the save's build directory: mkdir .../checkpoint.tmp-<pid>
  return e.function == "mkdir" && e.path.find("/checkpoint.tmp-") != std::string::npos;
}

// When to kill: before step `pos` of the `save`-th save this process makes (delay 0), or `delay_us`
// microseconds after letting that step go (the process is then between that step and the next).
struct Plan {
  int save = 1;
  int pos = 0;
  long delay_us = 0;
  std::string kind;  // for the report
};

struct Outcome {
  pid_t pid = 0;
  bool killed = false;
  int exit_code = 0;
  std::vector<Event> events;
};

// Runs KILL_TRAIN on `dir`, answering its kill points; kills it as `plan` says (none: no kill).
Outcome run(const std::string& dir, int64_t steps, bool resume, const Plan* plan, const std::string& log) {
  int ev[2], ack[2];
  if (::pipe(ev) != 0 || ::pipe(ack) != 0) die("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    // The pipe ends become descriptors 3 (events) and 4 (acks), by way of copies above both.
    const int w = ::fcntl(ev[1], F_DUPFD, 10), r = ::fcntl(ack[0], F_DUPFD, 10);
    for (int fd : {ev[0], ev[1], ack[0], ack[1]})
      if (fd > 2) ::close(fd);
    ::dup2(w, 3);
    ::dup2(r, 4);
    ::close(w);
    ::close(r);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::setenv("CHORD_KILL_TEST_FDS", "3,4", 1);
    ::setenv("OMP_NUM_THREADS", "1", 1);  // the same thread count in every run: bit-identical results
    const std::string steps_text = std::to_string(steps);
    std::vector<const char*> args{train_binary.c_str(), dir.c_str(), steps_text.c_str()};
    if (resume) args.push_back("--resume");
    args.push_back(nullptr);
    ::execv(train_binary.c_str(), const_cast<char* const*>(args.data()));
    std::perror("execv");
    ::_exit(127);
  }
  ::close(ev[1]);
  ::close(ack[0]);
  Outcome out;
  out.pid = pid;
  FILE* events = ::fdopen(ev[0], "r");
  char* line = nullptr;
  std::size_t cap = 0;
  int saves = 0, pos = -1;
  while (::getline(&line, &cap, events) > 0) {
    std::string text(line);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    Event e;
    std::stringstream fields(text);
    std::getline(fields, e.function, '\t');
    std::getline(fields, e.path, '\t');
    std::getline(fields, e.second, '\t');
    e.at = Clock::now();
    out.events.push_back(e);
    if (is_save_start(e)) ++saves, pos = 0;
    else if (pos >= 0) ++pos;
    const bool target = plan && saves == plan->save && pos == plan->pos;
    if (target && plan->delay_us == 0) {
      ::kill(pid, SIGKILL);
      out.killed = true;
      break;
    }
    const char go = 1;
    if (::write(ack[1], &go, 1) != 1) break;  // the process died
    if (target) {
      std::this_thread::sleep_for(std::chrono::microseconds(plan->delay_us));
      ::kill(pid, SIGKILL);
      out.killed = true;
      break;
    }
  }
  std::free(line);
  std::fclose(events);
  ::close(ack[1]);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) die("waitpid failed");
  if (out.killed) {
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) && !WIFEXITED(status))
      die("the killed run ended oddly (status " + std::to_string(status) + ")");
    // A kill sent just as the process finished on its own (possible only with a delay) did not land.
    if (WIFEXITED(status)) out.killed = false, out.exit_code = WEXITSTATUS(status);
  } else if (WIFEXITED(status)) {
    out.exit_code = WEXITSTATUS(status);
  } else {
    out.exit_code = 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
  return out;
}

// What the kill of process `pid` interrupted, from what it left in `dir` (see io/checkpoint_dir.hpp).
std::string interrupted_phase(const std::string& dir, pid_t pid, std::size_t checkpoint_files) {
  const fs::path ckpt = fs::path(dir) / "checkpoint", previous = fs::path(dir) / "checkpoint.previous";
  const fs::path build = fs::path(dir) / ("checkpoint.tmp-" + std::to_string(pid));
  if (fs::exists(previous) && !fs::exists(ckpt)) return "a save: between the two renames";
  if (fs::exists(previous)) return "a save: published, the previous checkpoint not yet removed";
  if (!fs::exists(build)) return "outside a save (nothing of one on disk)";
  std::size_t files = 0;
  bool temporary = false, manifest = false;
  for (const auto& f : fs::directory_iterator(build)) {
    const std::string n = f.path().filename().string();
    if (n.find(".tmp-") != std::string::npos) temporary = true;
    else if (n == "manifest.json") manifest = true;
    else ++files;
  }
  if (manifest) return "a save: sealed, before the two renames that publish it";
  if (temporary) return "a save: inside a file's atomic write";
  if (files == 0) return "a save: build directory made, no file yet";
  if (files + 1 == checkpoint_files) return "a save: every file written, before the manifest";
  return "a save: between files";
}

bool inside_a_save(const std::string& phase) { return phase.rfind("a save:", 0) == 0; }

// The step of the complete checkpoint a resume would use (-1: none).
int64_t checkpoint_step(const std::string& dir) {
  for (const char* name : {"checkpoint", "checkpoint.previous"}) {
    const fs::path manifest = fs::path(dir) / name / "manifest.json";
    if (fs::exists(manifest))
      return chord::io::Json::parse(chord::io::read_file(manifest.string())).at("step").as_int();
  }
  return -1;
}

// The metrics log with the wall-clock columns (timing/*) left out: one JSON text per row.
std::vector<std::string> metrics_rows(const std::string& path) {
  std::vector<std::string> rows;
  std::stringstream lines(chord::io::read_file(path));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    chord::io::Json::Object kept;
    const chord::io::Json row = chord::io::Json::parse(line);
    for (const auto& [k, v] : row.as_object())
      if (k.rfind("timing/", 0) != 0) kept.emplace_back(k, v);
    rows.push_back(chord::io::Json(kept).dump());
  }
  return rows;
}

std::set<std::string> tree(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir)) names.insert(fs::relative(e.path(), dir).string());
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: kill_test KILL_TRAIN WORK_DIR [STEPS] [SEED]\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  const Clock::time_point started = Clock::now();
  train_binary = fs::absolute(argv[1]).string();
  const std::string work = fs::absolute(argv[2]).string();
  const int64_t steps = argc > 3 ? std::atoll(argv[3]) : 60;
  const unsigned seed = argc > 4 ? static_cast<unsigned>(std::atoll(argv[4])) : 1;
  if (steps < 8) die("STEPS must be at least 8");
  std::mt19937 rng(seed);
  const std::string ref = work + "/reference", killed = work + "/killed", logs = work + "/logs";
  fs::remove_all(work);
  fs::create_directories(ref);
  fs::create_directories(killed);
  fs::create_directories(logs);

  // ---- 1. the reference run ----
  const Outcome reference = run(ref, steps, false, nullptr, logs + "/reference.log");
  if (reference.exit_code != 0)
    die("the reference run failed (exit " + std::to_string(reference.exit_code) + "); see " + logs + "/reference.log");
  // A save with a previous checkpoint to replace (the 3rd): its steps, and how long each took.
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < reference.events.size(); ++i)
    if (is_save_start(reference.events[i])) starts.push_back(i);
  if (static_cast<int64_t>(starts.size()) != steps)
    die("the reference run made " + std::to_string(starts.size()) + " saves, expected one per step");
  std::size_t end = starts[3];  // the save's last step: the last one that touches a checkpoint directory
  while (reference.events[end - 1].path.rfind(ref + "/checkpoint", 0) != 0) --end;
  const std::vector<Event> save(reference.events.begin() + starts[2], reference.events.begin() + end);
  std::vector<long> took_us;  // step i to step i + 1 (the last: to the next step after the save)
  for (std::size_t i = 0; i < save.size(); ++i)
    took_us.push_back(std::chrono::duration_cast<std::chrono::microseconds>(
                          reference.events[starts[2] + i + 1].at - save[i].at)
                          .count());
  const auto checkpoint_files = static_cast<std::size_t>(
      std::distance(fs::directory_iterator(ref + "/checkpoint"), fs::directory_iterator{}));
  std::printf("kill test: a save is %zu file-system steps (%zu files); the reference run took %lld steps\n",
              save.size(), checkpoint_files, static_cast<long long>(steps));

  // ---- 2. the plans: before every step of a save; random offsets in saves; inside training ----
  std::vector<Plan> plans;
  for (std::size_t p = 0; p < save.size(); ++p)
    plans.push_back({1, static_cast<int>(p), 0, "before " + label(save[p], ref)});
  std::vector<Plan> random_plans;
  for (int i = 0; i < 30; ++i) {
    const int p = std::uniform_int_distribution<int>(0, static_cast<int>(save.size()) - 2)(rng);
    const long d = std::uniform_int_distribution<long>(1, std::max<long>(1, took_us[p]))(rng);
    random_plans.push_back({1, p, d, "random offset in a save"});
  }
  for (int i = 0; i < 10; ++i) {  // after a save's last step: into the next training step
    const long d = std::uniform_int_distribution<long>(1, std::max<long>(1, took_us.back()))(rng);
    random_plans.push_back({1, static_cast<int>(save.size()) - 1, d, "random offset in a training step"});
  }
  std::shuffle(random_plans.begin(), random_plans.end(), rng);
  plans.insert(plans.end(), random_plans.begin(), random_plans.end());

  // ---- the killed run ----
  int kills = 0, inside = 0, resumes = 0, from_previous = 0, attempt = 0;
  std::map<std::string, int> phases;
  std::size_t next = 0;
  while (true) {
    ++attempt;
    const int64_t at = checkpoint_step(killed);
    const bool resume = at >= 0;
    // The first save of a process replaces leftovers of the kill (or, on a fresh start, has no
    // previous checkpoint), so its steps differ: plans count from its second save. A kill in the
    // last step's save would leave nothing to resume into, so plans stop short of it.
    // (Build directories of killed processes are removed before the first save starts: no matter.)
    const bool clean = fs::exists(killed + "/checkpoint") && !fs::exists(killed + "/checkpoint.previous");
    std::optional<Plan> plan;
    const int first = clean ? 1 : 2, last = static_cast<int>(steps - 1 - std::max<int64_t>(at, 0));
    if (next < plans.size() && first <= last) {
      plan = plans[next];
      plan->save = first;
    }
    if (resume) {
      ++resumes;
      if (!fs::exists(killed + "/checkpoint")) ++from_previous;
    }
    const std::string log = logs + "/killed-" + std::to_string(attempt) + ".log";
    const Outcome o = run(killed, steps, resume, plan ? &*plan : nullptr, log);
    if (!o.killed) {
      if (o.exit_code != 0)
        die("run " + std::to_string(attempt) + (resume ? " (a resume from step " + std::to_string(at) + ")" : "") +
            " failed with exit " + std::to_string(o.exit_code) + ":\n" + chord::io::read_file(log));
      break;  // done
    }
    ++kills;
    ++next;
    const std::string phase = interrupted_phase(killed, o.pid, checkpoint_files);
    ++phases[phase];
    inside += inside_a_save(phase);
    const std::string what =
        plan->delay_us == 0 ? plan->kind : plan->kind + " (+" + std::to_string(plan->delay_us) + " us)";
    std::printf("kill %2d: %-60s -> %s\n", kills, what.substr(0, 60).c_str(), phase.c_str());
    if (attempt > 1000) die("no end in sight after 1000 runs");
  }

  // ---- 3. the checks ----
  std::printf("\nkill test: what the kills interrupted:\n");
  for (const auto& [phase, n] : phases) std::printf("  %3d  %s\n", n, phase.c_str());
  int failures = 0;
  const auto mismatch = [&](const std::string& what) {
    std::printf("kill test: MISMATCH: %s\n", what.c_str());
    ++failures;
  };
  if (kills < 20)
    mismatch("only " + std::to_string(kills) + " kills (at least 20 wanted): the run ended before the plans did");
  std::set<std::string> must = {"a save: between files", "a save: every file written, before the manifest",
                                "a save: between the two renames", "a save: inside a file's atomic write"};
  for (const std::string& m : must)
    if (!phases.count(m)) mismatch("no kill landed in \"" + m + "\"");
  for (const auto& e : fs::directory_iterator(ref + "/checkpoint")) {
    const std::string name = e.path().filename().string(), other = killed + "/checkpoint/" + name;
    if (!fs::exists(other)) mismatch("the killed run's final checkpoint has no " + name);
    else if (chord::io::read_file(e.path().string()) != chord::io::read_file(other)) mismatch(name + " differs");
  }
  const auto a = metrics_rows(ref + "/metrics.jsonl"), b = metrics_rows(killed + "/metrics.jsonl");
  if (a != b)
    mismatch("metrics.jsonl differs (" + std::to_string(a.size()) + " rows vs " + std::to_string(b.size()) + ")");
  if (tree(ref) != tree(killed)) {
    std::string extra;
    for (const std::string& n : tree(killed))
      if (!tree(ref).count(n)) extra += " " + n;
    mismatch("the run directories differ (left over in the killed run:" + extra + ")");
  }
  if (failures > 0) die(std::to_string(failures) + " mismatches; logs in " + logs);
  std::printf("kill test: %d kills (%d inside a save), %d resumes (%d from checkpoint.previous), "
              "final weights identical (every checkpoint file and %zu metric rows bit-identical; "
              "%d training runs in %.2f s)\n",
              kills, inside, resumes, from_previous, a.size(), attempt + 1,
              std::chrono::duration<double>(Clock::now() - started).count());
  return 0;
}
