// embedding, index_select, gather: values, accumulated gradients for repeated
// indices, gradients against finite differences, and the errors for bad indices.

#include <cstring>

#include "test_util.hpp"

using namespace chord;
using chord::testing::Inputs;

namespace {

Tensor<int64_t> ids(std::initializer_list<int64_t> v) { return chord::tensor<int64_t>(v); }
Tensor<int64_t> ids2(std::initializer_list<std::initializer_list<int64_t>> v) { return chord::tensor<int64_t>(v); }

}  // namespace

TEST_CASE("embedding looks up rows of the weight for ids of any shape") {
  const auto w = tensor<double>({{0, 1}, {10, 11}, {20, 21}, {30, 31}});  // [4, 2]
  const auto out = embedding(w, ids2({{3, 0, 1}, {1, 1, 2}}));
  CHECK(out.shape() == Shape{2, 3, 2});
  chord::testing::check_values(out, {30, 31, 0, 1, 10, 11, 10, 11, 10, 11, 20, 21});

  const auto one = embedding(w, Tensor<int64_t>::scalar(2));  // 0-d ids -> [D]
  CHECK(one.shape() == Shape{2});
  chord::testing::check_values(one, {20, 21});

  // a transposed weight view and non-contiguous ids
  const auto wt = tensor<double>({{0, 10, 20, 30}, {1, 11, 21, 31}}).t();  // [4, 2], the same values as w
  const auto strided_ids = ids({3, 9, 0, 9, 2}).slice(0, 0, 5, 2);          // {3, 0, 2}
  chord::testing::check_values(embedding(wt, strided_ids), {30, 31, 0, 1, 20, 21});

  // integer tables work too (no gradient)
  const auto table = chord::tensor<int64_t>({{5, 6}, {7, 8}});
  CHECK(embedding(table, ids({1, 0})).to_vector() == std::vector<int64_t>{7, 8, 5, 6});
}

TEST_CASE("embedding accumulates the gradient of repeated ids into the same row") {
  auto w = Tensor<double>::zeros({4, 3});
  w.set_requires_grad();
  const auto out = embedding(w, ids2({{1, 3, 1}, {1, 0, 3}}));  // id 1 three times, 3 twice, 2 never
  Tensor<double> g = Tensor<double>::arange(1, 19).reshape({2, 3, 3});
  out.backward(g);
  // row 1 gets positions 0, 2, 3: (1,2,3) + (7,8,9) + (10,11,12); row 3 gets 1, 5; row 0 gets 4
  chord::testing::check_values(w.grad(), {13, 14, 15, 1 + 7 + 10, 2 + 8 + 11, 3 + 9 + 12, 0, 0, 0, 4 + 16, 5 + 17,
                                          6 + 18});
}

TEST_CASE("embedding's gradient is bit-identical with 1 and 2 threads") {
  const int saved = cpu::num_threads();
  Generator gen(3);
  const auto id = Tensor<int64_t>::randint(0, 50, {64, 300}, gen);  // many repeats
  const auto g = Tensor<float>::randn({64, 300, 32}, gen);
  std::vector<float> grads[2];
  for (int threads : {1, 2}) {
    cpu::set_num_threads(threads);
    auto w = Tensor<float>::randn({50, 32}, gen);
    w.set_requires_grad();
    embedding(w, id).backward(g);
    grads[threads - 1] = w.grad().to_vector();
  }
  cpu::set_num_threads(saved);
  CHECK(std::memcmp(grads[0].data(), grads[1].data(), grads[0].size() * sizeof(float)) == 0);
}

TEST_CASE("embedding gradients match finite differences") {
  const auto id = ids2({{2, 0, 2}, {1, 2, 4}});
  auto f = [id](const Inputs& in) { return embedding(in[0], id); };
  CHORD_CHECK_GRADCHECK(f, {chord::testing::leaf({5, 3}, 1)});
  CHORD_CHECK_GRADCHECK(f, {chord::testing::transposed_leaf({5, 3}, 2)});
  CHORD_CHECK_GRADCHECK(f, {chord::testing::strided_leaf({5, 3}, 3)});
}

TEST_CASE("embedding rejects ids out of range, negative ids and bad shapes with the position and range") {
  const auto w = Tensor<double>::zeros({5, 2});
  CHORD_CHECK_ERROR(embedding(w, ids2({{0, 1, 2}, {3, 7, 0}})),
                    "embedding: id 7 at position [1,1] is out of range: it must be in [0, 5)");
  CHORD_CHECK_ERROR(embedding(w, ids({0, -1})), "embedding: id -1 at position [1] is negative");
  CHORD_CHECK_ERROR(embedding(Tensor<double>::zeros({5}), ids({0})), "embedding: weight must be 2-D");
  CHORD_CHECK_ERROR(embedding(w, Tensor<float>::zeros({2})), "embedding: ids must be an int64 tensor, got float32");
  CHORD_CHECK_ERROR(embedding(w, Tensor<bool>::zeros({2})), "embedding: ids must be an int64 tensor, got bool");
}

TEST_CASE("index_select picks slices along any dim") {
  const auto x = Tensor<double>::arange(0, 24).reshape({2, 3, 4});
  const auto rows = index_select(x, 1, ids({2, 0, 2}));
  CHECK(rows.shape() == Shape{2, 3, 4});
  chord::testing::check_values(rows, {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11, 20, 21, 22, 23, 12, 13, 14, 15, 20, 21,
                                      22, 23});
  const auto cols = index_select(x, -1, ids({3, 1}));
  CHECK(cols.shape() == Shape{2, 3, 2});
  chord::testing::check_values(cols, {3, 1, 7, 5, 11, 9, 15, 13, 19, 17, 23, 21});
  const auto first = index_select(x, 0, ids({1}));
  CHECK(first.shape() == Shape{1, 3, 4});
  CHECK(first.at({0, 2, 3}) == 23);
  CHECK(index_select(x.transpose(0, 2), 0, ids({3})).to_vector() == std::vector<double>{3, 15, 7, 19, 11, 23});
  CHECK(index_select(x, 2, Tensor<int64_t>::zeros({0})).shape() == Shape{2, 3, 0});
}

