// The ops on the GPU against the same ops on the CPU: elementwise (with
// broadcasting and strided views), reductions, matmul/linear (cuBLAS), softmax,
// cross-entropy, layer norm, embedding, index_select, causal attention, token
// log-probs; and gradients on the GPU in double against finite differences.
//
// Tolerances. Elementwise ops compute the same expression on both devices:
// float within 4 ulps (the GPU's exp, tanh, ... differ from libm by an ulp or
// two), double within 1e-14. Sums, GEMMs, softmax rows, attention: a few ulps
// times sqrt(terms) relative to the magnitude, since the GPU sums in another
// order. Without a GPU every test prints a notice and passes.

#include <cmath>
#include <limits>
#include <vector>

#include "cuda_test_util.hpp"

using namespace chord;
using namespace chord::testing;

namespace {

constexpr double kFloatUlps = 4 * 1.2e-7;
constexpr double kDoubleTol = 1e-14;

template <FloatingPoint T>
double elementwise_rtol() {
  return std::is_same_v<T, float> ? kFloatUlps : kDoubleTol;
}

// Inputs in three layouts: contiguous, transposed (last two dims swapped in memory), every
// second element of a wider buffer.
template <FloatingPoint T>
std::vector<Tensor<T>> layouts(const Shape& shape, uint64_t seed) {
  Shape swapped = shape;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  Shape wide = shape;
  wide[wide.size() - 1] *= 2;
  return {randn_t<T>(shape, seed), randn_t<T>(swapped, seed + 1).transpose(-1, -2),
          randn_t<T>(wide, seed + 2).slice(-1, 0, wide.back(), 2)};
}

template <FloatingPoint T>
void check_unary_ops() {
  for (const Tensor<T>& x : layouts<T>({3, 5, 6}, 11)) {
    const Tensor<T> g = x.to(kGpu);  // (to() copies densely; strided views on the GPU: the binary test)
    const Tensor<T> pos = abs(x) + T(0.1), gpos = pos.to(kGpu);
    // The GPU's exp, log, tanh, pow are within 2 ulps of the correctly rounded result, as is libm;
    // a few functions cancel near 0 (log near 1, gelu and tanh-based forms), hence the small atol.
    const double r = elementwise_rtol<T>(), a = std::is_same_v<T, float> ? 1e-6 : 1e-14;
    check_close(exp(g), exp(x), r, a);
    check_close(log(gpos), log(pos), r, a);
    check_close(sqrt(gpos), sqrt(pos), r);
    check_close(abs(g), abs(x), 0.0);
    check_close(tanh(g), tanh(x), r, a);
    check_close(sigmoid(g), sigmoid(x), r, a);
    check_close(relu(g), relu(x), 0.0);
    check_close(gelu(g), gelu(x), r, a);
    check_close(clamp(g, T(-0.5), T(0.7)), clamp(x, T(-0.5), T(0.7)), 0.0);
    check_close(-g, -x, 0.0);
    check_close(g * T(3) + T(1), x * T(3) + T(1), r, a);  // nvcc may fuse x * 3 + 1 into one fma
    check_close(T(2) / gpos, T(2) / pos, r);
    check_close(pow(gpos, T(1.5)), pow(pos, T(1.5)), r, a);
  }
}

template <FloatingPoint T>
void check_binary_ops() {
  const double r = elementwise_rtol<T>();
  const Tensor<T> a = randn_t<T>({4, 1, 6}, 21), b = randn_t<T>({3, 1}, 22);  // broadcast to [4, 3, 6]
  const Tensor<T> ga = a.to(kGpu), gb = b.to(kGpu);
  check_close(ga + gb, a + b, 0.0);
  check_close(ga - gb, a - b, 0.0);
  check_close(ga * gb, a * b, 0.0);
  check_close(ga / gb, a / b, r);
  check_close(pow(abs(ga) + T(0.5), gb), pow(abs(a) + T(0.5), b), r);
  check_close(maximum(ga, gb), maximum(a, b), 0.0);
  check_close(minimum(ga, gb), minimum(a, b), 0.0);
  check_equal(lt(ga, gb), lt(a, b));
  check_equal(ge(ga, T(0.1)), ge(a, T(0.1)));
  check_equal(eq(ga, ga), eq(a, a));
  const Tensor<bool> mask = gt(b, T(0)), gmask = mask.to(kGpu);
  check_close(where(gmask, ga, gb), where(mask, a, b), 0.0);
  check_close(masked_fill(ga * gb, gmask, T(-9)), masked_fill(a * b, mask, T(-9)), 0.0);
  // Transposed and sliced operands.
  const Tensor<T> t = randn_t<T>({6, 3}, 23);
  check_close(t.t().to(kGpu) * gb, t.t() * b, 0.0);
  check_close(t.to(kGpu).t() * gb, t.t() * b, 0.0);  // a strided view on the device
  check_close(t.to(kGpu).slice(0, 1, 6, 2) + T(1), t.slice(0, 1, 6, 2) + T(1), 0.0);
}

}  // namespace

