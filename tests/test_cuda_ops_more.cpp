// The last ops to reach the GPU against the same ops on the CPU: gather (and its
// scatter-add backward), logsumexp, var, tril/triu, and the SGD optimizer; forward
// and gradients, on contiguous, transposed and strided inputs that live on the GPU.
//
// Tolerances. gather, tril and triu copy values, and gather's backward adds in the
// CPU's order: the same bits (checked with a few ulps to spare). logsumexp and var
// reduce in another order on the GPU, and its exp differs from libm by an ulp or two:
// a few ulps times sqrt(terms). SGD: a few ulps (nvcc may fuse a multiply-add).
// Without a GPU every test prints a notice and passes.

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "cuda_test_util.hpp"

using namespace chord;
using namespace chord::testing;

namespace {

// A float or double tolerance: a few ulps.
template <FloatingPoint T>
double ulps() {
  return std::is_same_v<T, float> ? 4 * 1.2e-7 : 1e-14;
}

// An input given as a view of a leaf, so that a GPU input is a strided view on the device.
template <FloatingPoint T>
struct Layout {
  const char* name;
  Shape leaf_shape;
  std::function<Tensor<T>(const Tensor<T>&)> view;
};

// Contiguous, transposed (last two dims swapped in memory), every second element along the last dim.
template <FloatingPoint T>
std::vector<Layout<T>> layouts(const Shape& shape) {
  Shape swapped = shape;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  Shape wide = shape;
  wide[wide.size() - 1] *= 2;
  const int64_t w = wide.back();
  return {{"contiguous", shape, [](const Tensor<T>& t) { return t; }},
          {"transposed", swapped, [](const Tensor<T>& t) { return t.transpose(-1, -2); }},
          {"strided", wide, [w](const Tensor<T>& t) { return t.slice(-1, 0, w, 2); }}};
}

template <FloatingPoint T>
struct Result {
  Tensor<T> out, grad;
};

// f of a view of a random leaf on `device`, and the leaf's gradient of sum(f(view) * weights),
// weights random of f's output shape: the same values on every device.
template <FloatingPoint T, class F>
Result<T> run_on(Device device, const Layout<T>& layout, uint64_t seed, F f) {
  Tensor<T> leaf = randn_t<T>(layout.leaf_shape, seed).to(device);
  leaf.set_requires_grad(true);
  const Tensor<T> input = layout.view(leaf);
  const Tensor<T> out = f(input);
  CHECK(out.device() == device);
  const Tensor<T> weights = randn_t<T>(out.shape(), seed + 1000).to(device);
  (out * weights).sum().backward();
  REQUIRE(leaf.grad().defined());
  CHECK(leaf.grad().device() == device);
  return {out.detach(), leaf.grad()};
}

// f on the GPU against f on the CPU, in every layout: outputs within (rtol, atol), gradients
// within (grad_rtol, grad_atol).
template <FloatingPoint T, class F>
void check_against_cpu(const Shape& shape, uint64_t seed, F f, double rtol, double atol, double grad_rtol,
                       double grad_atol) {
  for (const Layout<T>& layout : layouts<T>(shape)) {
    INFO("layout " << layout.name << ", shape " << shape);
    const Result<T> gpu = run_on<T>(kGpu, layout, seed, f), cpu = run_on<T>(kCpu, layout, seed, f);
    check_close(gpu.out, cpu.out, rtol, atol);
    check_close(gpu.grad, cpu.grad, grad_rtol, grad_atol);
  }
}

int64_t count_of(const Shape& shape, const Shape& dims) {
  if (dims.empty()) return numel_of(shape);
  int64_t n = 1;
  for (int64_t d : dims) n *= shape[static_cast<int>(d < 0 ? d + shape.size() : d)];
  return n;
}

// ---- gather ------------------------------------------------------------------------------------

template <FloatingPoint T>
void check_gather() {
  const Shape shape{4, 5, 6};
  for (int64_t dim : {0, 1, 2, -1}) {
    const int d = static_cast<int>(dim < 0 ? dim + 3 : dim);
    // 7 positions along dim (more than x has: rows repeat), one fewer than x in the other dims.
    Shape index_shape{3, 4, 5};
    index_shape[d] = 7;
    Generator gen(200 + d);
    const auto index = Tensor<int64_t>::randint(0, shape[d], index_shape, gen);
    INFO("dim " << dim);
    check_against_cpu<T>(
        shape, 210 + d, [&](const Tensor<T>& x) { return gather(x, dim, index.to(x.device())); }, 0.0, 0.0,
        ulps<T>(), 0.0);
  }
  // A transposed index on the device.
  Generator gen(220);
  const auto index_t = Tensor<int64_t>::randint(0, 5, {3, 5, 7}, gen).to(kGpu).transpose(1, 2);  // [3, 7, 5]
  check_against_cpu<T>(
      shape, 221, [&](const Tensor<T>& x) { return gather(x, 1, index_t.to(x.device())); }, 0.0, 0.0, ulps<T>(), 0.0);
  // Many positions per gradient element (1000 into 10), and picking one column per row.
  const auto many = Tensor<int64_t>::randint(0, 10, {1, 1000}, gen);
  check_against_cpu<T>(
      {1, 10}, 222, [&](const Tensor<T>& x) { return gather(x, 1, many.to(x.device())); }, 0.0, 0.0,
      ulps<T>() * 10, 0.0);
  const auto pick = Tensor<int64_t>::randint(0, 50, {6, 1}, gen);
  check_against_cpu<T>(
      {6, 50}, 223, [&](const Tensor<T>& x) { return gather(x, -1, pick.to(x.device())); }, 0.0, 0.0, ulps<T>(), 0.0);
}

// ---- logsumexp and var --------------------------------------------------------------------------

template <FloatingPoint T>
void check_logsumexp() {
  constexpr bool is_float = std::is_same_v<T, float>;
  const Shape shape{4, 7, 9};
  uint64_t seed = 400;
  for (const Shape& dims : {Shape{0}, Shape{1}, Shape{-1}, Shape{0, 2}, Shape{}})
    for (bool keepdim : {false, true}) {
      INFO("dims " << dims << ", keepdim " << keepdim);
      const double r = is_float ? float_sum_rtol(count_of(shape, dims)) * 4 : 1e-13;
      check_against_cpu<T>(
          shape, ++seed, [&](const Tensor<T>& x) { return logsumexp(x, dims, keepdim); }, r, r, r * 4,
          is_float ? 1e-7 : 1e-15);
    }
  // Long slices: one block per output, and one output in two passes (count >= 65536).
  for (const auto& long_case : {std::pair{Shape{3, 300}, Shape{1}}, std::pair{Shape{2, 35000}, Shape{}}}) {
    const Shape s = long_case.first, dims = long_case.second;
    INFO("shape " << s << ", dims " << dims);
    const double r = is_float ? float_sum_rtol(count_of(s, dims)) * 4 : 1e-12;
    check_against_cpu<T>(
        s, ++seed, [&](const Tensor<T>& x) { return logsumexp(x, dims); }, r, r, r * 4, is_float ? 1e-9 : 1e-15);
  }
  // Slices of all -inf (-inf, gradient 0), with +inf (+inf), with NaN (NaN), and far apart values.
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  const auto special = chord::tensor<T>({{-inf, -inf, -inf}, {1, inf, 2}, {nan, 0, 1}, {1000, 0, -1000}});
  auto run = [&](Device device) {
    Tensor<T> x = special.to(device);
    x.set_requires_grad(true);
    const Tensor<T> y = logsumexp(x, {1});
    y.sum().backward();
    return Result<T>{y.detach(), x.grad()};
  };
  const Result<T> gpu = run(kGpu), cpu = run(kCpu);
  check_close(gpu.out, cpu.out, ulps<T>());
  check_close(gpu.grad, cpu.grad, ulps<T>(), ulps<T>());
}

template <FloatingPoint T>
void check_var() {
  constexpr bool is_float = std::is_same_v<T, float>;
  const Shape shape{4, 7, 9};
  uint64_t seed = 500;
  for (const Shape& dims : {Shape{0}, Shape{1}, Shape{-1}, Shape{0, 2}, Shape{}})
    for (bool unbiased : {true, false})
      for (bool keepdim : {false, true}) {
        INFO("dims " << dims << ", unbiased " << unbiased << ", keepdim " << keepdim);
        const double r = is_float ? float_sum_rtol(count_of(shape, dims)) * 8 : 1e-12;
        check_against_cpu<T>(
            shape, ++seed, [&](const Tensor<T>& x) { return var(x, dims, unbiased, keepdim); }, r,
            is_float ? 1e-6 : 1e-14, r * 4, is_float ? 1e-6 : 1e-14);
      }
  // A long slice (one block per output), and var(x) over 70000 elements (two passes).
  check_against_cpu<T>(
      {3, 300}, ++seed, [](const Tensor<T>& x) { return var(x, {1}); }, is_float ? 1e-4 : 1e-12,
      is_float ? 1e-6 : 1e-14, 1e-4, is_float ? 1e-7 : 1e-15);
  check_against_cpu<T>(
      {2, 35000}, ++seed, [](const Tensor<T>& x) { return var(x); }, is_float ? 1e-3 : 1e-11,
      is_float ? 1e-6 : 1e-14, 1e-3, is_float ? 1e-9 : 1e-15);
  // Unbiased over one element: NaN (0 / 0) on both devices, and so its gradient.
  check_against_cpu<T>(
      {3, 1}, ++seed, [](const Tensor<T>& x) { return var(x, {1}); }, 0.0, 0.0, 0.0, 0.0);
}

// ---- tril and triu ---------------------------------------------------------------------------------

template <FloatingPoint T>
void check_triangular() {
  uint64_t seed = 600;
  for (const Shape& shape : {Shape{5, 7}, Shape{7, 5}, Shape{2, 3, 6, 4}})
    for (int64_t k : {-10, -2, -1, 0, 1, 3, 10}) {
      INFO("shape " << shape << ", diagonal " << k);
      check_against_cpu<T>(
          shape, ++seed, [k](const Tensor<T>& x) { return tril(x, k); }, 0.0, 0.0, 0.0, 0.0);
      check_against_cpu<T>(
          shape, ++seed, [k](const Tensor<T>& x) { return triu(x, k); }, 0.0, 0.0, 0.0, 0.0);
    }
}

// ---- SGD ------------------------------------------------------------------------------------------

// Three SGD steps on `device`; the parameters after each step, on the cpu. Parameter 1 gets its
// first gradient at the second step (its momentum buffer starts there); parameter 2 spans several
// of the fused kernel's chunks.
template <FloatingPoint T>
std::vector<Tensor<T>> sgd_three_steps(Device device, const optim::SGDOptions& options) {
  std::vector<Tensor<T>> params{randn_t<T>({4, 5}, 701).to(device), randn_t<T>({7}, 702).to(device),
                                randn_t<T>({40000}, 703).to(device)};
  for (auto& p : params) p.set_requires_grad(true);
  const Tensor<T> c = randn_t<T>({4, 5}, 704).to(device);
  optim::SGD<T> opt(params, options);
  std::vector<Tensor<T>> history;
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    Tensor<T> loss = (params[0] * params[0] * c).sum() + (params[2] * params[2]).sum() * T(0.5);
    if (step > 0) loss = loss + (params[1] * params[1] * params[1]).sum();
    loss.backward();
    opt.step();
    for (const auto& p : params) history.push_back(p.detach().clone().to(kCpu));  // a copy, also on the cpu
  }
  return history;
}

