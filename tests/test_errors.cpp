// Bad input raises chord::Error whose message starts with the op's name and
// names the offending shapes, dims, indices or devices.

#include <initializer_list>
#include <string>

#include "test_skip.hpp"
#include "test_util.hpp"

using namespace chord;
using chord::testing::TensorD;

namespace {

// CHECKs that f throws chord::Error whose message starts with "<op>: " and
// contains every one of `parts`.
template <class F>
void check_error(F&& f, const std::string& op, std::initializer_list<std::string> parts = {}) {
  std::string message;
  bool threw = false;
  try {
    f();
  } catch (const chord::Error& e) {
    threw = true;
    message = e.what();
  }
  INFO("expected a chord::Error from " << op << ", got message: \"" << message << "\"");
  REQUIRE(threw);
  CHECK(message.rfind(op + ": ", 0) == 0);
  for (const auto& part : parts) {
    INFO("missing \"" << part << "\"");
    CHECK(message.find(part) != std::string::npos);
  }
}

TensorD m23() { return TensorD::zeros({2, 3}); }

}  // namespace

TEST_CASE("chord::Error is a std::runtime_error and check/fail prefix the op name") {
  CHECK_THROWS_AS(chord::fail("myop", "bad ", 3), std::runtime_error);
  check_error([] { chord::fail("myop", "value ", 3, " and shape ", Shape{2, 3}); }, "myop", {"value 3", "[2,3]"});
  check_error([] { chord::check(false, "other", "x=", 1.5); }, "other", {"x=1.5"});
  CHECK_NOTHROW(chord::check(true, "never", "fires"));
}

TEST_CASE("a broadcast mismatch names the op and both shapes") {
  const auto a = m23(), b = TensorD::zeros({4}), c = TensorD::zeros({3, 2});
  check_error([&] { (void)(a + b); }, "add", {"[2,3]", "[4]"});
  check_error([&] { (void)(a - b); }, "add", {"[2,3]", "[4]"});
  check_error([&] { (void)(a * c); }, "mul", {"[2,3]", "[3,2]"});
  check_error([&] { (void)(a / c); }, "div", {"[2,3]", "[3,2]"});
  check_error([&] { (void)chord::pow(a, c); }, "pow", {"[2,3]", "[3,2]"});
  check_error([&] { (void)chord::maximum(a, b); }, "maximum", {"[2,3]", "[4]"});
  check_error([&] { (void)chord::minimum(a, b); }, "minimum", {"[2,3]", "[4]"});
  check_error([&] { (void)chord::eq(a, b); }, "eq", {"[2,3]", "[4]"});
  check_error([&] { (void)chord::lt(a, c); }, "lt", {"[2,3]", "[3,2]"});
  // 3-D against 2-D: the trailing dims disagree
  check_error([&] { (void)(TensorD::zeros({5, 2, 3}) + TensorD::zeros({3, 3})); }, "add", {"[5,2,3]", "[3,3]"});
}

TEST_CASE("where and masked_fill name their op and the shapes that do not broadcast") {
  const auto a = m23();
  check_error([&] { (void)chord::where(Tensor<bool>::zeros({4}), a, a); }, "where", {"[4]"});
  check_error([&] { (void)chord::where(Tensor<bool>::zeros({3}), a, TensorD::zeros({3, 3})); }, "where",
              {"[3,3]"});
  check_error([&] { (void)chord::masked_fill(a, Tensor<bool>::zeros({3, 3}), 0.0); }, "masked_fill",
              {"[2,3]", "[3,3]"});
  // a mask that broadcasts, but to a bigger shape than the input
  check_error([&] { (void)chord::masked_fill(a, Tensor<bool>::zeros({2, 2, 3}), 0.0); }, "masked_fill",
              {"[2,2,3]", "[2,3]"});
}

TEST_CASE("in-place ops name the op and the shapes they cannot broadcast into") {
  auto a = m23();
  check_error([&] { a.copy_(TensorD::zeros({4})); }, "copy_", {"[4]", "[2,3]"});
  check_error([&] { chord::add_(a, TensorD::zeros({2, 2, 3})); }, "add_", {"[2,2,3]", "[2,3]"});
  check_error([&] { chord::mul_(a, TensorD::zeros({3, 3})); }, "mul_", {"[3,3]"});
  check_error([&] { chord::masked_fill_(a, Tensor<bool>::zeros({5}), 1.0); }, "masked_fill_", {"[5]"});
}

