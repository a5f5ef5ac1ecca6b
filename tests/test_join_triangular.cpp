// cat, stack, split, chunk; tril, triu, causal_mask: values, shapes, views,
// gradients and errors.

#include "test_util.hpp"

using namespace chord;
using chord::testing::Inputs;
using chord::testing::TensorD;

TEST_CASE("cat joins along any dim, including non-contiguous inputs") {
  const auto a = tensor<double>({{1, 2}, {3, 4}});
  const auto b = tensor<double>({{5, 6}});
  const auto rows = cat({a, b}, 0);
  CHECK(rows.shape() == Shape{3, 2});
  chord::testing::check_values(rows, {1, 2, 3, 4, 5, 6});

  const auto cols = cat({a, a.t(), tensor<double>({{9}, {9}})}, 1);
  CHECK(cols.shape() == Shape{2, 5});
  chord::testing::check_values(cols, {1, 2, 1, 3, 9, 3, 4, 2, 4, 9});

  const auto last = cat(std::vector<TensorD>{a, b.t().reshape({1, 2})}, -2);  // a vector works too
  chord::testing::check_values(last, {1, 2, 3, 4, 5, 6});

  // empty pieces, integer tensors
  CHECK(cat({a, Tensor<double>::zeros({0, 2})}, 0).shape() == Shape{2, 2});
  CHECK(cat({chord::tensor<int64_t>({1, 2}), chord::tensor<int64_t>({3})}).to_vector() == std::vector<int64_t>{1, 2, 3});
}

TEST_CASE("stack adds a new dim at any position") {
  const auto a = tensor<double>({1, 2, 3});
  const auto b = tensor<double>({4, 5, 6});
  const auto s0 = stack({a, b});
  CHECK(s0.shape() == Shape{2, 3});
  chord::testing::check_values(s0, {1, 2, 3, 4, 5, 6});
  const auto s1 = stack({a, b}, 1);
  CHECK(s1.shape() == Shape{3, 2});
  chord::testing::check_values(s1, {1, 4, 2, 5, 3, 6});
  const auto m = tensor<double>({{1, 2}, {3, 4}});
  const auto s_last = stack({m, m.t()}, -1);  // [2, 2, 2]
  CHECK(s_last.shape() == Shape{2, 2, 2});
  chord::testing::check_values(s_last, {1, 1, 2, 3, 3, 2, 4, 4});
  const auto scalars = stack({Tensor<double>::scalar(7), Tensor<double>::scalar(8)});
  CHECK(scalars.shape() == Shape{2});
  chord::testing::check_values(scalars, {7, 8});
}

TEST_CASE("split and chunk return views of the input, the last piece smaller") {
  const auto x = Tensor<double>::arange(0, 14).reshape({7, 2});
  const auto parts = split(x, 3, 0);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].shape() == Shape{3, 2});
  CHECK(parts[2].shape() == Shape{1, 2});
  chord::testing::check_values(parts[1], {6, 7, 8, 9, 10, 11});
  chord::testing::check_values(parts[2], {12, 13});
  for (const auto& p : parts) CHECK(p.is_alias_of(x));

  const auto sized = split(x, std::vector<int64_t>{2, 0, 5}, 0);
  REQUIRE(sized.size() == 3);
  CHECK(sized[1].shape() == Shape{0, 2});
  chord::testing::check_values(sized[2], {4, 5, 6, 7, 8, 9, 10, 11, 12, 13});

  const auto columns = split(x, 1, 1);
  REQUIRE(columns.size() == 2);
  chord::testing::check_values(columns[1], {1, 3, 5, 7, 9, 11, 13});
  CHECK(columns[1].is_alias_of(x));

  const auto chunks = chunk(x, 3, 0);  // ceil(7 / 3) = 3 rows each: 3, 3, 1
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[2].shape() == Shape{1, 2});
  CHECK(chunk(x, 4, 0).size() == 4);  // 2, 2, 2, 1
  CHECK(chunk(Tensor<double>::zeros({6}), 4).size() == 3);  // 2, 2, 2: torch.chunk may return fewer
  CHECK(chunk(x, 2, 1)[0].shape() == Shape{7, 1});

  // writing through a piece changes x
  {
    NoGradGuard guard;
    Tensor<double> first = parts[0];
    first.fill_(-1);
  }
  CHECK(x.at({2, 1}) == -1);
  CHECK(x.at({3, 0}) == 6);
}

