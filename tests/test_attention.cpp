// causal_attention: values and gradients against the naive composition
// (matmul, masked softmax, matmul), finite-difference gradients on contiguous
// and strided (fused QKV, KV cache) inputs, the output's memory layout,
// thread-count determinism, fully masked queries, errors.

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace chord;
using chord::testing::check_values;
using chord::testing::Inputs;
using chord::testing::TensorD;

namespace {

// softmax(q k^T / sqrt(D) with masked scores at -1e30) v, rows that see no key
// multiplied by 0: the same function as causal_attention, built from
// existing ops. starts: key_start per batch row (empty: all 0).
template <FloatingPoint T>
Tensor<T> naive_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                          const std::vector<int64_t>& starts = {}) {
  const int64_t B = q.size(0), Tq = q.size(2), D = q.size(3), Tk = k.size(2);
  Tensor<bool> mask = Tensor<bool>::empty({B, 1, Tq, Tk});  // true: query i does not see key j
  Tensor<T> has_key = Tensor<T>::empty({B, 1, Tq, 1});      // 1 where query i sees some key
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < Tq; ++i) {
      const int64_t start = starts.empty() ? 0 : starts[b], pos = Tk - Tq + i;
      for (int64_t j = 0; j < Tk; ++j) mask.data()[(b * Tq + i) * Tk + j] = j > pos || j < start;
      has_key.data()[b * Tq + i] = start <= pos ? T(1) : T(0);
    }
  const Tensor<T> scores = matmul(q, k.transpose(-1, -2)) * static_cast<T>(1.0 / std::sqrt(static_cast<double>(D)));
  const Tensor<T> p = softmax(masked_fill(scores, mask, static_cast<T>(-1e30)), -1);
  return matmul(p, v) * has_key;
}

Tensor<int64_t> starts_tensor(const std::vector<int64_t>& starts) {
  return starts.empty() ? Tensor<int64_t>() : Tensor<int64_t>::from_vector(starts);
}

template <class T>
double max_abs_diff(const Tensor<T>& a, const Tensor<T>& b) {
  const std::vector<T> x = a.to_vector(), y = b.to_vector();
  REQUIRE(x.size() == y.size());
  double m = 0;
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(static_cast<double>(x[i]) - y[i]));
  return m;
}

template <class T>
double max_abs(const Tensor<T>& a) {
  double m = 0;
  for (T x : a.to_vector()) m = std::max(m, std::abs(static_cast<double>(x)));
  return m;
}

using chord::testing::ThreadCount;

template <class T>
bool bit_identical(const Tensor<T>& a, const Tensor<T>& b) {
  const std::vector<T> x = a.to_vector(), y = b.to_vector();
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), sizeof(T) * x.size()) == 0;
}

// q, k, v as the [B, H, T, D] views of a fused [B, T, 3, H, D] projection.
template <class T>
std::vector<Tensor<T>> split_qkv(const Tensor<T>& qkv) {
  return {qkv.select(2, 0).permute({0, 2, 1, 3}), qkv.select(2, 1).permute({0, 2, 1, 3}),
          qkv.select(2, 2).permute({0, 2, 1, 3})};
}

struct Case {
  int64_t B, H, Tq, Tk, D;
  std::vector<int64_t> starts;
};

}  // namespace

