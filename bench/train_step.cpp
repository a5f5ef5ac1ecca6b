// Training-step benchmark of the GPT-2-architecture model (bench/README.md):
// forward + backward + AdamW step, float32, random tokens.
//
//   build-bench/bench/train_step [S|M|all] [--reps N] [--warmup N] [--threads N] [--device cpu|cuda]
//                                [--breakdown]
//
// Prints ms/step and tokens/s (median and min-max over the timed steps) and a
// RESULT line per config for bench/run_train_step.sh (CPU) and bench/run_gpu.sh
// (--device cuda), which run PyTorch on the same model in the same run and print
// the ratio. On a GPU a step ends with loss.item(), which waits for the device,
// so the time covers all of the step's kernels.

#include <chord/chord.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_util.hpp"

namespace {

struct Workload {
  const char* name;
  chord::nn::GPTConfig config;
  int64_t batch, seq;
};

const Workload kWorkloads[] = {
    {"S", {.vocab_size = 256, .context_length = 128, .n_layer = 4, .n_head = 4, .n_embd = 256}, 8, 128},
    {"M", {.vocab_size = 50257, .context_length = 1024, .n_layer = 12, .n_head = 12, .n_embd = 768}, 4, 64},
};

// The matrix-product flops of one train step, counted from the config: a linear layer's
// forward is 2 * rows * in * out (rows = batch * seq), four per block (QKV C -> 3C, attention
// projection C -> C, MLP C -> 4C and 4C -> C) plus the LM head (C -> vocab); attention's
// Q K^T and its product with V are 2 * B * H * T * T * D each (D = C / H), counting the full
// T x T although the causal mask leaves half of it unused. The backward is counted as twice the
// forward (each product's gradient is two products, one per operand). Elementwise work, layer
// norms, softmax and AdamW are left out: a small fraction of the flops, not of the time.
double train_step_flops(const Workload& w) {
  const double rows = static_cast<double>(w.batch * w.seq), width = static_cast<double>(w.config.n_embd);
  const double seq = static_cast<double>(w.seq);
  const double linears = 2 * rows * width * (3 * width + width + 4 * width + 4 * width);
  const double heads = static_cast<double>(w.config.n_head), head_dim = width / heads;
  const double attention = 2 * (2 * static_cast<double>(w.batch) * heads * seq * seq * head_dim);  // Q K^T, P V
  const double lm_head = 2 * rows * width * static_cast<double>(w.config.vocab_size);
  const double forward = static_cast<double>(w.config.n_layer) * (linears + attention) + lm_head;
  return 3 * forward;  // forward + backward (2x forward)
}

void run(const Workload& w, int warmup, int reps, chord::Device device, bool breakdown) {
  using namespace chord;
  nn::GPT<float> model(w.config, 1337);
  model.to(device);
  optim::AdamW<float> opt(model.named_parameters(),
                          {.lr = 1e-4, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.0});
  Generator gen(42);
  const auto tokens = Tensor<int64_t>::randint(0, w.config.vocab_size, {w.batch, w.seq + 1}, gen);
  const auto input = tokens.narrow(1, 0, w.seq).contiguous().to(device);
  const auto target = tokens.narrow(1, 1, w.seq).contiguous().to(device);
  float loss_value = 0;
  // --breakdown (CPU only: GPU work is asynchronous): the step's phases timed apart.
  std::vector<double> forward_ms, backward_ms, optimizer_ms;
  using Clock = std::chrono::steady_clock;
  auto elapsed_ms = [](Clock::time_point since) {
    return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
  };
  auto step = [&] {
    auto start = Clock::now();
    opt.zero_grad();
    auto loss = nn::lm_loss(model.forward(input), target);
    if (breakdown) forward_ms.push_back(elapsed_ms(start)), start = Clock::now();
    loss.backward();
    if (breakdown) backward_ms.push_back(elapsed_ms(start)), start = Clock::now();
    opt.step();
    loss_value = loss.item();
    if (breakdown) optimizer_ms.push_back(elapsed_ms(start));
  };
  const bench::Timing t = bench::time_it(warmup, reps, step);
  const double tokens_per_step = static_cast<double>(w.batch * w.seq);
  std::printf("config %s: %.2f M params, batch %lld x %lld, %s, %d threads: %.1f ms/step (min %.1f, max %.1f), "
              "%.0f tokens/s, loss %.3f\n",
              w.name, model.num_parameters() / 1e6, static_cast<long long>(w.batch), static_cast<long long>(w.seq),
              device.str().c_str(), cpu::num_threads(), t.median_ms, t.min_ms, t.max_ms,
              tokens_per_step / (t.median_ms / 1000.0), loss_value);
  if (breakdown) {  // drop the warm-up steps
    auto timed = [&](std::vector<double>& v) { return bench::median({v.end() - reps, v.end()}); };
    std::printf("  breakdown (median ms): zero_grad + forward + loss %.1f, backward %.1f, optimizer step %.1f\n",
                timed(forward_ms), timed(backward_ms), timed(optimizer_ms));
  }
  bench::print_result(std::string("train_step_") + w.name + (device.is_cuda() ? "_cuda" : ""), t, tokens_per_step,
                      "tokens_per_s");
  // For bench/run_train_step.sh: the step's GFLOP/s and its fraction of the FMA peak.
  std::printf("RESULT train_step_%s_flops gflop=%.3f\n", w.name, train_step_flops(w) / 1e9);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string which = "all";
  bool breakdown = false;
  int reps = 10, warmup = 2;
  chord::Device device = chord::Device::cpu();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    if (arg == "--reps") reps = value();
    else if (arg == "--warmup") warmup = value();
    else if (arg == "--threads") chord::cpu::set_num_threads(value());
    else if (arg == "--device" && i + 1 < argc && std::string(argv[i + 1]) == "cuda")
      device = chord::Device::cuda(0), ++i;
    else if (arg == "--device" && i + 1 < argc && std::string(argv[i + 1]) == "cpu") ++i;
    else if (arg == "--breakdown") breakdown = true;
    else if (arg == "S" || arg == "M" || arg == "all") which = arg;
    else {
      std::fprintf(arg == "--help" ? stdout : stderr,
                   "usage: %s [S|M|all] [--reps N] [--warmup N] [--threads N] [--device cpu|cuda] [--breakdown]\n",
                   argv[0]);
      return arg == "--help" ? 0 : 2;
    }
  }
  if (breakdown && device.is_cuda()) {
    std::fprintf(stderr, "--breakdown times the CPU step only\n");
    return 2;
  }
  if (reps < 1 || warmup < 0) {
    std::fprintf(stderr, "--reps must be >= 1 and --warmup >= 0\n");
    return 2;
  }
  try {
    for (const Workload& w : kWorkloads)
      if (which == "all" || which == w.name) run(w, warmup, reps, device, breakdown);
  } catch (const chord::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
