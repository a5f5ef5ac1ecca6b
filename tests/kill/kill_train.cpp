// The training run of the kill test (tools/kill_test.sh; its driver is tests/kill/kill_test.cpp):
// a tiny GPT post-trained with rl::Trainer (CHORD-phi with a KL term, so its checkpoints hold a
// frozen reference too) on a toy task, with a checkpoint after every step.
//
//   kill_train OUT_DIR STEPS            # a fresh run in OUT_DIR
//   kill_train OUT_DIR STEPS --resume   # Trainer::resume(OUT_DIR/checkpoint), then the rest
//
// Kill points, without a hook in the library: this program defines the C library's rename,
// fsync, mkdir, remove and unlinkat itself (each calls the real one, found with dlsym), so every
// file-system step of a save (and of the metric logs) passes through it. When the environment
// variable CHORD_KILL_TEST_FDS="W,R" names two pipe descriptors, each such step under OUT_DIR is
// first reported on W as a line "<function>\t<path>\t<second path>" and the program waits for one
// byte on R: the driver can kill it exactly before any step, or let it go and kill it a random
// number of microseconds later. Without the variable the program just trains.
// Exit status: 0 done, 2 usage, 3 a chord::Error (a failed resume, say).

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <chord/chord.hpp>

using namespace chord;

// ---- the kill points ------------------------------------------------------------------------

namespace {

int g_event_fd = -1, g_ack_fd = -1;
char g_out_dir[PATH_MAX] = "";  // events are reported for paths under this directory only

bool under_out_dir(const char* path) {
  return g_out_dir[0] != '\0' && path != nullptr && std::strstr(path, g_out_dir) == path;
}

void write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

// Reports one step to the driver and waits until it lets the program go on.
void kill_point(const char* function, const char* path, const char* second = "") {
  if (g_event_fd < 0 || !under_out_dir(path)) return;
  const int saved_errno = errno;
  char line[3 * PATH_MAX];
  const int n = std::snprintf(line, sizeof line, "%s\t%s\t%s\n", function, path, second);
  write_all(g_event_fd, line, static_cast<std::size_t>(n));
  char ack;
  ssize_t r;
  do r = ::read(g_ack_fd, &ack, 1);
  while (r < 0 && errno == EINTR);
  if (r != 1) g_event_fd = -1;  // the driver is gone: carry on unobserved
  errno = saved_errno;
}

// The path of an open descriptor ("" when unknown).
std::string fd_path(int fd) {
  char link[64], target[PATH_MAX];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = ::readlink(link, target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string();
}

template <class F>
F real(const char* name) {
  void* f = ::dlsym(RTLD_NEXT, name);
  if (!f) {
    std::fprintf(stderr, "kill_train: dlsym(%s) failed\n", name);
    std::abort();
  }
  return reinterpret_cast<F>(f);
}

}  // namespace

extern "C" {

int rename(const char* from, const char* to) {
  static const auto next = real<int (*)(const char*, const char*)>("rename");
  kill_point("rename", from, to);
  return next(from, to);
}

int fsync(int fd) {
  static const auto next = real<int (*)(int)>("fsync");
  if (g_event_fd >= 0) kill_point("fsync", fd_path(fd).c_str());
  return next(fd);
}

int mkdir(const char* path, mode_t mode) {
  static const auto next = real<int (*)(const char*, mode_t)>("mkdir");
  kill_point("mkdir", path);
  return next(path, mode);
}

int remove(const char* path) {
  static const auto next = real<int (*)(const char*)>("remove");
  kill_point("remove", path);
  return next(path);
}

int unlinkat(int dirfd, const char* path, int flags) {
  static const auto next = real<int (*)(int, const char*, int)>("unlinkat");
  if (g_event_fd >= 0) {
    const std::string full = path[0] == '/' || dirfd == AT_FDCWD ? std::string(path) : fd_path(dirfd) + "/" + path;
    kill_point("unlinkat", full.c_str());
  }
  return next(dirfd, path, flags);
}

}  // extern "C"

// ---- the run --------------------------------------------------------------------------------

namespace {

// Prompts "q<k>=" for k in 0..3; the reward spreads over 0, 0.5 and 1 by the first character
// (so that groups rarely tie); the expert answers "a#b".
class ToyEnv : public rl::Environment {
 public:
  std::vector<rl::Query> sample_queries(int64_t n, Generator& gen) const override {
    std::vector<rl::Query> out;
    for (int64_t i = 0; i < n; ++i) out.push_back(query(gen.randint(0, 4)));
    return out;
  }
  double reward(const rl::Query&, std::string_view response) const override {
    if (response.empty()) return 0.0;
    return response[0] == 'a' ? 1.0 : static_cast<double>(static_cast<unsigned char>(response[0]) % 3) / 2;
  }
  std::string demonstrate(const rl::Query&) const override { return "a#b"; }
  std::vector<rl::EvalSplit> eval_splits() const override {
    return {{"toy", {query(0), query(1), query(2), query(3)}}};
  }
  static rl::Query query(int64_t k) { return {"q" + std::to_string(k) + "=", "a", "toy"}; }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4 || (argc == 4 && std::string(argv[3]) != "--resume")) {
    std::fprintf(stderr, "usage: kill_train OUT_DIR STEPS [--resume]\n");
    return 2;
  }
  const std::string out_dir = argv[1];
  const int64_t steps = std::atoll(argv[2]);
  const bool resume = argc == 4;
  if (!::realpath(out_dir.c_str(), g_out_dir)) {
    std::fprintf(stderr, "kill_train: OUT_DIR '%s' must exist\n", out_dir.c_str());
    return 2;
  }
  if (const char* fds = std::getenv("CHORD_KILL_TEST_FDS")) {
    if (std::sscanf(fds, "%d,%d", &g_event_fd, &g_ack_fd) != 2) {
      std::fprintf(stderr, "kill_train: CHORD_KILL_TEST_FDS must be \"W,R\", got '%s'\n", fds);
      return 2;
    }
  }
  try {
    const io::Tokenizer tok = io::Tokenizer::char_level("q0123=ab#");
    const ToyEnv env;
    const nn::GPTConfig config{.vocab_size = tok.vocab_size(), .context_length = 16, .n_layer = 1, .n_head = 2,
                               .n_embd = 16};
    rl::TrainerOptions options{.method = rl::Method::CHORDPhi, .steps = steps, .prompts_per_step = 2,
                               .group_size = 4, .expert_rows_per_step = 4, .lr = 1e-2, .max_new_tokens = 4,
                               .beta = 0.02, .checkpoint_every = 1, .out_dir = g_out_dir, .progress_every = 1,
                               .seed = 11};
    options.eval = {.k = 2, .max_new_tokens = 4};
    nn::GPT<float> model(config, 3);
    rl::Trainer<float> trainer(model, tok, env, options);
    if (resume) {
      trainer.resume(std::string(g_out_dir) + "/checkpoint");
      std::printf("kill_train: resumed at step %lld\n", static_cast<long long>(trainer.step()));
      std::fflush(stdout);
    }
    trainer.train();
    std::printf("kill_train: done at step %lld\n", static_cast<long long>(trainer.step()));
  } catch (const Error& e) {
    std::fprintf(stderr, "kill_train: %s\n", e.what());
    return 3;
  }
  return 0;
}