TEST_CASE("causal_attention equals matmul + masked softmax + matmul, with Tq < Tk and key_start") {
  // Shapes below and above the kernels' 32-row query and 64-key blocks, few
  // heads (per-block backward) and many (per-head backward).
  const std::vector<Case> cases = {
      {2, 3, 5, 5, 4, {}},        {2, 3, 3, 7, 4, {}},        {2, 2, 1, 6, 8, {2, 0}},
      {3, 2, 4, 4, 3, {1, 0, 2}}, {1, 2, 40, 70, 16, {}},     {2, 1, 70, 70, 8, {5, 33}},
      {4, 4, 37, 37, 8, {0, 1, 30, 36}}};
  // Both the portable kernels and the ones of this CPU's ISA.
  chord::testing::report_unchecked_isas();
  for (cpu::Isa isa : {cpu::Isa::Portable, cpu::detected_isa()}) {
    cpu::IsaLimitGuard limit(isa);
    uint64_t seed = 1;
    for (const Case& c : cases) {
      INFO(cpu::isa_name(isa) << " B=" << c.B << " H=" << c.H << " Tq=" << c.Tq << " Tk=" << c.Tk << " D=" << c.D);
      Generator gen(seed++);
      const TensorD q = TensorD::randn({c.B, c.H, c.Tq, c.D}, gen);
      const TensorD k = TensorD::randn({c.B, c.H, c.Tk, c.D}, gen);
      const TensorD v = TensorD::randn({c.B, c.H, c.Tk, c.D}, gen);
      const TensorD y = causal_attention(q, k, v, starts_tensor(c.starts));
      REQUIRE(y.shape() == Shape{c.B, c.H, c.Tq, c.D});
      check_values(y, naive_attention(q, k, v, c.starts).to_vector(), 1e-12);
    }
  }
  // float, within float rounding, on every ISA this CPU has: decoding-sized query counts (Tq < 8:
  // one row at a time, on vector registers when D is a multiple of the vector width, else
  // portable) and larger ones (K read transposed).
  chord::testing::report_unchecked_isas();
  std::vector<cpu::Isa> isas = {cpu::Isa::Portable};
  if (cpu::detected_isa() >= cpu::Isa::Avx2) isas.push_back(cpu::Isa::Avx2);
  if (cpu::detected_isa() >= cpu::Isa::Avx512) isas.push_back(cpu::Isa::Avx512);
  for (cpu::Isa isa : isas) {
    cpu::IsaLimitGuard limit(isa);
    for (int64_t Tq : {1, 6, 12}) {
      for (int64_t D : {16, 64, 20}) {
        INFO(cpu::isa_name(isa) << " float Tq=" << Tq << " D=" << D);
        Generator gen(99);
        const auto q = Tensor<float>::randn({2, 3, Tq, D}, gen), k = Tensor<float>::randn({2, 3, 15, D}, gen),
                   v = Tensor<float>::randn({2, 3, 15, D}, gen);
        const std::vector<int64_t> starts{0, 4};
        CHECK(max_abs_diff(causal_attention(q, k, v, starts_tensor(starts)), naive_attention(q, k, v, starts)) < 1e-5);
      }
    }
  }
}

TEST_CASE("causal_attention of the last queries against all keys equals the last rows of full attention") {
  // One decoding step (Tq = 1) or a chunk of 3 against a KV cache gives the rows of the full causal attention.
  Generator gen(5);
  const TensorD q = TensorD::randn({2, 2, 9, 4}, gen), k = TensorD::randn({2, 2, 9, 4}, gen),
                v = TensorD::randn({2, 2, 9, 4}, gen);
  const Tensor<int64_t> starts = Tensor<int64_t>::from_vector({0, 3});
  const TensorD full = causal_attention(q, k, v, starts);
  for (int64_t tail : {1, 3}) {
    const TensorD step = causal_attention(q.narrow(2, 9 - tail, tail), k, v, starts);
    check_values(step, full.narrow(2, 9 - tail, tail).contiguous().to_vector(), 1e-12);
  }
}

TEST_CASE("causal_attention gradients match finite differences (double)") {
  using chord::testing::leaf;
  SUBCASE("contiguous q, k, v") {
    auto f = [](const Inputs& in) { return causal_attention(in[0], in[1], in[2]); };
    CHORD_CHECK_GRADCHECK(f, {leaf({1, 2, 4, 3}, 1), leaf({1, 2, 4, 3}, 2), leaf({1, 2, 4, 3}, 3)});
  }
  SUBCASE("q, k, v as views of a fused [B, T, 3, H, D] projection, with key_start") {
    auto f = [](const Inputs& in) {
      const auto qkv = split_qkv(in[0]);
      return causal_attention(qkv[0], qkv[1], qkv[2], Tensor<int64_t>::from_vector({0, 2}));
    };
    CHORD_CHECK_GRADCHECK(f, {leaf({2, 4, 3, 2, 3}, 4)});
  }
  SUBCASE("Tq < Tk with k, v as narrowed views of a KV cache and key_start, fully masked queries included") {
    // Batch row 1 starts at key 4: its first query (position 3) sees no key.
    auto f = [](const Inputs& in) {
      return causal_attention(in[0], in[1].narrow(2, 0, 6), in[2].narrow(2, 0, 6),
                              Tensor<int64_t>::from_vector({1, 4}));
    };
    CHORD_CHECK_GRADCHECK(f, {leaf({2, 2, 3, 3}, 5), leaf({2, 2, 8, 3}, 6), leaf({2, 2, 8, 3}, 7)});
  }
  SUBCASE("many heads (the per-head backward), Tq < Tk, key_start") {
    auto f = [](const Inputs& in) {
      return causal_attention(in[0], in[1], in[2], Tensor<int64_t>::from_vector({0, 1, 3, 2}));
    };
    CHORD_CHECK_GRADCHECK(f, {leaf({4, 4, 2, 2}, 8), leaf({4, 4, 4, 2}, 9), leaf({4, 4, 4, 2}, 10)});
  }
  SUBCASE("a last dim with stride 2 (copied) and inputs of which only some require grad") {
    Generator gen(11);
    const TensorD frozen_k = TensorD::randn({1, 2, 5, 3}, gen);
    auto f = [&](const Inputs& in) { return causal_attention(in[0], frozen_k, in[1]); };
    CHORD_CHECK_GRADCHECK(f, {chord::testing::strided_leaf({1, 2, 4, 3}, 12), chord::testing::transposed_leaf({1, 2, 5, 3}, 13)});
  }
}

