// autograd_basics: a value computed from tensors, and its gradients.
//
//   loss = sum(tanh(x @ w)^2),   x: [2, 3],  w: [3, 2]
//
// backward() fills w.grad() and x.grad() with d loss / d w and d loss / d x.
#include <chord/chord.hpp>

#include <iostream>

int main() {
  using chord::Tensor;
  auto x = Tensor<float>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  auto w = Tensor<float>::from_vector({0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f}, {3, 2});
  x.set_requires_grad(true);
  w.set_requires_grad(true);

  auto h = chord::tanh(chord::matmul(x, w));  // [2, 2]
  auto loss = (h * h).sum();                  // a scalar
  loss.backward();

  std::cout << "h = " << h << "\n";
  std::cout << "loss = " << loss << "\n";
  std::cout << "d loss / d w = " << w.grad() << "\n";
  std::cout << "d loss / d x = " << x.grad() << "\n";
  return 0;
}