TEST_CASE("cuda: unary ops equal the cpu's on contiguous, transposed and strided inputs (float, double)") {
  CHORD_SKIP_WITHOUT_CUDA();
  check_unary_ops<float>();
  check_unary_ops<double>();
}

TEST_CASE("cuda: binary ops, comparisons, where and masked_fill equal the cpu's with broadcasting (float, double)") {
  CHORD_SKIP_WITHOUT_CUDA();
  check_binary_ops<float>();
  check_binary_ops<double>();
}

TEST_CASE("cuda: in-place ops, fill_, copy_ into a view, cat and stack equal the cpu's") {
  CHORD_SKIP_WITHOUT_CUDA();
  auto x = randn_t<float>({4, 5}, 31);
  auto g = x.to(kGpu);
  const auto y = randn_t<float>({5}, 32);
  add_(x, y);
  add_(g, y.to(kGpu));
  mul_(x, 2.0f);
  mul_(g, 2.0f);
  check_close(g, x, 0.0);
  auto xv = x.narrow(1, 1, 3);
  auto gv = g.narrow(1, 1, 3);
  xv.fill_(7.0f);
  gv.fill_(7.0f);
  check_close(g, x, 0.0);
  auto xs = x.select(0, 2);
  auto gs = g.select(0, 2);
  xs.copy_(y);
  gs.copy_(y.to(kGpu));
  check_close(g, x, 0.0);
  check_close(cat({g, g.slice(0, 0, 2)}, 0), cat({x, x.slice(0, 0, 2)}, 0), 0.0);
  check_close(stack({g, g * 2.0f}, 1), stack({x, x * 2.0f}, 1), 0.0);
}

TEST_CASE("cuda: sum, mean, max, min, argmax, argmin over dims and over all elements equal the cpu's") {
  CHORD_SKIP_WITHOUT_CUDA();
  for (const Tensor<double>& x : layouts<double>({4, 7, 9}, 41)) {
    const Tensor<double> g = x.to(kGpu);
    check_close(g.sum(), x.sum(), 1e-13, 1e-12);
    check_close(g.mean(), x.mean(), 1e-13, 1e-12);
    for (int64_t d : {0, 1, 2, -1}) {
      check_close(g.sum({d}), x.sum({d}), 1e-13, 1e-12);
      check_close(g.mean({d}, true), x.mean({d}, true), 1e-13, 1e-12);
      check_close(max(g, d), max(x, d), 0.0);
      check_close(min(g, d, true), min(x, d, true), 0.0);
      check_equal(argmax(g, d), argmax(x, d));
      check_equal(argmin(g, d), argmin(x, d));
    }
    check_close(g.sum({0, 2}), x.sum({0, 2}), 1e-13, 1e-12);
    check_close(max(g), max(x), 0.0);
    check_equal(argmax(g), argmax(x));
  }
  // Ties keep the first index; NaN wins max and argmax.
  const auto t = chord::tensor<float>({{1, 3, 3, 0}, {2, NAN, 5, NAN}});
  check_equal(argmax(t.to(kGpu), 1), argmax(t, 1));
  check_close(max(t.to(kGpu), 1), max(t, 1), 0.0);
  check_equal(argmin(t.to(kGpu), 1), argmin(t, 1));
  // int64 max.
  const auto i = Tensor<int64_t>::from_vector({4, -2, 9, 9, 1, 0}, {2, 3});
  check_equal(max(i.to(kGpu), 1), max(i, 1));
  check_equal(argmax(i.to(kGpu)), argmax(i));
}