TEST_CASE("causal_attention gradients equal the naive composition's (float, B=8 H=4 T=128 D=64; double, both backward schemes)") {
  SUBCASE("float, config S") {
    // Tolerance: 2e-5 absolute on gradients of size about 1, a few hundred float roundings.
    Generator gen(21);
    auto qkv = Tensor<float>::randn({8, 128, 3, 4, 64}, gen).set_requires_grad();
    const auto g = Tensor<float>::randn({8, 4, 128, 64}, gen);
    const std::vector<int64_t> starts{0, 0, 5, 0, 17, 0, 0, 127};
    auto grad_of = [&](bool fused) {
      qkv.set_grad(Tensor<float>());
      const auto in = split_qkv(qkv);
      const auto y = fused ? causal_attention(in[0], in[1], in[2], starts_tensor(starts))
                           : naive_attention(in[0], in[1], in[2], starts);
      (y * g).sum().backward();
      return std::pair{y.detach().contiguous(), qkv.grad()};
    };
    const auto [y_fused, g_fused] = grad_of(true);
    const auto [y_naive, g_naive] = grad_of(false);
    INFO("max |grad| " << max_abs(g_naive));
    CHECK(max_abs_diff(y_fused, y_naive) < 1e-5);
    CHECK(max_abs_diff(g_fused, g_naive) < 2e-5);
  }
  SUBCASE("double, few heads with several key blocks, and many heads") {
    for (const Case& c : {Case{1, 2, 50, 150, 8, {}}, Case{2, 8, 45, 45, 8, {0, 20}}}) {
      INFO("B=" << c.B << " H=" << c.H << " Tq=" << c.Tq << " Tk=" << c.Tk);
      Generator gen(c.H);
      TensorD q = TensorD::randn({c.B, c.H, c.Tq, c.D}, gen).set_requires_grad();
      TensorD k = TensorD::randn({c.B, c.H, c.Tk, c.D}, gen).set_requires_grad();
      TensorD v = TensorD::randn({c.B, c.H, c.Tk, c.D}, gen).set_requires_grad();
      const TensorD g = TensorD::randn({c.B, c.H, c.Tq, c.D}, gen);
      std::vector<TensorD> grads[2];
      for (int fused : {0, 1}) {
        for (TensorD* t : {&q, &k, &v}) t->set_grad(TensorD());
        const TensorD y =
            fused ? causal_attention(q, k, v, starts_tensor(c.starts)) : naive_attention(q, k, v, c.starts);
        (y * g).sum().backward();
        grads[fused] = {q.grad(), k.grad(), v.grad()};
      }
      for (int i = 0; i < 3; ++i) check_values(grads[1][i], grads[0][i].to_vector(), 1e-11);
    }
  }
}

TEST_CASE("causal_attention's output is a [B, Tq, H, D] buffer: merging the heads is a view") {
  Generator gen(31);
  const int64_t B = 2, H = 3, T = 5, D = 4;
  const auto qkv = Tensor<float>::randn({B, T, 3, H, D}, gen);
  const auto in = split_qkv(qkv);
  const auto y = causal_attention(in[0], in[1], in[2]);
  CHECK(y.shape() == Shape{B, H, T, D});
  CHECK(y.strides() == Strides{T * H * D, D, H * D, 1});
  CHECK(y.transpose(1, 2).is_contiguous());
  const auto merged = y.transpose(1, 2).reshape({B, T, H * D});
  CHECK(merged.is_alias_of(y));
  CHECK(merged.data() == y.data());
  // Element (b, t, h * D + d) of the merged tensor is y[b, h, t, d].
  CHECK(merged.at({1, 3, 2 * D + 1}) == y.at({1, 2, 3, 1}));
}

