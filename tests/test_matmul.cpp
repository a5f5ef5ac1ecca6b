// matmul and linear: values, PyTorch's shape rules (1-D promotion, batch
// broadcasting), strided operands, thread-count determinism, gradients, errors.

#include <cstring>

#include "test_util.hpp"

using namespace chord;
using chord::testing::Inputs;
using chord::testing::TensorD;

namespace {

// C[b, i, j] = sum_k A[b, i, k] * B[b, k, j] in double, over a batch whose
// operands are given by their (broadcast) batch index -> flat row-major data.
std::vector<double> naive_batched(const std::vector<double>& a, const std::vector<double>& b, int64_t batch,
                                  int64_t M, int64_t K, int64_t N, const std::vector<int64_t>& a_index,
                                  const std::vector<int64_t>& b_index) {
  std::vector<double> c(batch * M * N, 0.0);
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += a[(a_index[n] * M + i) * K + k] * b[(b_index[n] * K + k) * N + j];
        c[(n * M + i) * N + j] = s;
      }
  return c;
}

using chord::testing::ThreadCount;

}  // namespace

TEST_CASE("matmul of a 2x3 and a 3x2 matrix gives the hand-computed product") {
  const auto a = tensor<double>({{1, 2, 3}, {4, 5, 6}});
  const auto b = tensor<double>({{7, 8}, {9, 10}, {11, 12}});
  const auto c = matmul(a, b);
  CHECK(c.shape() == Shape{2, 2});
  chord::testing::check_values(c, {58, 64, 139, 154});
  // float too
  chord::testing::check_values(matmul(tensor<float>({{1, 2, 3}, {4, 5, 6}}), tensor<float>({{7, 8}, {9, 10}, {11, 12}})),
                               {58, 64, 139, 154});
}

TEST_CASE("matmul promotes 1-D operands like PyTorch and removes the added dim") {
  const auto v = tensor<double>({1, 2, 3});
  const auto w = tensor<double>({4, 5, 6});
  const auto m = tensor<double>({{1, 2, 3}, {4, 5, 6}});  // [2, 3]

  const auto dot = matmul(v, w);
  CHECK(dot.dim() == 0);
  CHECK(dot.item() == 32.0);

  const auto mv = matmul(m, v);  // [2, 3] @ [3] -> [2]
  CHECK(mv.shape() == Shape{2});
  chord::testing::check_values(mv, {14, 32});

  const auto vm = matmul(tensor<double>({1, 2}), m);  // [2] @ [2, 3] -> [3]
  CHECK(vm.shape() == Shape{3});
  chord::testing::check_values(vm, {9, 12, 15});

  // [3] @ [2, 3, 2] -> [2, 2] and [2, 2, 3] @ [3] -> [2, 2]
  const auto batch_b = Tensor<double>::arange(0, 12).reshape({2, 3, 2});
  const auto vb = matmul(v, batch_b);
  CHECK(vb.shape() == Shape{2, 2});
  chord::testing::check_values(vb, {16, 22, 52, 58});
  const auto batch_a = Tensor<double>::arange(0, 12).reshape({2, 2, 3});
  const auto av = matmul(batch_a, v);
  CHECK(av.shape() == Shape{2, 2});
  chord::testing::check_values(av, {8, 26, 44, 62});
}

TEST_CASE("matmul broadcasts batch dims: [2,1,3,4] @ [5,4,2] -> [2,5,3,2] matches a naive loop") {
  Generator gen(1);
  const auto a = Tensor<double>::randn({2, 1, 3, 4}, gen);
  const auto b = Tensor<double>::randn({5, 4, 2}, gen);
  const auto c = matmul(a, b);
  CHECK(c.shape() == Shape{2, 5, 3, 2});
  std::vector<int64_t> ai, bi;  // batch (i, j) of [2, 5] reads a[i, 0] and b[j]
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      ai.push_back(i);
      bi.push_back(j);
    }
  chord::testing::check_values(c, naive_batched(a.to_vector(), b.to_vector(), 10, 3, 4, 2, ai, bi), 1e-12);
}