TEST_CASE("split then cat gives the input back, with its gradient") {
  auto x = chord::testing::leaf({5, 3}, 1);
  CHORD_CHECK_GRADCHECK([](const Inputs& in) { return cat(split(in[0], 2, 0), 0) * 2.0; }, {x});
  CHECK(cat(chunk(x, 2, 1), 1).to_vector() == x.to_vector());
}

TEST_CASE("cat and stack gradients match finite differences on non-contiguous inputs") {
  using chord::testing::leaf;
  using chord::testing::strided_leaf;
  using chord::testing::transposed_leaf;
  auto cat0 = [](const Inputs& in) { return cat({in[0], in[1], in[2]}, 0); };
  CHORD_CHECK_GRADCHECK(cat0, {leaf({2, 3}, 1), transposed_leaf({2, 3}, 2), strided_leaf({2, 3}, 3)});
  auto cat1 = [](const Inputs& in) { return cat({in[0], in[1]}, 1); };
  CHORD_CHECK_GRADCHECK(cat1, {transposed_leaf({2, 3}, 4), strided_leaf({2, 2}, 5)});
  // the same tensor twice, and an input that needs no gradient
  CHORD_CHECK_GRADCHECK([](const Inputs& in) { return cat({in[0], in[0], Tensor<double>::ones({1, 2})}, 0); },
                        {leaf({2, 2}, 6)});

  auto stack1 = [](const Inputs& in) { return stack({in[0], in[1]}, 1); };
  CHORD_CHECK_GRADCHECK(stack1, {transposed_leaf({2, 3}, 7), strided_leaf({2, 3}, 8)});
  auto stack_last = [](const Inputs& in) { return stack({in[0], in[1], in[0]}, -1); };
  CHORD_CHECK_GRADCHECK(stack_last, {leaf({3, 2}, 9), transposed_leaf({3, 2}, 10)});
}

TEST_CASE("cat, stack, split and chunk name the shapes and sizes that do not fit") {
  const auto a = Tensor<double>::zeros({2, 3});
  CHORD_CHECK_ERROR(cat(std::vector<TensorD>{}, 0), "cat: expected a non-empty list of tensors");
  CHORD_CHECK_ERROR(cat({a, Tensor<double>::zeros({2, 4})}, 0),
                    "cat: tensor 1 has shape [2,4] but tensor 0 has shape [2,3]: sizes must match except in dim 0 "
                    "(they differ in dim 1)");
  CHORD_CHECK_ERROR(cat({a, Tensor<double>::zeros({3})}, 0), "cat: tensor 1 has shape [3] but tensor 0 has shape [2,3]");
  CHORD_CHECK_ERROR(cat({a, a}, 2), "cat: dim 2 is out of range");
  CHORD_CHECK_ERROR(cat({Tensor<double>::scalar(1), Tensor<double>::scalar(2)}, 0), "cat: a 0-d tensor");
  CHORD_CHECK_ERROR(cat({a, TensorD()}, 0), "cat: tensor 1 of the list is undefined");

  CHORD_CHECK_ERROR(stack(std::vector<TensorD>{}), "stack: expected a non-empty list of tensors");
  CHORD_CHECK_ERROR(stack({a, a.t()}), "stack: tensor 1 has shape [3,2] but tensor 0 has shape [2,3]");
  CHORD_CHECK_ERROR(stack({a, a}, 3), "stack: dim 3 is out of range");

  CHORD_CHECK_ERROR(split(a, 0, 0), "split: split_size must be positive, got 0");
  CHORD_CHECK_ERROR(split(a, std::vector<int64_t>{1, 1}, 1),
                    "split: sizes [1,1] sum to 2 but dim 1 of the input of shape [2,3] has size 3");
  CHORD_CHECK_ERROR(split(a, std::vector<int64_t>{4, -1}, 1), "split: sizes [4,-1] contain the negative size -1");
  CHORD_CHECK_ERROR(chunk(a, 0, 0), "chunk: the number of chunks must be positive, got 0");
}