TEST_CASE("cuda: a float sum over 4M elements (the two-pass reduction) matches a double reference") {
  CHORD_SKIP_WITHOUT_CUDA();
  const int64_t n = int64_t{1} << 22;
  const auto x = randn_t<float>({n}, 51);
  double reference = 0;
  for (float v : x.to_vector()) reference += v;
  const double got = x.to(kGpu).sum().item();
  CHECK(std::abs(got - reference) <= 1e-6 * std::sqrt(static_cast<double>(n)) * 10);
  // The same bits on every run.
  CHECK(x.to(kGpu).sum().item() == x.to(kGpu).sum().item());
}

TEST_CASE("cuda: matmul and linear through cuBLAS equal the cpu's: 2-D, batched, broadcast, transposed, 1-D") {
  CHORD_SKIP_WITHOUT_CUDA();
  const auto a = randn_t<float>({2, 1, 33, 17}, 61), b = randn_t<float>({5, 17, 9}, 62);
  check_close(matmul(a.to(kGpu), b.to(kGpu)), matmul(a, b), float_sum_rtol(17), 1e-5);
  const auto m = randn_t<float>({64, 48}, 63), n = randn_t<float>({32, 48}, 64);
  check_close(matmul(m.to(kGpu), n.to(kGpu).t()), matmul(m, n.t()), float_sum_rtol(48), 1e-5);
  check_close(matmul(m.to(kGpu).t(), m.to(kGpu)), matmul(m.t(), m), float_sum_rtol(64), 1e-5);
  const auto v = randn_t<float>({48}, 65);
  check_close(matmul(m.to(kGpu), v.to(kGpu)), matmul(m, v), float_sum_rtol(48), 1e-5);
  check_close(matmul(v.to(kGpu), n.to(kGpu).t()), matmul(v, n.t()), float_sum_rtol(48), 1e-5);
  // A step-2 column slice (copied first) and an expanded batch operand.
  const auto s = randn_t<float>({48, 20}, 66).slice(1, 0, 20, 2);
  check_close(matmul(m.to(kGpu), s.to(kGpu)), matmul(m, s), float_sum_rtol(48), 1e-5);
  const auto e = randn_t<float>({1, 48, 7}, 67);  // expanded on the GPU: a batch stride of 0
  check_close(matmul(m.to(kGpu), e.to(kGpu).expand({3, 48, 7})), matmul(m, e.expand({3, 48, 7})), float_sum_rtol(48),
              1e-5);
  // linear with and without bias, on [B, T, in].
  const auto x = randn_t<double>({3, 5, 12}, 68), w = randn_t<double>({7, 12}, 69), bias = randn_t<double>({7}, 70);
  check_close(linear(x.to(kGpu), w.to(kGpu), bias.to(kGpu)), linear(x, w, bias), 1e-13, 1e-13);
  check_close(linear(x.to(kGpu), w.to(kGpu)), linear(x, w), 1e-13, 1e-13);
  // Empty inner dim: zeros.
  check_close(matmul(Tensor<float>::empty({3, 0}, kGpu), Tensor<float>::empty({0, 4}, kGpu)),
              Tensor<float>::zeros({3, 4}), 0.0);
}

TEST_CASE("cuda: softmax, log_softmax and cross_entropy (ignore_index, label smoothing, reductions) equal the cpu's") {
  CHORD_SKIP_WITHOUT_CUDA();
  const auto x = randn_t<float>({6, 50}, 71, 3.0);
  for (int64_t d : {1, 0}) {
    check_close(softmax(x.to(kGpu), d), softmax(x, d), float_sum_rtol(50), 1e-7);
    check_close(log_softmax(x.to(kGpu), d), log_softmax(x, d), float_sum_rtol(50), 1e-6);
  }
  const auto big = chord::tensor<float>({{1000, 0, -1000}, {-5, -5, -5}});
  check_close(softmax(big.to(kGpu), 1), softmax(big, 1), 1e-6);
  const auto targets = Tensor<int64_t>::from_vector({3, -100, 0, 49, 7, -100});
  for (Reduction red : {Reduction::Mean, Reduction::Sum, Reduction::None})
    for (double eps : {0.0, 0.1}) {
      const CrossEntropyOptions o{.label_smoothing = eps, .reduction = red};
      check_close(cross_entropy(x.to(kGpu), targets.to(kGpu), o), cross_entropy(x, targets, o), float_sum_rtol(300),
                  1e-6);
    }
  // All rows ignored: 0.
  const auto none = Tensor<int64_t>::full({6}, -100);
  CHECK(cross_entropy(x.to(kGpu), none.to(kGpu)).item() == 0.0f);
}

