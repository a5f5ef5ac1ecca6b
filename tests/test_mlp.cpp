// gelu_mlp (ops/mlp.hpp) against the unfused ops, finite differences and thread counts, and the
// fused products under it (backend/dispatch/fused_gemm.hpp): GELU and its backward as GEMM tile
// epilogues, a linear layer's bias gradient from the packed dY^T.

#include <vector>

#include "test_util.hpp"

using namespace chord;
using chord::testing::check_close;
using chord::testing::Inputs;
using chord::testing::leaf;

namespace {

template <class T>
Tensor<T> unfused_mlp(const Tensor<T>& x, const Tensor<T>& w1, const Tensor<T>& b1, const Tensor<T>& w2,
                      const Tensor<T>& b2) {
  return linear(gelu(linear(x, w1, b1)), w2, b2);
}

template <class T>
std::vector<Tensor<T>> leaves(const Shape& x_shape, int64_t hidden, int64_t out, uint64_t seed, bool biases = true) {
  Generator gen(seed);
  const int64_t in = x_shape.back();
  std::vector<Tensor<T>> v = {Tensor<T>::randn(x_shape, gen), Tensor<T>::randn({hidden, in}, gen) * T(0.3),
                              biases ? Tensor<T>::randn({hidden}, gen) : Tensor<T>(),
                              Tensor<T>::randn({out, hidden}, gen) * T(0.3),
                              biases ? Tensor<T>::randn({out}, gen) : Tensor<T>()};
  for (auto& t : v)
    if (t.defined()) t.set_requires_grad();
  return v;
}

// Each defined leaf's gradient after backward of sum(y * r) for a fixed random r.
template <class T, class F>
std::vector<Tensor<T>> grads_of(F f, const std::vector<Tensor<T>>& in, uint64_t seed) {
  for (const auto& t : in)
    if (t.defined()) t.impl().grad = nullptr;
  const Tensor<T> y = f(in);
  Generator gen(seed);
  sum(y * Tensor<T>::randn(y.shape(), gen)).backward();
  std::vector<Tensor<T>> g;
  for (const auto& t : in) g.push_back(t.defined() ? t.grad().detach() : Tensor<T>());
  return g;
}

auto fused = [](const auto& in) { return gelu_mlp(in[0], in[1], in[2], in[3], in[4]); };
auto unfused = [](const auto& in) { return unfused_mlp(in[0], in[1], in[2], in[3], in[4]); };

}  // namespace

TEST_CASE("gelu_mlp equals linear, gelu, linear, values and gradients, on every GEMM path") {
  // rows 3: the direct path; 50: the packed path (with blocks that cross every dim, and this
  // machine's); hidden 5: C^T's few-columns path; batched input; without biases.
  struct Case {
    Shape x;
    int64_t hidden, out;
    bool biases;
  };
  for (const Case& c : {Case{{3, 7}, 12, 5, true}, Case{{50, 20}, 70, 9, true}, Case{{2, 25, 20}, 64, 20, true},
                        Case{{50, 20}, 5, 30, true}, Case{{40, 16}, 48, 16, false}}) {
    for (bool small_blocks : {false, true}) {
      INFO("x " << c.x << " hidden " << c.hidden << " out " << c.out << " biases " << c.biases << " small blocks "
                << small_blocks);
      std::optional<cpu::gemm_kernel::BlockingOverrideGuard> blocks;
      if (small_blocks) blocks.emplace(chord::testing::kSmallBlocks);
      const auto in = leaves<double>(c.x, c.hidden, c.out, 7);
      check_close(fused(in), unfused(in), 1e-12, 1e-12);
      const auto gf = grads_of<double>(fused, in, 3), gu = grads_of<double>(unfused, in, 3);
      for (std::size_t i = 0; i < in.size(); ++i) {
        INFO("input " << i);
        REQUIRE(gf[i].defined() == in[i].defined());
        if (in[i].defined()) check_close(gf[i], gu[i], 1e-12, 1e-12);
      }
      const auto inf = leaves<float>(c.x, c.hidden, c.out, 7);
      check_close(fused(inf), unfused(inf), 1e-5, 1e-5);
      const auto gff = grads_of<float>(fused, inf, 3), guf = grads_of<float>(unfused, inf, 3);
      for (std::size_t i = 0; i < inf.size(); ++i)
        if (inf[i].defined()) check_close(gff[i], guf[i], 1e-4, 1e-4);
    }
  }
}