TEST_CASE("matmul of a batch by one matrix, and of one matrix by a batch, match a naive loop") {
  Generator gen(2);
  const auto a = Tensor<double>::randn({2, 3, 4, 5}, gen);
  const auto w = Tensor<double>::randn({5, 6}, gen);
  const auto c = matmul(a, w);  // rows of a merged into one product
  CHECK(c.shape() == Shape{2, 3, 4, 6});
  chord::testing::check_values(c, naive_batched(a.to_vector(), w.to_vector(), 6, 4, 5, 6, {0, 1, 2, 3, 4, 5}, {0, 0, 0, 0, 0, 0}),
                               1e-12);

  // the same with a transposed batch (its rows cannot be merged: batched path)
  const auto at = Tensor<double>::randn({2, 3, 5, 4}, gen).transpose(-1, -2);
  chord::testing::check_close(matmul(at, w), matmul(at.contiguous(), w), 1e-12, 1e-12);

  const auto m = Tensor<double>::randn({4, 5}, gen);
  const auto bb = Tensor<double>::randn({3, 5, 2}, gen);
  const auto d = matmul(m, bb);
  CHECK(d.shape() == Shape{3, 4, 2});
  chord::testing::check_values(d, naive_batched(m.to_vector(), bb.to_vector(), 3, 4, 5, 2, {0, 0, 0}, {0, 1, 2}), 1e-12);
}

TEST_CASE("matmul reads transposed, sliced and expanded operands in place with the same result as contiguous ones") {
  Generator gen(3);
  const auto a_base = Tensor<double>::randn({7, 5}, gen);
  const auto b_base = Tensor<double>::randn({6, 7}, gen);
  const auto a = a_base.t();  // [5, 7], row stride 1: a column-major view
  const auto b = b_base.t();  // [7, 6]
  REQUIRE_FALSE(a.is_contiguous());
  const auto ref = matmul(a.contiguous(), b.contiguous());
  chord::testing::check_close(matmul(a, b), ref, 1e-12, 1e-12);
  chord::testing::check_close(matmul(a, b.contiguous()), ref, 1e-12, 1e-12);
  chord::testing::check_close(matmul(a.contiguous(), b), ref, 1e-12, 1e-12);

  // a row-sliced block (row stride > cols) and a step-2 column slice (copied internally)
  const auto big = Tensor<double>::randn({9, 12}, gen);
  const auto rows = big.slice(0, 1, 6).slice(1, 2, 9);  // [5, 7], row stride 12
  const auto stepped = Tensor<double>::randn({7, 12}, gen).slice(1, 0, 12, 2);  // [7, 6], col stride 2
  chord::testing::check_close(matmul(rows, stepped), matmul(rows.contiguous(), stepped.contiguous()), 1e-12, 1e-12);

  // an expanded operand (stride 0) and a batched transposed one
  const auto row = Tensor<double>::randn({1, 7}, gen).expand({5, 7});
  chord::testing::check_close(matmul(row, b), matmul(row.contiguous(), b.contiguous()), 1e-12, 1e-12);
  const auto batch_t = Tensor<double>::randn({3, 7, 5}, gen).transpose(1, 2);  // [3, 5, 7]
  chord::testing::check_close(matmul(batch_t, b), matmul(batch_t.contiguous(), b.contiguous()), 1e-12, 1e-12);

  // the inputs are untouched
  CHECK(a_base.to_vector() == a.t().contiguous().to_vector());
}

TEST_CASE("a 256x256 float matmul agrees with a double-precision loop") {
  Generator gen(4);
  const int64_t n = 256;
  const auto a = Tensor<float>::randn({n, n}, gen);
  const auto b = Tensor<float>::randn({n, n}, gen);
  const auto c = matmul(a, b);
  const std::vector<float> av = a.to_vector(), bv = b.to_vector(), cv = c.to_vector();
  double worst = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += static_cast<double>(av[i * n + k]) * bv[k * n + j];
      worst = std::max(worst, std::abs(s - cv[i * n + j]) / (1.0 + std::abs(s)));
    }
  CHECK(worst < 1e-4);
}