TEST_CASE("cuda: layer_norm, embedding, index_select and token log-probs equal the cpu's") {
  CHORD_SKIP_WITHOUT_CUDA();
  const auto x = randn_t<float>({3, 4, 40}, 81, 2.0), w = randn_t<float>({40}, 82), b = randn_t<float>({40}, 83);
  check_close(layer_norm(x.to(kGpu), w.to(kGpu), b.to(kGpu)), layer_norm(x, w, b), float_sum_rtol(40) * 10, 1e-6);
  check_close(layer_norm(x.transpose(0, 1).to(kGpu)), layer_norm(x.transpose(0, 1)), float_sum_rtol(40) * 10, 1e-6);
  const auto table = randn_t<double>({10, 6}, 84);
  const auto ids = Tensor<int64_t>::from_vector({3, 3, 9, 0, 1, 3}, {2, 3});
  check_close(embedding(table.to(kGpu), ids.to(kGpu)), embedding(table, ids), 0.0);
  check_close(embedding(table.to(kGpu), ids), embedding(table, ids), 0.0);  // host ids for a GPU table
  check_close(index_select(table.to(kGpu), 1, Tensor<int64_t>::from_vector({5, 0, 5}).to(kGpu)),
              index_select(table, 1, Tensor<int64_t>::from_vector({5, 0, 5})), 0.0);
  const auto logits = randn_t<float>({2, 5, 30}, 85, 3.0);
  const auto targets = Tensor<int64_t>::randint(0, 30, {2, 5});
  for (double temperature : {1.0, 0.7}) {
    const auto gpu = token_log_probs_and_entropy(logits.to(kGpu), targets.to(kGpu), temperature);
    const auto cpu = token_log_probs_and_entropy(logits, targets, temperature);
    check_close(gpu.log_probs, cpu.log_probs, float_sum_rtol(30) * 10, 1e-6);
    check_close(gpu.entropy, cpu.entropy, float_sum_rtol(30) * 10, 1e-6);
  }
}

TEST_CASE("cuda: causal_attention equals the cpu's, with Tq < Tk, key_start and a fused-QKV layout") {
  CHORD_SKIP_WITHOUT_CUDA();
  const int64_t B = 3, H = 2, T = 37, D = 16;
  const auto qkv = randn_t<float>({B, T, 3, H, D}, 91);
  auto heads = [](const Tensor<float>& t, int64_t i) { return t.select(2, i).permute({0, 2, 1, 3}); };
  const auto gqkv = qkv.to(kGpu);
  check_close(causal_attention(heads(gqkv, 0), heads(gqkv, 1), heads(gqkv, 2)),
              causal_attention(heads(qkv, 0), heads(qkv, 1), heads(qkv, 2)), float_sum_rtol(T * D) * 4, 1e-6);
  // The last 5 queries against all keys, rows starting at 0, 4 and 36 (the last sees one key).
  const auto q = heads(qkv, 0).narrow(2, T - 5, 5);
  const auto ks = Tensor<int64_t>::from_vector({0, 4, 36});
  const auto want = causal_attention(q, heads(qkv, 1), heads(qkv, 2), ks);
  check_close(causal_attention(heads(gqkv, 0).narrow(2, T - 5, 5), heads(gqkv, 1), heads(gqkv, 2), ks), want,
              float_sum_rtol(T * D) * 4, 1e-6);
  check_close(causal_attention(heads(gqkv, 0).narrow(2, T - 5, 5), heads(gqkv, 1), heads(gqkv, 2), ks.to(kGpu)), want,
              float_sum_rtol(T * D) * 4, 1e-6);
  // Queries that see no key give zeros.
  const auto all_padding = Tensor<int64_t>::from_vector({T, T, T});
  check_close(causal_attention(heads(gqkv, 0), heads(gqkv, 1), heads(gqkv, 2), all_padding),
              Tensor<float>::zeros({B, H, T, D}), 0.0);
}