template <FloatingPoint T>
void check_sgd() {
  const std::vector<optim::SGDOptions> cases{
      {.lr = 0.1},
      {.lr = 0.1, .weight_decay = 0.1},
      {.lr = 0.1, .momentum = 0.9},
      {.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01},
      {.lr = 0.1, .momentum = 0.5, .weight_decay = 0.1, .nesterov = true},
  };
  const double rtol = std::is_same_v<T, float> ? 4e-6 : 1e-13, atol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  for (const auto& o : cases) {
    INFO("lr " << o.lr << ", momentum " << o.momentum << ", weight_decay " << o.weight_decay << ", nesterov "
               << o.nesterov);
    const auto gpu = sgd_three_steps<T>(kGpu, o), cpu = sgd_three_steps<T>(kCpu, o);
    REQUIRE(gpu.size() == cpu.size());
    for (std::size_t i = 0; i < gpu.size(); ++i) {
      INFO("step " << i / 3 << ", parameter " << i % 3);
      check_close(gpu[i], cpu[i], rtol, atol);
    }
  }
}

}  // namespace

TEST_CASE("cuda: gather and its scatter-add backward equal the cpu's along every dim, with repeats and strided inputs") {
  CHORD_SKIP_WITHOUT_CUDA();
  check_gather<float>();
  check_gather<double>();
  // int64 values.
  const auto values = Tensor<int64_t>::from_vector({10, 11, 12, 13, 14, 15}, {2, 3});
  const auto index = Tensor<int64_t>::from_vector({2, 0, 1, 1}, {2, 2});
  check_equal(gather(values.to(kGpu), 1, index.to(kGpu)), gather(values, 1, index));
}