TEST_CASE("causal_attention reads strided q, k, v in place and saves them, not copies") {
  // Saved views of the fused projection share its storage: changing it after the
  // forward is caught at backward time (a saved copy would not notice).
  Generator gen(32);
  auto qkv = Tensor<float>::randn({2, 6, 3, 2, 4}, gen).set_requires_grad();
  const auto in = split_qkv(qkv);
  const auto y = causal_attention(in[0], in[1], in[2]);
  {
    NoGradGuard no_grad;
    qkv.fill_(1.0f);
  }
  CHORD_CHECK_ERROR(y.sum().backward(), "modified by an in-place");
  // Same for a KV cache's narrowed keys.
  auto cache = Tensor<float>::randn({2, 2, 10, 4}, gen).set_requires_grad();
  const auto q = Tensor<float>::randn({2, 2, 1, 4}, gen);
  const auto y2 = causal_attention(q, cache.narrow(2, 0, 7), cache.narrow(2, 0, 7));
  {
    NoGradGuard no_grad;
    cache.narrow(2, 7, 1).fill_(0.0f);
  }
  CHORD_CHECK_ERROR(y2.sum().backward(), "modified by an in-place");
}

TEST_CASE("causal_attention forward and gradients are bit-identical for 1 and 2 threads") {
  ThreadCount restore;
  // Few heads (per-block backward) and many heads (per-head backward), float.
  for (const Case& c : {Case{1, 2, 96, 96, 32, {7}}, Case{2, 16, 64, 64, 32, {0, 9}}, Case{8, 8, 1, 100, 64, {}}}) {
    INFO("B=" << c.B << " H=" << c.H << " Tq=" << c.Tq << " Tk=" << c.Tk);
    Generator gen(40);
    auto q = Tensor<float>::randn({c.B, c.H, c.Tq, c.D}, gen).set_requires_grad();
    auto k = Tensor<float>::randn({c.B, c.H, c.Tk, c.D}, gen).set_requires_grad();
    auto v = Tensor<float>::randn({c.B, c.H, c.Tk, c.D}, gen).set_requires_grad();
    const auto g = Tensor<float>::randn({c.B, c.H, c.Tq, c.D}, gen);
    std::vector<Tensor<float>> results[2];
    for (int threads : {1, 2}) {
      cpu::set_num_threads(threads);
      for (auto* t : {&q, &k, &v}) t->set_grad(Tensor<float>());
      const auto y = causal_attention(q, k, v, starts_tensor(c.starts));
      y.backward(g);
      results[threads - 1] = {y, q.grad(), k.grad(), v.grad()};
    }
    for (int i = 0; i < 4; ++i) {
      INFO("result " << i);
      CHECK(bit_identical(results[0][i], results[1][i]));
    }
  }
}

TEST_CASE("causal_attention gives zeros for queries that see no key and passes them no gradient") {
  // Batch row 0: key_start 3, so queries 0..2 see nothing; batch row 1: key_start = Tk, all masked.
  Generator gen(50);
  auto q = TensorD::randn({2, 2, 5, 3}, gen).set_requires_grad();
  auto k = TensorD::randn({2, 2, 5, 3}, gen).set_requires_grad();
  auto v = TensorD::randn({2, 2, 5, 3}, gen).set_requires_grad();
  const TensorD y = causal_attention(q, k, v, Tensor<int64_t>::from_vector({3, 5}));
  y.backward(TensorD::ones(y.shape()));
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t d = 0; d < 3; ++d) {
      for (int64_t i = 0; i < 5; ++i) {
        const bool masked = i < 3;
        if (masked) CHECK(y.at({0, h, i, d}) == 0.0);
        if (masked) CHECK(q.grad().at({0, h, i, d}) == 0.0);
        CHECK(y.at({1, h, i, d}) == 0.0);
        CHECK(q.grad().at({1, h, i, d}) == 0.0);
        CHECK(k.grad().at({1, h, i, d}) == 0.0);
        CHECK(v.grad().at({1, h, i, d}) == 0.0);
        if (i < 3) CHECK(k.grad().at({0, h, i, d}) == 0.0);  // padding keys
        if (i < 3) CHECK(v.grad().at({0, h, i, d}) == 0.0);
      }
      // Query 3 of row 0 sees only key 3: its output is v[3] exactly.
      CHECK(y.at({0, h, 3, d}) == doctest::Approx(v.at({0, h, 3, d})).epsilon(1e-14));
    }
  for (double x : y.to_vector()) CHECK(std::isfinite(x));
  // And the visible rows still match the naive composition.
  check_values(y, naive_attention(q, k, v, {3, 5}).to_vector(), 1e-12);
}