TEST_CASE("cuda: causal_attention gradients equal the cpu's (float, B=8 H=4 T=128 D=64)") {
  CHORD_SKIP_WITHOUT_CUDA();
  const int64_t B = 8, H = 4, T = 128, D = 64;
  auto run = [&](Device device) {
    Tensor<float> q = randn_t<float>({B, H, T, D}, 92).to(device), k = randn_t<float>({B, H, T, D}, 93).to(device),
                  v = randn_t<float>({B, H, T, D}, 94).to(device);
    for (auto* t : {&q, &k, &v}) t->set_requires_grad(true);
    const auto y = causal_attention(q, k, v);
    (y * randn_t<float>({B, H, T, D}, 95).to(device)).sum().backward();
    return std::vector<Tensor<float>>{y, q.grad(), k.grad(), v.grad()};
  };
  const auto gpu = run(kGpu), cpu = run(kCpu);
  for (std::size_t i = 0; i < gpu.size(); ++i) check_close(gpu[i], cpu[i], 1e-4, 1e-5);
}

TEST_CASE("cuda: causal_self_attention and its one-buffer qkv gradient equal the cpu's (float, B=4 H=4 T=96 D=32)") {
  CHORD_SKIP_WITHOUT_CUDA();
  const int64_t B = 4, H = 4, T = 96, D = 32, C = H * D;
  auto run = [&](Device device) {
    Tensor<float> qkv = randn_t<float>({B, T, 3 * C}, 96).to(device);
    qkv.set_requires_grad(true);
    const auto y = causal_self_attention(qkv, H);
    (y * randn_t<float>({B, T, C}, 97).to(device)).sum().backward();
    return std::vector<Tensor<float>>{y, qkv.grad()};
  };
  const auto gpu = run(kGpu), cpu = run(kCpu);
  for (std::size_t i = 0; i < gpu.size(); ++i) check_close(gpu[i], cpu[i], 1e-4, 1e-5);
}

// ---- gradients on the GPU (double) against finite differences ---------------------------

TEST_CASE("cuda: gradcheck of elementwise ops, broadcasting and reductions on the GPU (double)") {
  CHORD_SKIP_WITHOUT_CUDA();
  const Inputs ab{leaf({3, 4}, 101), leaf({4}, 102)};
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return (in[0] * in[1] + in[0] / (in[1] * in[1] + 1.0)).sum({1}); },
                            ab);
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return gelu(in[0]) + tanh(in[0]) + sigmoid(in[0]) + exp(in[0]); },
                            Inputs{leaf({2, 5}, 103)});
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return maximum(in[0], in[1]) - minimum(in[0], in[1]) * 2.0; }, ab);
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return max(in[0], 1) + in[0].mean({1}) + in[0].sum(); },
                            Inputs{leaf({3, 5}, 104)});
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return pow(abs(in[0]) + 0.5, in[1]); }, ab);
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return in[0].t().reshape({12}) * 3.0; },
                            Inputs{transposed_leaf({3, 4}, 105)});
}

TEST_CASE("cuda: gradcheck of matmul, linear, softmax, cross_entropy and layer_norm on the GPU (double)") {
  CHORD_SKIP_WITHOUT_CUDA();
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return matmul(in[0], in[1]); },
                            Inputs{leaf({2, 3, 4}, 111), leaf({4, 5}, 112)});
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return matmul(in[0], in[1]); },
                            Inputs{leaf({2, 1, 3, 4}, 113), leaf({3, 4, 2}, 114)});
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return linear(in[0], in[1], in[2]); },
                            Inputs{leaf({2, 3, 4}, 115), leaf({5, 4}, 116), leaf({5}, 117)});
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return softmax(in[0], 0) * log_softmax(in[0], 1); },
                            Inputs{leaf({3, 6}, 118)});
  const auto targets = Tensor<int64_t>::from_vector({2, -100, 0, 5});
  CHORD_CHECK_GPU_GRADCHECK(
      [&](const Inputs& in) {
        return cross_entropy(in[0], targets.to(kGpu), {.label_smoothing = 0.2, .reduction = Reduction::Mean});
      },
      Inputs{leaf({4, 6}, 119)});
  CHORD_CHECK_GPU_GRADCHECK(
      [&](const Inputs& in) { return cross_entropy(in[0], targets.to(kGpu), {.reduction = Reduction::None}); },
      Inputs{leaf({4, 6}, 120)});
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return layer_norm(in[0], in[1], in[2]); },
                            Inputs{leaf({3, 7}, 121), leaf({7}, 122), leaf({7}, 123)});
}