TEST_CASE("gelu_mlp gradients match finite differences") {
  auto f = [](const Inputs& in) { return gelu_mlp(in[0], in[1], in[2], in[3], in[4]); };
  auto no_bias = [](const Inputs& in) { return gelu_mlp(in[0], in[1], Tensor<double>(), in[2], Tensor<double>()); };
  CHORD_CHECK_GRADCHECK(f, {leaf({4, 3}, 1), leaf({6, 3}, 2), leaf({6}, 3), leaf({2, 6}, 4), leaf({2}, 5)});
  CHORD_CHECK_GRADCHECK(f, {leaf({2, 3, 3}, 6), leaf({5, 3}, 7), leaf({5}, 8), leaf({3, 5}, 9), leaf({3}, 10)});
  CHORD_CHECK_GRADCHECK(f, {leaf({3}, 11), leaf({4, 3}, 12), leaf({4}, 13), leaf({2, 4}, 14), leaf({2}, 15)});
  CHORD_CHECK_GRADCHECK(no_bias, {leaf({4, 3}, 16), leaf({6, 3}, 17), leaf({2, 6}, 18)});
  // strided and transposed operands
  CHORD_CHECK_GRADCHECK(f, {chord::testing::transposed_leaf({2, 4, 3}, 19), chord::testing::transposed_leaf({5, 3}, 20),
                            chord::testing::strided_leaf({5}, 21), chord::testing::transposed_leaf({2, 5}, 22),
                            chord::testing::strided_leaf({2}, 23)});
  // only some inputs need a gradient: the weights alone, the input alone
  CHORD_CHECK_GRADCHECK(f, {Tensor<double>::randn({4, 3}), leaf({6, 3}, 24), Tensor<double>::randn({6}),
                            leaf({2, 6}, 25), Tensor<double>::randn({2})});
  CHORD_CHECK_GRADCHECK(f, {leaf({4, 3}, 26), Tensor<double>::randn({6, 3}), Tensor<double>::randn({6}),
                            Tensor<double>::randn({2, 6}), Tensor<double>::randn({2})});
  // the packed path, its row sums crossing K blocks (rows = K of the weight gradients)
  const cpu::gemm_kernel::BlockingOverrideGuard blocks(chord::testing::kSmallBlocks);
  CHORD_CHECK_GRADCHECK(f, {leaf({45, 6}, 27), leaf({20, 6}, 28), leaf({20}, 29), leaf({18, 20}, 30), leaf({18}, 31)});
}

TEST_CASE("gelu_mlp gives bit-identical values and gradients with 1 and 2 threads") {
  const chord::testing::ThreadCount restore;
  const auto in = leaves<float>({4, 64, 64}, 256, 64, 11);  // the packed path, several tiles per thread
  std::vector<std::vector<float>> runs[2];
  for (int threads : {1, 2}) {
    cpu::set_num_threads(threads);
    auto& run = runs[threads - 1];
    run.push_back(fused(in).to_vector());
    for (const auto& g : grads_of<float>(fused, in, 5)) run.push_back(g.to_vector());
  }
  REQUIRE(runs[0].size() == runs[1].size());
  for (std::size_t i = 0; i < runs[0].size(); ++i) {
    INFO("output " << i << " (0: y, then the gradients of x, W1, b1, W2, b2)");
    CHECK(runs[0][i] == runs[1][i]);
  }
}

TEST_CASE("gelu_mlp names what does not match") {
  const auto x = Tensor<float>::zeros({2, 3});
  const auto w1 = Tensor<float>::zeros({6, 3}), b1 = Tensor<float>::zeros({6});
  const auto w2 = Tensor<float>::zeros({2, 6}), b2 = Tensor<float>::zeros({2});
  CHORD_CHECK_ERROR(gelu_mlp(Tensor<float>::zeros({2, 4}), w1, b1, w2, b2),
                    "gelu_mlp: input of shape [2,4] does not match the fc weight of shape [6,3]");
  CHORD_CHECK_ERROR(gelu_mlp(x, w1, b1, Tensor<float>::zeros({2, 5}), b2),
                    "gelu_mlp: the proj weight of shape [2,5] does not match the fc weight of shape [6,3]");
  CHORD_CHECK_ERROR(gelu_mlp(x, w1, Tensor<float>::zeros({5}), w2, b2),
                    "gelu_mlp: the fc bias of shape [5] does not match its weight of shape [6,3]: expected [6]");
  CHORD_CHECK_ERROR(gelu_mlp(x, w1, b1, w2, Tensor<float>::zeros({6})),
                    "gelu_mlp: the proj bias of shape [6] does not match its weight of shape [2,6]: expected [2]");
  CHORD_CHECK_ERROR(gelu_mlp(x, Tensor<float>::zeros({6}), b1, w2, b2), "gelu_mlp: the weights must be 2-D");
  CHORD_CHECK_ERROR(gelu_mlp(x, Tensor<float>(), b1, w2, b2), "gelu_mlp: the fc weight tensor is undefined");
}

TEST_CASE("nn::MLP runs gelu_mlp: the same output as its layers one by one") {
  Generator gen(3);
  nn::GPTConfig config{.vocab_size = 16, .context_length = 8, .n_layer = 1, .n_head = 2, .n_embd = 16};
  nn::MLP<float> mlp(config, gen);
  const auto x = Tensor<float>::randn({2, 8, 16}, gen);
  check_close(mlp.forward(x), mlp.c_proj->forward(gelu(mlp.c_fc->forward(x))), 1e-5, 1e-5);
}