TEST_CASE("tril and triu keep the triangle relative to the given diagonal") {
  const auto x = Tensor<double>::arange(1, 13).reshape({3, 4});  // [[1,2,3,4],[5,6,7,8],[9,10,11,12]]
  chord::testing::check_values(tril(x), {1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0});
  chord::testing::check_values(tril(x, 1), {1, 2, 0, 0, 5, 6, 7, 0, 9, 10, 11, 12});
  chord::testing::check_values(tril(x, -1), {0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0});
  chord::testing::check_values(triu(x), {1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12});
  chord::testing::check_values(triu(x, 1), {0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12});
  chord::testing::check_values(triu(x, -1), {1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 11, 12});
  // diagonals past the matrix keep all or nothing
  CHECK(tril(x, 10).to_vector() == x.to_vector());
  CHECK(triu(x, 10).to_vector() == std::vector<double>(12, 0.0));
  CHECK(tril(x, -10).to_vector() == std::vector<double>(12, 0.0));
}

TEST_CASE("tril and triu work on batches and on transposed views") {
  const auto x = Tensor<double>::arange(1, 9).reshape({2, 2, 2});
  chord::testing::check_values(tril(x), {1, 0, 3, 4, 5, 0, 7, 8});
  chord::testing::check_values(triu(x, 1), {0, 2, 0, 0, 0, 6, 0, 0});
  const auto xt = x.transpose(1, 2);  // [[1,3],[2,4]], [[5,7],[6,8]]
  chord::testing::check_values(tril(xt), {1, 0, 2, 4, 5, 0, 6, 8});
  const auto xb = x.transpose(0, 2);  // batch dim non-contiguous too: [[1,5],[3,7]], [[2,6],[4,8]]
  chord::testing::check_values(triu(xb), {1, 5, 0, 7, 2, 6, 0, 8});
  CHECK(tril(chord::tensor<int64_t>({{1, 2}, {3, 4}})).to_vector() == std::vector<int64_t>{1, 0, 3, 4});
}

TEST_CASE("tril and triu gradients are masked the same way") {
  using chord::testing::leaf;
  for (int64_t k : {-1, 0, 1}) {
    CAPTURE(k);
    CHORD_CHECK_GRADCHECK([k](const Inputs& in) { return tril(in[0], k); }, {leaf({3, 4}, 1)});
    CHORD_CHECK_GRADCHECK([k](const Inputs& in) { return triu(in[0], k); }, {chord::testing::transposed_leaf({2, 3, 3}, 2)});
  }
  CHORD_CHECK_GRADCHECK([](const Inputs& in) { return tril(in[0]); }, {chord::testing::strided_leaf({2, 2, 3}, 3)});
  auto x = Tensor<double>::zeros({2, 2});
  x.set_requires_grad();
  triu(x).sum().backward();
  chord::testing::check_values(x.grad(), {1, 1, 0, 1});
}

TEST_CASE("causal_mask is true exactly above the diagonal") {
  const auto m = causal_mask(3);
  CHECK(m.shape() == Shape{3, 3});
  CHECK(m.to_vector() == std::vector<bool>{false, true, true, false, false, true, false, false, false});
  CHECK(causal_mask(0).shape() == Shape{0, 0});
  // it marks what triu(ones, 1) keeps
  CHECK(m.to_vector() == triu(Tensor<bool>::ones({3, 3}), 1).to_vector());
}

TEST_CASE("tril, triu and causal_mask reject bad arguments") {
  CHORD_CHECK_ERROR(tril(Tensor<double>::zeros({3})), "tril: expects a tensor with at least 2 dims");
  CHORD_CHECK_ERROR(triu(Tensor<double>::scalar(1)), "triu: expects a tensor with at least 2 dims");
  CHORD_CHECK_ERROR(causal_mask(-1), "causal_mask: size must be non-negative, got -1");
}