TEST_CASE("cuda: logsumexp and its gradient equal the cpu's over dims, keepdim, long slices and infinities") {
  CHORD_SKIP_WITHOUT_CUDA();
  check_logsumexp<float>();
  check_logsumexp<double>();
}

TEST_CASE("cuda: var and its gradient equal the cpu's over dims, biased and unbiased, keepdim, long slices") {
  CHORD_SKIP_WITHOUT_CUDA();
  check_var<float>();
  check_var<double>();
}

TEST_CASE("cuda: tril and triu and their gradients equal the cpu's for every diagonal, batched and strided") {
  CHORD_SKIP_WITHOUT_CUDA();
  check_triangular<float>();
  check_triangular<double>();
  // int64 and bool matrices.
  Generator gen(650);
  const auto ints = Tensor<int64_t>::randint(-5, 5, {2, 4, 6}, gen);
  const auto bools = gt(randn_t<float>({6, 4}, 651), 0.0f);
  for (int64_t k : {-1, 0, 2}) {
    check_equal(tril(ints.to(kGpu), k), tril(ints, k));
    check_equal(triu(ints.to(kGpu).transpose(1, 2), k), triu(ints.transpose(1, 2), k));
    check_equal(tril(bools.to(kGpu), k), tril(bools, k));
    check_equal(triu(bools.to(kGpu), k), triu(bools, k));
  }
}