// ---- the fused products on the CPU ---------------------------------------------------------

namespace {

// An epilogue that adds 1000 * (i + 1) + (j + 1) to C[i, j]: what it wrote shows that it saw every
// element once, at the right (i, j).
struct MarkEpilogue {
  static void apply(const void*, double* c, int64_t c_rs, int64_t i0, int64_t j0, int64_t m, int64_t n) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * c_rs + j] += 1000.0 * (i0 + i + 1) + (j0 + j + 1);
  }
};

}  // namespace

TEST_CASE("cpu::gemm_fused: the epilogue sees each element of C once, A's row sums are in k order, on every path") {
  const chord::testing::ThreadCount restore;
  std::mt19937 rng(5);
  struct Sizes {
    int64_t M, N, K;
  };
  // direct rows and dots paths, C^T's few-columns path, the packed path (one and several K
  // blocks, partial tiles), an empty sum
  for (const Sizes s : {Sizes{3, 40, 30}, Sizes{2, 1, 50}, Sizes{60, 5, 70}, Sizes{61, 37, 45}, Sizes{130, 70, 300},
                        Sizes{20, 30, 0}}) {
    for (cpu::Isa isa : chord::testing::testable_isas()) {
      for (int threads : {1, 2}) {
        INFO(s.M << " x " << s.N << " x " << s.K << ", " << std::string(cpu::isa_name(isa)) << ", " << threads << " threads");
        const cpu::IsaLimitGuard limit(isa);
        cpu::set_num_threads(threads);
        const cpu::gemm_kernel::BlockingOverrideGuard blocks(chord::testing::kSmallBlocks);
        // A read transposed (as dY^T is), B row-major.
        chord::testing::StridedMatrix<double> a(s.M, s.K, {1, s.M}, rng), b(s.K, s.N, {s.N, 1}, rng);
        {  // A's row sums: the same bits as one chain over k in order
          std::vector<double> c(s.M * s.N), sums(s.M, -1.0);
          cpu::gemm_fused<double>(s.M, s.N, s.K, a.buf.data(), a.rs, a.cs, b.buf.data(), b.rs, b.cs, c.data(), s.N, 1,
                                  cpu::GemmExtras<double>{.a_row_sums = sums.data()});
          for (int64_t i = 0; i < s.M; ++i) {
            double want = 0;
            for (int64_t k = 0; k < s.K; ++k) want += a.at(i, k);
            CHECK(sums[i] == want);
          }
        }
        for (auto* m : {&a, &b})  // small integers: every sum exact, so C - the plain product is what the epilogue added
          for (int64_t i = 0; i < m->rows; ++i)
            for (int64_t j = 0; j < m->cols; ++j) m->at(i, j) = std::round(2 * m->at(i, j));
        std::vector<double> c(s.M * s.N), plain(s.M * s.N), sums(s.M, -1.0);
        cpu::GemmExtras<double> extras{.a_row_sums = sums.data()};
        extras.epilogue = {&MarkEpilogue::apply, nullptr};
        cpu::gemm_fused<double>(s.M, s.N, s.K, a.buf.data(), a.rs, a.cs, b.buf.data(), b.rs, b.cs, c.data(), s.N, 1,
                                extras);
        cpu::gemm<double>(s.M, s.N, s.K, 1.0, a.buf.data(), a.rs, a.cs, b.buf.data(), b.rs, b.cs, plain.data(), s.N, 1);
        for (int64_t i = 0; i < s.M; ++i) {
          double want = 0;
          for (int64_t k = 0; k < s.K; ++k) want += a.at(i, k);
          CHECK(sums[i] == want);
          for (int64_t j = 0; j < s.N; ++j) CHECK(c[i * s.N + j] - plain[i * s.N + j] == 1000.0 * (i + 1) + (j + 1));
        }
      }
    }
  }
}

TEST_CASE("linear's bias gradient from the fused product equals the sum of dY's rows") {
  const cpu::gemm_kernel::BlockingOverrideGuard blocks(chord::testing::kSmallBlocks);
  Generator gen(9);
  for (int64_t rows : {5, 100}) {  // the direct path; the packed path over several K blocks
    const auto x = Tensor<float>::randn({rows, 24}, gen).set_requires_grad();
    const auto w = Tensor<float>::randn({40, 24}, gen).set_requires_grad();
    const auto b = Tensor<float>::randn({40}, gen).set_requires_grad();
    const auto dy = Tensor<float>::randn({rows, 40}, gen);
    linear(x, w, b).backward(dy);
    check_close(b.grad(), sum(dy, Shape{0}), 1e-5, 1e-5);
    check_close(w.grad(), matmul(dy.t(), x.detach()), 1e-5, 1e-5);
  }
}