TEST_CASE("index_select gradients match finite differences and accumulate repeats") {
  const auto index = ids({2, 0, 2, 2});
  auto f = [index](const Inputs& in) { return index_select(in[0], 1, index); };
  CHORD_CHECK_GRADCHECK(f, {chord::testing::leaf({2, 3, 2}, 1)});
  CHORD_CHECK_GRADCHECK(f, {chord::testing::transposed_leaf({2, 3, 2}, 2)});
  auto g = [index](const Inputs& in) { return index_select(in[0], -1, index); };
  CHORD_CHECK_GRADCHECK(g, {chord::testing::strided_leaf({2, 3}, 3)});

  auto x = Tensor<double>::zeros({3});
  x.set_requires_grad();
  index_select(x, 0, index).sum().backward();
  chord::testing::check_values(x.grad(), {1, 0, 3});
}

TEST_CASE("index_select rejects bad indices, index shapes and dtypes") {
  const auto x = Tensor<double>::zeros({2, 4});
  CHORD_CHECK_ERROR(index_select(x, 1, ids({0, 4})),
                    "index_select: index 4 at position [1] is out of range: it must be in [0, 4) for dim 1 of size 4");
  CHORD_CHECK_ERROR(index_select(x, 1, ids({-1})), "index_select: index -1 at position [0] is negative");
  CHORD_CHECK_ERROR(index_select(x, 0, ids2({{0}, {1}})), "index_select: index must be 1-D, got shape [2,1]");
  CHORD_CHECK_ERROR(index_select(x, 2, ids({0})), "index_select: dim 2 is out of range");
  CHORD_CHECK_ERROR(index_select(x, 0, Tensor<double>::zeros({1})), "index_select: index must be an int64 tensor");
}

TEST_CASE("gather follows PyTorch: out[i][j] = x[i][index[i][j]] along dim 1, x[index[i][j]][j] along dim 0") {
  const auto x = tensor<double>({{1, 2, 3}, {4, 5, 6}});  // [2, 3]
  const auto along1 = gather(x, 1, ids2({{2, 0}, {1, 1}}));
  CHECK(along1.shape() == Shape{2, 2});
  chord::testing::check_values(along1, {3, 1, 5, 5});
  const auto along0 = gather(x, 0, ids2({{1, 0, 1}}));
  CHECK(along0.shape() == Shape{1, 3});
  chord::testing::check_values(along0, {4, 2, 6});
  // a smaller index in the other dims, and a transposed input
  chord::testing::check_values(gather(x, 1, ids2({{1}})), {2});
  chord::testing::check_values(gather(x.t(), 0, ids2({{1, 0}, {2, 2}})), {2, 4, 3, 6});  // x.t() = [[1,4],[2,5],[3,6]]

  // the log-prob pattern: pick one entry of the last dim per row
  const auto logits = Tensor<double>::arange(0, 24).reshape({2, 3, 4});
  const auto picked = gather(logits, -1, chord::Tensor<int64_t>::from_vector({1, 3, 0, 2, 2, 1}, {2, 3, 1}));
  CHECK(picked.shape() == Shape{2, 3, 1});
  chord::testing::check_values(picked, {1, 7, 8, 14, 18, 21});
}

TEST_CASE("gather gradients scatter-add into the input and match finite differences") {
  const auto index = ids2({{2, 0, 2}, {1, 1, 1}});
  auto f = [index](const Inputs& in) { return gather(in[0], 1, index); };
  CHORD_CHECK_GRADCHECK(f, {chord::testing::leaf({2, 3}, 1)});
  CHORD_CHECK_GRADCHECK(f, {chord::testing::transposed_leaf({2, 3}, 2)});
  CHORD_CHECK_GRADCHECK(f, {chord::testing::strided_leaf({3, 3}, 3)});  // index smaller than x in dim 0
  auto g = [](const Inputs& in) { return gather(in[0], 0, ids2({{1, 0}, {1, 1}, {0, 1}})); };
  CHORD_CHECK_GRADCHECK(g, {chord::testing::leaf({2, 3}, 4)});

  auto x = Tensor<double>::zeros({2, 3});
  x.set_requires_grad();
  gather(x, 1, index).sum().backward();
  chord::testing::check_values(x.grad(), {1, 0, 2, 0, 3, 0});
}

TEST_CASE("gather rejects bad indices, index shapes and dtypes") {
  const auto x = Tensor<double>::zeros({2, 3});
  CHORD_CHECK_ERROR(gather(x, 1, ids2({{0, 3}})),
                    "gather: index 3 at position [0,1] is out of range: it must be in [0, 3) for dim 1 of size 3");
  CHORD_CHECK_ERROR(gather(x, 0, ids2({{0, -2}})), "gather: index -2 at position [0,1] is negative");
  CHORD_CHECK_ERROR(gather(x, 1, ids({0, 1})), "gather: index of shape [2] has 1 dims but the input of shape [2,3] has 2");
  CHORD_CHECK_ERROR(gather(x, 1, ids2({{0}, {0}, {0}})), "gather: index of shape [3,1] is larger than the input of shape [2,3] in dim 0");
  CHORD_CHECK_ERROR(gather(x, 1, Tensor<bool>::zeros({2, 1})), "gather: index must be an int64 tensor, got bool");
}
