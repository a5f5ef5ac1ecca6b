// nn::Module: registration, stable names, train/eval, state_dict round trips
// and the checks load_state_dict makes.

#include "test_util.hpp"

using namespace chord;

namespace {
struct Affine : nn::Module<double> {
  Tensor<double> weight, bias;
  Affine(int64_t in, int64_t out, uint64_t seed) {
    Generator gen(seed);
    weight = register_parameter("weight", Tensor<double>::randn({in, out}, gen));
    bias = register_parameter("bias", Tensor<double>::zeros({out}));
  }
  Tensor<double> forward(const Tensor<double>& x) const { return (x.unsqueeze(-1) * weight).sum({-2}) + bias; }
};

struct TwoLayer : nn::Module<double> {
  std::shared_ptr<Affine> first, second;
  Tensor<double> step_counter;
  explicit TwoLayer(uint64_t seed) {
    first = register_module("first", std::make_shared<Affine>(3, 4, seed));
    second = register_module("second", std::make_shared<Affine>(4, 2, seed + 1));
    step_counter = register_buffer("steps", Tensor<double>::zeros({1}));
  }
  Tensor<double> forward(const Tensor<double>& x) const { return second->forward(tanh(first->forward(x))); }
};
}  // namespace

TEST_CASE("named_parameters walks submodules depth-first in registration order") {
  TwoLayer model(1);
  std::vector<std::string> names;
  for (auto& [name, p] : model.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"first.weight", "first.bias", "second.weight", "second.bias"});
  CHECK(model.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2);
  CHECK(model.named_buffers().size() == 1);
  CHECK(model.named_buffers()[0].first == "steps");
  for (auto& p : model.parameters()) CHECK(p.requires_grad());
  // The handles returned at registration are the registered tensors themselves.
  CHECK(model.named_parameters()[0].second.impl_ptr() == model.first->weight.impl_ptr());
}

TEST_CASE("zero_grad drops every gradient and train/eval reach every submodule") {
  TwoLayer model(2);
  model.forward(Tensor<double>::ones({5, 3})).sum().backward();
  for (auto& p : model.parameters()) CHECK(p.grad().defined());
  model.zero_grad();
  for (auto& p : model.parameters()) CHECK_FALSE(p.grad().defined());
  model.eval();
  CHECK_FALSE(model.is_training());
  CHECK_FALSE(model.first->is_training());
  model.train();
  CHECK(model.second->is_training());
}

TEST_CASE("load_state_dict copies values so two models give identical outputs") {
  TwoLayer a(3), b(4);
  const Tensor<double> x = Tensor<double>::randn({2, 3});
  CHECK(a.forward(x).to_vector() != b.forward(x).to_vector());
  b.load_state_dict(a.state_dict());
  CHECK(a.forward(x).to_vector() == b.forward(x).to_vector());
  // A copy, not an alias: changing a afterwards leaves b alone.
  {
    NoGradGuard no_grad;
    a.first->weight.fill_(0.0);
  }
  CHECK(b.first->weight.to_vector() != a.first->weight.to_vector());
}

TEST_CASE("load_state_dict names the tensor that is missing, unexpected or misshapen, and changes nothing") {
  TwoLayer model(5);
  const std::vector<double> before = model.first->weight.to_vector();
  auto state = model.state_dict();
  state[0].second = Tensor<double>::ones({3, 4});

  auto wrong_shape = state;
  wrong_shape[2].second = Tensor<double>::zeros({2, 4});
  CHORD_CHECK_ERROR(model.load_state_dict(wrong_shape), "second.weight");
  CHECK(model.first->weight.to_vector() == before);  // nothing was copied

  auto missing = state;
  missing.pop_back();
  CHORD_CHECK_ERROR(model.load_state_dict(missing), "missing tensor 'steps'");
  model.load_state_dict(missing, /*strict=*/false);
  CHECK(model.first->weight.to_vector() == std::vector<double>(12, 1.0));

  auto unexpected = state;
  unexpected.emplace_back("third.weight", Tensor<double>::zeros({1}));
  CHORD_CHECK_ERROR(model.load_state_dict(unexpected), "third.weight");
}

TEST_CASE("registering a duplicate or dotted name is an error") {
  struct Bad : nn::Module<double> {
    void add(const std::string& name) { register_parameter(name, Tensor<double>::zeros({1})); }
  } bad;
  bad.add("w");
  CHORD_CHECK_ERROR(bad.add("w"), "already registered");
  CHORD_CHECK_ERROR(bad.add("a.b"), "invalid name");
}
