// autograd_basics: a value computed from tensors, its gradients, and a check of them.
//
//   loss = sum(tanh(x @ w)^2),   x: [2, 3],  w: [3, 2]
//
// backward() fills w.grad() and x.grad() with d loss / d w and d loss / d x. Then gradcheck
// computes the same derivatives by central finite differences, in double precision, and the
// program exits 1 if they disagree: what autograd printed is checked, not just printed.
#include <chord/chord.hpp>

#include <iostream>

int main(int argc, char** argv) {
  chord::io::ArgParser args("autograd_basics",
                            "Computes loss = sum(tanh(x @ w)^2) for a 2x3 x and a 3x2 w, prints the loss and its\n"
                            "gradients from backward(), and checks them against finite differences (exit 1 if\n"
                            "they disagree).");
  args.parse_or_exit(argc, argv);
  return chord::io::run_main([] {
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

    // The same function in double, differentiated numerically and by autograd.
    auto x64 = Tensor<double>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
    auto w64 = Tensor<double>::from_vector({0.1, -0.2, 0.3, 0.4, -0.5, 0.6}, {3, 2});
    x64.set_requires_grad(true);
    w64.set_requires_grad(true);
    const auto result = chord::gradcheck(
        [](const std::vector<Tensor<double>>& in) {
          auto h = chord::tanh(chord::matmul(in[0], in[1]));
          return (h * h).sum();
        },
        {x64, w64});
    if (!result) {
      std::cout << "gradcheck FAILED: " << result.message << "\n";
      return 1;
    }
    std::cout << "gradcheck: autograd's gradients match central finite differences\n";
    return 0;
  });
}