TEST_CASE("causal_attention of empty shapes: no queries, or a head size of 0") {
  auto q = TensorD::zeros({2, 3, 0, 4}).set_requires_grad();
  auto kv = TensorD::ones({2, 3, 5, 4}).set_requires_grad();
  const TensorD y = causal_attention(q, kv, kv);
  CHECK(y.shape() == Shape{2, 3, 0, 4});
  y.backward(TensorD::zeros(y.shape()));
  check_values(kv.grad(), std::vector<double>(2 * 3 * 5 * 4, 0.0), 0.0);
  const TensorD empty_heads = causal_attention(TensorD::zeros({1, 2, 3, 0}), TensorD::zeros({1, 2, 3, 0}),
                                               TensorD::zeros({1, 2, 3, 0}));
  CHECK(empty_heads.shape() == Shape{1, 2, 3, 0});
}

TEST_CASE("causal_attention rejects bad shapes and key_start") {
  const TensorD q = TensorD::zeros({2, 3, 4, 5}), kv = TensorD::zeros({2, 3, 6, 5});
  CHORD_CHECK_ERROR(causal_attention(TensorD::zeros({3, 4, 5}), kv, kv),
                    "causal_attention: q, k and v must be 4-D [B, H, T, D], got q [3,4,5]");
  CHORD_CHECK_ERROR(causal_attention(q, TensorD::zeros({2, 3, 6}), kv), "k [2,3,6]");
  CHORD_CHECK_ERROR(causal_attention(q, TensorD::zeros({1, 3, 6, 5}), TensorD::zeros({1, 3, 6, 5})),
                    "causal_attention: q [2,3,4,5] and k [1,3,6,5] must agree in batch, heads and head size");
  CHORD_CHECK_ERROR(causal_attention(q, TensorD::zeros({2, 2, 6, 5}), TensorD::zeros({2, 2, 6, 5})), "k [2,2,6,5]");
  CHORD_CHECK_ERROR(causal_attention(q, TensorD::zeros({2, 3, 6, 4}), TensorD::zeros({2, 3, 6, 4})), "k [2,3,6,4]");
  CHORD_CHECK_ERROR(causal_attention(q, kv, TensorD::zeros({2, 3, 7, 5})),
                    "causal_attention: k and v must have the same shape, got k [2,3,6,5] and v [2,3,7,5]");
  CHORD_CHECK_ERROR(causal_attention(q, TensorD::zeros({2, 3, 3, 5}), TensorD::zeros({2, 3, 3, 5})),
                    "causal_attention: needs at least as many keys as queries (Tk >= Tq), got q [2,3,4,5] and k [2,3,3,5]");
  CHORD_CHECK_ERROR(causal_attention(q, kv, kv, Tensor<int64_t>::zeros({3})),
                    "causal_attention: key_start must have shape [2] (one per batch row of q [2,3,4,5]), got [3]");
  CHORD_CHECK_ERROR(causal_attention(q, kv, kv, Tensor<int64_t>::zeros({2, 1})), "got [2,1]");
  CHORD_CHECK_ERROR(causal_attention(q, kv, kv, Tensor<int64_t>::from_vector({0, 7})),
                    "causal_attention: key_start[1] = 7 is outside [0, 6] (k [2,3,6,5])");
  CHORD_CHECK_ERROR(causal_attention(q, kv, kv, Tensor<int64_t>::from_vector({-1, 0})), "key_start[0] = -1");
  CHORD_CHECK_ERROR(causal_attention(q, TensorD(), kv), "causal_attention: the k tensor is undefined");
  CHECK_NOTHROW(causal_attention(q, kv, kv, Tensor<int64_t>::from_vector({6, 0})));
}

