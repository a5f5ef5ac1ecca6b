#pragma once
// gradcheck: compares the gradients autograd computes with central finite
// differences, element by element of the full Jacobian, in double precision.
//
//   auto result = chord::gradcheck(
//       [](const std::vector<chord::Tensor<double>>& in) { return chord::tanh(in[0] * in[1]); },
//       {x, w});          // inputs with requires_grad set are checked
//   if (!result) std::cerr << result.message;
//
// For every input element i: J_num[:, i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).
// For every output element j: J_ana[j, :] = the gradient of backward(e_j).
// They agree when |J_ana - J_num| <= atol + rtol * |J_num| everywhere.

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "chord/autograd/engine.hpp"
#include "chord/core/tensor.hpp"

namespace chord {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // the first mismatch, when !ok
  explicit operator bool() const { return ok; }
};

using GradcheckFn = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;

inline GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor<double>>& inputs,
                                 const GradcheckOptions& options = {}) {
  // Offsets (from data()) of every element of each input, in row-major order.
  std::vector<std::vector<int64_t>> offsets(inputs.size());
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const Tensor<double>& x = inputs[k];
    check(x.defined(), "gradcheck", "input ", k, " is undefined");
    for (int d = 0; d < x.dim(); ++d)
      check(x.strides()[d] != 0 || x.shape()[d] <= 1, "gradcheck", "input ", k,
            " has overlapping memory (an expanded view); pass a tensor with its own storage");
    x.for_each_offset([&](int64_t off) { offsets[k].push_back(off); });
  }

  const Tensor<double> y = f(inputs);
  check(y.defined(), "gradcheck", "the function returned an undefined tensor");
  const int64_t n_out = y.numel();

  // Numerical Jacobian, one column per input element.
  std::vector<std::vector<std::vector<double>>> numeric(inputs.size());
  {
    NoGradGuard no_grad;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      if (!inputs[k].requires_grad()) continue;
      double* base = inputs[k].data();
      for (int64_t off : offsets[k]) {
        const double saved = base[off];
        base[off] = saved + options.eps;
        const std::vector<double> plus = f(inputs).contiguous().to_vector();
        base[off] = saved - options.eps;
        const std::vector<double> minus = f(inputs).contiguous().to_vector();
        base[off] = saved;
        std::vector<double> column(n_out);
        for (int64_t j = 0; j < n_out; ++j) column[j] = (plus[j] - minus[j]) / (2 * options.eps);
        numeric[k].push_back(std::move(column));
      }
    }
  }

  GradcheckResult result;
  if (!y.requires_grad()) {
    for (std::size_t k = 0; k < inputs.size(); ++k)
      if (inputs[k].requires_grad()) {
        result.ok = false;
        result.message = "the output does not require grad although input " + std::to_string(k) + " does";
        return result;
      }
    return result;
  }

  // Analytical Jacobian, one row per output element.
  std::vector<std::shared_ptr<TensorImpl<double>>> saved_grads;
  for (const auto& x : inputs) saved_grads.push_back(x.impl().grad);
  for (int64_t j = 0; j < n_out && result.ok; ++j) {
    for (const auto& x : inputs) x.impl().grad = nullptr;
    Tensor<double> seed = Tensor<double>::zeros(y.shape());
    seed.data()[j] = 1.0;
    y.backward(seed, /*retain_graph=*/true);
    for (std::size_t k = 0; k < inputs.size() && result.ok; ++k) {
      if (!inputs[k].requires_grad()) continue;
      const Tensor<double> g = inputs[k].grad();
      const std::vector<double> analytic = g.defined() ? g.to_vector() : std::vector<double>(offsets[k].size(), 0.0);
      for (std::size_t i = 0; i < offsets[k].size(); ++i) {
        const double a = analytic[i], n = numeric[k][i][j];
        if (!(std::abs(a - n) <= options.atol + options.rtol * std::abs(n))) {
          std::ostringstream os;
          os << "gradcheck: d output[" << j << "] / d input" << k << "[" << i << "]: autograd gives " << a
             << ", finite differences give " << n;
          result = {false, os.str()};
          break;
        }
      }
    }
  }
  for (std::size_t k = 0; k < inputs.size(); ++k) inputs[k].impl().grad = saved_grads[k];
  return result;
}

}  // namespace chord