TEST_CASE("matmul gives bit-identical results with 1 and 2 threads") {
  ThreadCount restore;
  Generator gen(5);
  // (A GEMM that splits the k loop across threads would give different bits for these sizes.)
  const auto a = Tensor<float>::randn({363, 642}, gen);
  const auto b = Tensor<float>::randn({642, 118}, gen);
  const auto c = Tensor<float>::randn({180, 588}, gen);
  const auto d = Tensor<float>::randn({329, 588}, gen).t();  // [588, 329], column-major
  const auto batch_a = Tensor<float>::randn({64, 24, 40}, gen);  // many small products
  const auto batch_b = Tensor<float>::randn({64, 40, 24}, gen);
  const auto x = Tensor<float>::randn({8, 32, 96}, gen);  // a layer: [8, 32, 96] @ W^T
  const auto w = Tensor<float>::randn({128, 96}, gen);
  const auto bias = Tensor<float>::randn({128}, gen);

  auto run = [&](int threads) {
    cpu::set_num_threads(threads);
    return std::vector<std::vector<float>>{matmul(a, b).to_vector(), matmul(batch_a, batch_b).to_vector(),
                                           linear(x, w, bias).to_vector(), matmul(a.t(), a).to_vector(),
                                           matmul(c, d).to_vector()};
  };
  const auto one = run(1), two = run(2);
  for (std::size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i);
    REQUIRE(one[i].size() == two[i].size());
    CHECK(std::memcmp(one[i].data(), two[i].data(), one[i].size() * sizeof(float)) == 0);
  }
}

TEST_CASE("matmul handles empty dims") {
  const auto c = matmul(Tensor<double>::zeros({2, 0}), Tensor<double>::zeros({0, 3}));
  CHECK(c.shape() == Shape{2, 3});
  chord::testing::check_values(c, std::vector<double>(6, 0.0));
  CHECK(matmul(Tensor<double>::zeros({0, 4}), Tensor<double>::zeros({4, 3})).shape() == Shape{0, 3});
  CHECK(matmul(Tensor<double>::zeros({0, 2, 4}), Tensor<double>::zeros({4, 3})).shape() == Shape{0, 2, 3});
}

TEST_CASE("matmul gradients match finite differences: 2-D, strided and transposed inputs") {
  using chord::testing::leaf;
  auto f = [](const Inputs& in) { return matmul(in[0], in[1]); };
  CHORD_CHECK_GRADCHECK(f, {leaf({3, 4}, 1), leaf({4, 2}, 2)});
  CHORD_CHECK_GRADCHECK(f, {chord::testing::transposed_leaf({3, 4}, 3), chord::testing::transposed_leaf({4, 2}, 4)});
  CHORD_CHECK_GRADCHECK(f, {chord::testing::strided_leaf({3, 4}, 5), leaf({4, 2}, 6)});
  // only one side requires grad
  CHORD_CHECK_GRADCHECK(f, {leaf({3, 4}, 7), Tensor<double>::randn({4, 2})});
}

TEST_CASE("matmul gradients match finite differences with broadcast batch dims") {
  using chord::testing::leaf;
  auto f = [](const Inputs& in) { return matmul(in[0], in[1]); };
  CHORD_CHECK_GRADCHECK(f, {leaf({2, 1, 3, 4}, 1), leaf({5, 4, 2}, 2)});
  CHORD_CHECK_GRADCHECK(f, {leaf({3, 4}, 3), leaf({2, 4, 2}, 4)});                      // matrix @ batch
  CHORD_CHECK_GRADCHECK(f, {leaf({2, 3, 4}, 5), leaf({4, 2}, 6)});                      // batch @ matrix (merged rows)
  CHORD_CHECK_GRADCHECK(f, {chord::testing::transposed_leaf({2, 3, 4}, 7), leaf({4, 2}, 8)});  // unmergeable rows
  CHORD_CHECK_GRADCHECK(f, {chord::testing::transposed_leaf({2, 3, 4}, 9), chord::testing::transposed_leaf({2, 4, 2}, 10)});
}

TEST_CASE("matmul gradients match finite differences for 1-D operands") {
  using chord::testing::leaf;
  auto f = [](const Inputs& in) { return matmul(in[0], in[1]); };
  CHORD_CHECK_GRADCHECK(f, {leaf({4}, 1), leaf({4}, 2)});        // dot
  CHORD_CHECK_GRADCHECK(f, {leaf({4}, 3), leaf({4, 3}, 4)});     // vector @ matrix
  CHORD_CHECK_GRADCHECK(f, {leaf({3, 4}, 5), leaf({4}, 6)});     // matrix @ vector
  CHORD_CHECK_GRADCHECK(f, {leaf({4}, 7), leaf({2, 4, 3}, 8)});  // vector @ batch
  CHORD_CHECK_GRADCHECK(f, {leaf({2, 3, 4}, 9), leaf({4}, 10)}); // batch @ vector
  CHORD_CHECK_GRADCHECK(f, {chord::testing::strided_leaf({4}, 11), leaf({4}, 12)});
}