TEST_CASE("bad reshape, view, flatten and expand name the op and the shapes") {
  const auto a = m23();
  check_error([&] { (void)a.reshape({4}); }, "reshape", {"[4]", "[2,3]"});
  check_error([&] { (void)a.reshape({-1, 4}); }, "reshape", {"[-1,4]", "[2,3]"});
  check_error([&] { (void)a.reshape({-1, -1}); }, "reshape", {"-1"});
  check_error([&] { (void)a.view({7}); }, "view", {"[7]", "[2,3]"});
  check_error([&] { (void)a.t().view({6}); }, "view", {"[3,2]", "[6]"});
  check_error([&] { (void)a.flatten(1, 0); }, "flatten", {"start_dim 1", "end_dim 0"});
  check_error([&] { (void)a.flatten(0, 2); }, "flatten", {"dim 2"});
  check_error([&] { (void)a.expand({2, 4}); }, "expand", {"[2,3]", "[2,4]"});
  check_error([&] { (void)a.expand({3}); }, "expand", {"[2,3]", "[3]"});
}

TEST_CASE("bad permute and transpose name the op and the dims") {
  const auto a = m23();
  check_error([&] { (void)a.permute({0}); }, "permute", {"[2,3]", "[0]"});
  check_error([&] { (void)a.permute({0, 1, 2}); }, "permute", {"[2,3]", "[0,1,2]"});
  check_error([&] { (void)a.permute({1, 1}); }, "permute", {"repeats", "[1,1]"});
  check_error([&] { (void)a.permute({0, 2}); }, "permute", {"dim 2", "2 dimensions"});
  check_error([&] { (void)a.transpose(0, 2); }, "transpose", {"dim 2", "2 dimensions"});
  check_error([&] { (void)a.transpose(-3, 0); }, "transpose", {"dim -3"});
  check_error([&] { (void)TensorD::zeros({2, 2, 2}).t(); }, "t", {"[2,2,2]"});
}

TEST_CASE("out-of-range select, slice and narrow name the op, the index and the size") {
  const auto a = TensorD::zeros({3, 4});
  check_error([&] { (void)a.select(0, 3); }, "select", {"index 3", "size 3"});
  check_error([&] { (void)a.select(1, -5); }, "select", {"index -5", "size 4"});
  check_error([&] { (void)a.select(2, 0); }, "select", {"dim 2"});
  check_error([&] { (void)TensorD::scalar(1).select(0, 0); }, "select", {"0-d"});
  check_error([&] { (void)a.slice(0, 4, 5); }, "slice", {"start 4", "size 3"});
  check_error([&] { (void)a.slice(1, -9, 2); }, "slice", {"size 4"});
  check_error([&] { (void)a.slice(0, 0, 2, 0); }, "slice", {"step"});
  check_error([&] { (void)a.slice(0, 0, 2, -1); }, "slice", {"step"});
  check_error([&] { (void)a.slice(3, 0, 1); }, "slice", {"dim 3"});
  check_error([&] { (void)a.narrow(0, 2, 2); }, "narrow", {"[2, 4)", "size 3"});
  check_error([&] { (void)a.narrow(1, 0, -1); }, "narrow", {"size 4"});
  check_error([&] { (void)a.narrow(-3, 0, 1); }, "narrow", {"dim -3"});
}

TEST_CASE("out-of-range dims in sum, mean, unsqueeze, squeeze and size name the op and the dim") {
  const auto a = m23();
  check_error([&] { (void)chord::sum(a, {2}); }, "sum", {"dim 2", "2 dimensions"});
  check_error([&] { (void)a.sum({-3}); }, "sum", {"dim -3"});
  check_error([&] { (void)a.sum({0, 0}); }, "sum", {"more than once"});
  check_error([&] { (void)a.sum({1, -1}); }, "sum", {"more than once"});
  check_error([&] { (void)chord::mean(a, {5}, true); }, "mean", {"dim 5"});
  check_error([&] { (void)a.unsqueeze(4); }, "unsqueeze", {"dim 4"});
  check_error([&] { (void)a.unsqueeze(-4); }, "unsqueeze", {"dim -4"});
  check_error([&] { (void)a.squeeze(2); }, "squeeze", {"dim 2"});
  check_error([&] { (void)a.size(2); }, "size", {"dim 2"});
  check_error([&] { (void)a.stride(-3); }, "stride", {"dim -3"});
}

TEST_CASE("bad arguments to pointwise ops and factories name the op and the values") {
  check_error([] { (void)chord::clamp(TensorD::zeros({2}), 1.0, -1.0); }, "clamp", {"1", "-1"});
  check_error([] { (void)TensorD::arange(0.0, 1.0, 0.0); }, "arange", {"step"});
  Generator gen(1);
  check_error([&] { (void)Tensor<int64_t>::randint(3, 2, {2}, gen); }, "randint", {"[3, 2)"});
  check_error([] { (void)TensorD::from_vector({1, 2, 3}, {2, 2}); }, "from_vector", {"[2,2]"});
  check_error([] { (void)TensorD::empty({2, -3}); }, "empty", {"[2,-3]"});
  check_error([] { (void)TensorD::zeros({1, 2, 3}).item(); }, "item", {"[1,2,3]"});
  check_error([] { (void)TensorD::zeros({1, 2}).at({0, 2}); }, "at", {"index 2", "size 2"});
  check_error([] { (void)Tensor<int64_t>::zeros({2}).sum(); }, "sum", {"int64"});
  check_error([] { (void)Tensor<bool>::zeros({2}).mean(); }, "mean", {"bool"});
}