TEST_CASE("cuda: SGD (momentum, weight decay, nesterov) takes the cpu's three steps in one fused kernel") {
  CHORD_SKIP_WITHOUT_CUDA();
  check_sgd<float>();
  check_sgd<double>();
}

TEST_CASE("cuda: gradcheck of gather, logsumexp, var, tril and triu on the GPU (double)") {
  CHORD_SKIP_WITHOUT_CUDA();
  const auto index = Tensor<int64_t>::from_vector({2, 0, 2, 1, 1, 1, 0, 2}, {2, 4});
  CHORD_CHECK_GPU_GRADCHECK([&](const Inputs& in) { return gather(in[0], 1, index.to(kGpu)); },
                            Inputs{leaf({2, 3}, 801)});
  CHORD_CHECK_GPU_GRADCHECK([&](const Inputs& in) { return gather(in[0].t(), 0, index.slice(1, 0, 3).to(kGpu)); },
                            Inputs{leaf({3, 3}, 802)});
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return logsumexp(in[0], {1}) + logsumexp(in[0], {}); },
                            Inputs{leaf({3, 5}, 803)});
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return logsumexp(in[0], {0, 2}, true); },
                            Inputs{transposed_leaf({2, 3, 4}, 804)});
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return var(in[0], {1}) + var(in[0], {0}, false).sum(); },
                            Inputs{leaf({3, 5}, 805)});
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return var(in[0]); }, Inputs{transposed_leaf({4, 3}, 806)});
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return tril(in[0], -1) + triu(in[0], 1) * 2.0; },
                            Inputs{leaf({2, 4, 4}, 807)});
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return triu(in[0].t()); }, Inputs{leaf({3, 5}, 808)});
}

TEST_CASE("cuda: bad input to gather, logsumexp, var, tril and SGD on the GPU is a chord::Error naming the op") {
  CHORD_SKIP_WITHOUT_CUDA();
  const auto x = chord::ones<float>({3, 4}, kGpu);
  CHORD_CHECK_ERROR(gather(x, 1, Tensor<int64_t>::from_vector({0, 4, 1}, {3, 1}).to(kGpu)), "gather");
  CHORD_CHECK_ERROR(gather(x, 1, Tensor<int64_t>::from_vector({0, 4, 1}, {3, 1}).to(kGpu)), "index 4");
  CHORD_CHECK_ERROR(gather(x, 1, Tensor<int64_t>::zeros({3, 1})), "gather");  // index on the cpu
  CHORD_CHECK_ERROR(gather(x, 2, Tensor<int64_t>::zeros({3, 1}, kGpu)), "gather");
  CHORD_CHECK_ERROR(logsumexp(x, {0, 0}), "logsumexp");
  CHORD_CHECK_ERROR(var(Tensor<float>::empty({0, 3}, kGpu), {0}), "var");
  CHORD_CHECK_ERROR(tril(chord::ones<float>({4}, kGpu)), "tril");
  CHORD_CHECK_ERROR(triu(chord::ones<float>({4}, kGpu)), "triu");
  Tensor<float> on_gpu = chord::ones<float>({2}, kGpu), on_cpu = chord::ones<float>({2});
  on_gpu.set_requires_grad(true);
  on_cpu.set_requires_grad(true);
  CHORD_CHECK_ERROR((optim::SGD<float>({on_gpu, on_cpu}, {.lr = 0.1})), "SGD");
}