TEST_CASE("matmul's backward accumulates when one tensor is used on both sides") {
  const auto x = chord::testing::leaf({3, 3}, 1);
  CHORD_CHECK_GRADCHECK([](const Inputs& in) { return matmul(in[0], in[0].t()); }, {x});
}

TEST_CASE("linear equals x @ W^T + b and handles 1-D and batched inputs") {
  const auto x = tensor<double>({{1, 2}, {3, 4}, {5, 6}});       // [3, 2]
  const auto w = tensor<double>({{1, 0}, {0, 1}, {1, 1}});       // [3 out, 2 in]
  const auto b = tensor<double>({10, 20, 30});
  const auto y = linear(x, w, b);
  CHECK(y.shape() == Shape{3, 3});
  chord::testing::check_values(y, {11, 22, 33, 13, 24, 37, 15, 26, 41});
  chord::testing::check_values(linear(x, w), {1, 2, 3, 3, 4, 7, 5, 6, 11});

  const auto v = linear(tensor<double>({1, 2}), w, b);
  CHECK(v.shape() == Shape{3});
  chord::testing::check_values(v, {11, 22, 33});

  Generator gen(6);
  const auto xb = Tensor<double>::randn({2, 4, 5}, gen);
  const auto wb = Tensor<double>::randn({3, 5}, gen);
  const auto bb = Tensor<double>::randn({3}, gen);
  const auto yb = linear(xb, wb, bb);
  CHECK(yb.shape() == Shape{2, 4, 3});
  chord::testing::check_close(yb, matmul(xb, wb.t()) + bb, 1e-12, 1e-12);
}

TEST_CASE("linear gradients match finite differences with and without bias") {
  using chord::testing::leaf;
  auto with_bias = [](const Inputs& in) { return linear(in[0], in[1], in[2]); };
  auto without_bias = [](const Inputs& in) { return linear(in[0], in[1]); };
  CHORD_CHECK_GRADCHECK(with_bias, {leaf({4, 3}, 1), leaf({2, 3}, 2), leaf({2}, 3)});
  CHORD_CHECK_GRADCHECK(without_bias, {leaf({4, 3}, 4), leaf({2, 3}, 5)});
  CHORD_CHECK_GRADCHECK(with_bias, {leaf({2, 3, 3}, 6), leaf({2, 3}, 7), leaf({2}, 8)});  // batched input
  CHORD_CHECK_GRADCHECK(with_bias, {leaf({3}, 9), leaf({2, 3}, 10), leaf({2}, 11)});      // 1-D input
  CHORD_CHECK_GRADCHECK(with_bias, {chord::testing::transposed_leaf({2, 3, 4}, 12), chord::testing::transposed_leaf({2, 4}, 13),
                                    chord::testing::strided_leaf({2}, 14)});
  // only the weight requires grad
  CHORD_CHECK_GRADCHECK(without_bias, {Tensor<double>::randn({4, 3}), leaf({2, 3}, 15)});
}

TEST_CASE("matmul and linear name the shapes that do not match") {
  const auto a = Tensor<double>::zeros({2, 3});
  const auto b = Tensor<double>::zeros({4, 5});
  CHORD_CHECK_ERROR(matmul(a, b), "matmul: shapes [2,3] and [4,5] do not match: the inner dims are 3 and 4");
  CHORD_CHECK_ERROR(matmul(Tensor<double>::zeros({3}), Tensor<double>::zeros({4})), "matmul: shapes [3] and [4] do not match");
  CHORD_CHECK_ERROR(matmul(Tensor<double>::zeros({2, 2, 3}), Tensor<double>::zeros({3, 3, 2})),
                    "matmul: the batch dims of shapes [2,2,3] and [3,3,2] cannot be broadcast");
  CHORD_CHECK_ERROR(matmul(Tensor<double>::scalar(1.0), a), "matmul: both arguments need at least 1 dimension");
  CHORD_CHECK_ERROR(matmul(a, Tensor<double>()), "matmul: the second tensor is undefined");

  CHORD_CHECK_ERROR(linear(a, Tensor<double>::zeros({5, 4})),
                    "linear: input of shape [2,3] does not match weight of shape [5,4]");
  CHORD_CHECK_ERROR(linear(a, Tensor<double>::zeros({3})), "linear: weight must be 2-D");
  CHORD_CHECK_ERROR(linear(a, Tensor<double>::zeros({5, 3}), Tensor<double>::zeros({4})),
                    "linear: bias of shape [4] does not match weight of shape [5,3]");
}