TEST_CASE("causal_self_attention equals splitting qkv and causal_attention, values and gradients bit for bit") {
  // Few heads (per-block backward) and many heads (per-head backward).
  for (const Case& c : {Case{2, 2, 40, 40, 16, {}}, Case{3, 16, 24, 24, 8, {}}}) {
    INFO("B=" << c.B << " H=" << c.H << " T=" << c.Tq);
    const int64_t C = c.H * c.D;
    Generator gen(50);
    auto qkv = Tensor<float>::randn({c.B, c.Tq, 3 * C}, gen).set_requires_grad();
    const auto g = Tensor<float>::randn({c.B, c.Tq, C}, gen);
    const auto fused = causal_self_attention(qkv, c.H);
    CHECK(fused.shape() == Shape{c.B, c.Tq, C});
    fused.backward(g);
    const auto fused_grad = qkv.grad();
    qkv.set_grad(Tensor<float>());
    const auto in = split_qkv(qkv.view({c.B, c.Tq, 3, c.H, c.D}));
    const auto split = causal_attention(in[0], in[1], in[2]).transpose(1, 2).reshape({c.B, c.Tq, C});
    split.backward(g);
    CHECK(bit_identical(fused, split));
    CHECK(bit_identical(fused_grad, qkv.grad()));
  }
}

TEST_CASE("causal_self_attention gradients match finite differences (double), contiguous and strided qkv") {
  using chord::testing::leaf;
  auto f = [](const Inputs& in) { return causal_self_attention(in[0], 2); };
  CHORD_CHECK_GRADCHECK(f, {leaf({2, 4, 3 * 2 * 3}, 60)});
  CHORD_CHECK_GRADCHECK(f, {chord::testing::strided_leaf({1, 5, 3 * 2 * 2}, 61)});
  // A gradient that reaches it as a non-contiguous view.
  auto g = [](const Inputs& in) { return causal_self_attention(in[0], 1).transpose(0, 1) * 2.0; };
  CHORD_CHECK_GRADCHECK(g, {leaf({2, 3, 3 * 4}, 62)});
}

TEST_CASE("causal_self_attention rejects bad shapes and head counts") {
  CHORD_CHECK_ERROR(causal_self_attention(TensorD::zeros({2, 4, 12}), 0),
                    "causal_self_attention: n_head must be positive, got 0");
  CHORD_CHECK_ERROR(causal_self_attention(TensorD::zeros({2, 4, 12}), 5),
                    "causal_self_attention: expected qkv [B, T, 3 * n_head * D] with n_head 5, got [2,4,12]");
  CHORD_CHECK_ERROR(causal_self_attention(TensorD::zeros({8, 12}), 2), "got [8,12]");
  CHORD_CHECK_ERROR(causal_self_attention(TensorD(), 2), "causal_self_attention: the qkv tensor is undefined");
}

TEST_CASE("the attention row kernels: softmax numerators, probabilities and score gradients, hidden keys 0") {
  auto check_type = [](auto zero) {
    using T = decltype(zero);
    // Portable and for this CPU: the first 4 of 5 keys visible.
    chord::testing::report_unchecked_isas();
    for (cpu::Isa isa : {cpu::Isa::Portable, cpu::detected_isa()}) {
      INFO(cpu::isa_name(isa));
      const std::vector<T> row{T(0.5), T(-1), T(2), T(-300), T(7)};
      std::vector<T> p = row;
      const auto stats = cpu::attention_detail::softmax_numerators(isa, p.data(), 5, 4);
      CHECK(stats.max == T(2));
      T want_sum = 0;
      for (int c = 0; c < 4; ++c) {
        CHECK(std::abs(p[c] - std::exp(row[c] - T(2))) <= 4 * std::numeric_limits<T>::epsilon());
        want_sum += std::exp(row[c] - T(2));
      }
      CHECK(p[4] == T(0));
      CHECK(std::abs(stats.sum - want_sum) <= 8 * std::numeric_limits<T>::epsilon());
      // p = exp(x - lse), ds = p * (ds - delta), hidden keys 0.
      std::vector<T> q = row, ds{T(1), T(2), T(3), T(4), T(5)};
      cpu::attention_detail::probabilities_and_grads(isa, q.data(), ds.data(), 5, 4, T(3), T(0.5));
      for (int c = 0; c < 4; ++c) {
        const T pc = std::exp(row[c] - T(3));
        CHECK(std::abs(q[c] - pc) <= 4 * std::numeric_limits<T>::epsilon() * pc);
        CHECK(std::abs(ds[c] - pc * (T(c + 1) - T(0.5))) <= 8 * std::numeric_limits<T>::epsilon() * pc * (c + 1));
      }
      CHECK(q[4] == T(0));
      CHECK(ds[4] == T(0));
    }
  };
  check_type(0.0f);
  check_type(0.0);
}
