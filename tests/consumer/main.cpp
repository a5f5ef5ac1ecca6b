// The consumer test's program: y = sum(x * x) = 14 for x = [1, 2, 3], and dy/dx must be 2x;
// installed, the package's version (find_package) must be the headers' version.
#include <chord/chord.hpp>
#include <stb_image_write.h>  // chord::chord puts the stb headers on the include path

#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>

int main() {
#ifdef CHORD_PACKAGE_VERSION
  if (std::string(CHORD_PACKAGE_VERSION) != CHORD_VERSION_STRING) {
    std::cerr << "chord_consumer: find_package found chord " << CHORD_PACKAGE_VERSION
              << " but its headers say " << CHORD_VERSION_STRING << "\n";
    return 1;
  }
#endif
  auto x = chord::Tensor<float>::from_vector({1, 2, 3}, {3});
  x.set_requires_grad(true);
  auto y = (x * x).sum();
  if (std::fabs(y.item() - 14.0f) > 1e-5f) {
    std::cerr << "chord_consumer: sum(x * x) = " << y.item() << ", expected 14\n";
    return 1;
  }
  y.backward();

  const auto grad = x.grad();
  if (!grad.defined()) {
    std::cerr << "chord_consumer: x.grad() is undefined after backward()\n";
    return 1;
  }
  for (int64_t i = 0; i < 3; ++i) {
    const float expected = 2.0f * x.at({i});
    const float got = grad.at({i});
    if (std::fabs(got - expected) > 1e-6f) {
      std::cerr << "chord_consumer: x.grad()[" << i << "] = " << got << ", expected " << expected << "\n";
      return 1;
    }
  }
  std::cout << "chord_consumer: chord " << chord::version_string << ": y = " << y.item()
            << ", dy/dx = 2x as expected\n";
  return 0;
}