TEST_CASE("device mismatch throws, naming both devices") {
  check_error([] { chord::check_same_device("add", Device::cpu(), Device::cuda(0)); }, "add",
              {"cpu", "cuda:0"});
  check_error([] { chord::check_same_device("matmul", Device::cuda(0), Device::cuda(1)); }, "matmul",
              {"cuda:0", "cuda:1"});
  CHECK_NOTHROW(chord::check_same_device("add", Device::cpu(), Device::cpu()));
}

TEST_CASE("CUDA requests without a GPU (or without CUDA) throw") {
  // Both kinds of machine where a GPU tensor cannot be made: a build without CUDA, and a CUDA
  // build on a machine without a GPU. Where a GPU is present the requests succeed.
  if (chord::cuda::is_available()) CHORD_SKIP_TEST("a GPU is present: CUDA requests succeed here");
  CHORD_CHECK_ERROR(TensorD::zeros({2}, Device::cuda(0)), "CUDA");
  CHORD_CHECK_ERROR(Tensor<float>::empty({2, 2}, Device::cuda(1)), "cuda:1");
  CHORD_CHECK_ERROR(chord::ones<float>({3}, Device::cuda()), "CUDA");
  CHORD_CHECK_ERROR(TensorD::zeros({2}).to(Device::cuda(0)), "CUDA");
}

TEST_CASE("an undefined tensor used in an op throws chord::Error naming the op") {
  const TensorD u;  // default-constructed: undefined
  const auto x = TensorD::ones({2});
  CHECK_FALSE(u.defined());
  check_error([&] { (void)chord::exp(u); }, "exp", {"undefined"});
  check_error([&] { (void)(u + x); }, "add", {"undefined"});
  check_error([&] { (void)(x * u); }, "mul", {"undefined"});
  check_error([&] { (void)(u * 2.0); }, "mul", {"undefined"});
  check_error([&] { (void)-u; }, "neg", {"undefined"});
  check_error([&] { (void)chord::pow(u, 2.0); }, "pow", {"undefined"});
  check_error([&] { (void)chord::sum(u); }, "sum", {"undefined"});
  check_error([&] { (void)chord::mean(u, {0}); }, "mean", {"undefined"});
  check_error([&] { (void)chord::reshape(u, {2}); }, "reshape", {"undefined"});
  check_error([&] { (void)chord::transpose(u, 0, 1); }, "transpose", {"undefined"});
  check_error([&] { (void)chord::slice(u, 0, 0, 1); }, "slice", {"undefined"});
  check_error([&] { (void)chord::contiguous(u); }, "contiguous", {"undefined"});
  check_error([&] { (void)chord::where(Tensor<bool>::ones({2}), u, x); }, "where", {"undefined"});
  check_error([&] { (void)chord::where(Tensor<bool>(), x, x); }, "where", {"undefined"});
  check_error([&] { (void)chord::masked_fill(x, Tensor<bool>(), 0.0); }, "masked_fill", {"undefined"});
  check_error([&] { (void)chord::eq(u, x); }, "eq", {"undefined"});
  // metadata and autograd on an undefined tensor are errors too, not crashes
  CHECK_THROWS_AS((void)u.shape(), chord::Error);
  CHECK_THROWS_AS(u.backward(), chord::Error);
  CHECK_THROWS_AS((void)u.to_vector(), chord::Error);
  check_error([&] { (void)chord::gradcheck([](const std::vector<TensorD>& in) { return in[0]; }, {u}); },
              "gradcheck", {"undefined"});
}

TEST_CASE("masked_fill with an undefined input names masked_fill") {
  const TensorD u;
  check_error([&] { (void)chord::masked_fill(u, Tensor<bool>::ones({2}), 0.0); }, "masked_fill", {"undefined"});
}

TEST_CASE("writing in place into an expanded view is refused, since elements share memory") {
  TensorD base = TensorD::zeros({1});
  TensorD wide = base.expand({3});
  CHORD_CHECK_ERROR(wide.copy_(chord::tensor<double>({1, 2, 3})), "expanded");
  CHORD_CHECK_ERROR(chord::add_(wide, 1.0), "expanded");
  CHECK(base.item() == 0.0);
}

TEST_CASE("unsqueeze names the valid dim range of its input") {
  CHORD_CHECK_ERROR(TensorD::zeros({2, 3}).unsqueeze(4), "expected a dim in [-3, 2]");
}