TEST_CASE("cuda: gradcheck of embedding, index_select, causal_attention and token log-probs on the GPU (double)") {
  CHORD_SKIP_WITHOUT_CUDA();
  const auto ids = Tensor<int64_t>::from_vector({1, 4, 1, 0, 4, 4}, {2, 3});
  CHORD_CHECK_GPU_GRADCHECK([&](const Inputs& in) { return embedding(in[0], ids.to(kGpu)); },
                            Inputs{leaf({5, 3}, 131)});
  CHORD_CHECK_GPU_GRADCHECK(
      [&](const Inputs& in) { return index_select(in[0], 0, Tensor<int64_t>::from_vector({2, 0, 2}).to(kGpu)); },
      Inputs{leaf({3, 4}, 132)});
  const auto ks = Tensor<int64_t>::from_vector({0, 2});
  CHORD_CHECK_GPU_GRADCHECK([&](const Inputs& in) { return causal_attention(in[0], in[1], in[2], ks); },
                            Inputs{leaf({2, 2, 3, 4}, 133), leaf({2, 2, 5, 4}, 134), leaf({2, 2, 5, 4}, 135)});
  CHORD_CHECK_GPU_GRADCHECK([](const Inputs& in) { return causal_attention(in[0], in[1], in[2]); },
                            Inputs{leaf({1, 2, 6, 3}, 136), leaf({1, 2, 6, 3}, 137), leaf({1, 2, 6, 3}, 138)});
  const auto targets = Tensor<int64_t>::from_vector({1, 0, 5, 2}, {2, 2});
  CHORD_CHECK_GPU_GRADCHECK(
      [&](const Inputs& in) {
        const auto r = token_log_probs_and_entropy(in[0], targets.to(kGpu), 0.8);
        return r.log_probs + r.entropy * 0.5;
      },
      Inputs{leaf({2, 2, 6}, 139)});
}

TEST_CASE("cuda: linear on a few rows (one kernel with the bias) equals the cpu's, and cuBLAS's above 16 rows") {
  CHORD_SKIP_WITHOUT_CUDA();
  for (int64_t rows : {1, 3, 16, 17}) {
    CAPTURE(rows);
    for (int64_t in : {5, 64, 300}) {
      CAPTURE(in);
      const auto x = randn_t<float>({rows, in}, 140), w = randn_t<float>({33, in}, 141), b = randn_t<float>({33}, 142);
      check_close(linear(x.to(kGpu), w.to(kGpu), b.to(kGpu)), linear(x, w, b), float_sum_rtol(in) * 10, 1e-5);
      check_close(linear(x.to(kGpu), w.to(kGpu)), linear(x, w), float_sum_rtol(in) * 10, 1e-5);
      // rows of a wider tensor (row stride > in) and a strided bias
      const auto wide = randn_t<double>({rows, in + 7}, 143), bias2 = randn_t<double>({33, 2}, 144);
      const auto xs = wide.narrow(1, 3, in), bs = bias2.select(1, 1);
      const std::vector<float> wd = w.to_vector();
      const auto wdd = Tensor<double>::from_vector(std::vector<double>(wd.begin(), wd.end()), {33, in});
      check_close(linear(wide.to(kGpu).narrow(1, 3, in), wdd.to(kGpu), bias2.to(kGpu).select(1, 1)),
                  linear(xs, wdd, bs), 1e-12, 1e-12);
    }
  }
  // [B, 1, C] as in decoding: three rows of one token each
  const auto x = randn_t<float>({3, 1, 32}, 145), w = randn_t<float>({96, 32}, 146), b = randn_t<float>({96}, 147);
  check_close(linear(x.to(kGpu), w.to(kGpu), b.to(kGpu)), linear(x, w, b), float_sum_rtol(32) * 10, 1e-5);
}
