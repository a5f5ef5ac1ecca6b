#pragma once
// Device: where a tensor's storage lives (the CPU or one CUDA GPU).

#include <ostream>
#include <string>

#include "chord/core/error.hpp"

namespace chord {

enum class DeviceType { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static constexpr Device cpu() { return {DeviceType::CPU, 0}; }
  static constexpr Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }

  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
  friend bool operator==(const Device&, const Device&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }
};

// True when this build of chord has the CUDA backend compiled in (CMake option CHORD_CUDA).
inline constexpr bool built_with_cuda() {
#ifdef CHORD_HAS_CUDA
  return true;
#else
  return false;
#endif
}

inline void check_same_device(const char* op, const Device& a, const Device& b) {
  check(a == b, op, "expected tensors on the same device, got ", a, " and ", b);
}

}  // namespace chord
