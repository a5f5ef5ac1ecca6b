#pragma once
// Shape: the sizes of a tensor's dimensions (at most 8), and the helpers that
// work on shapes and strides: element counts, contiguous strides, broadcasting
// (NumPy rules) and dimension wrapping (-1 means the last dimension).

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "chord/core/error.hpp"

namespace chord {

inline constexpr int kMaxDims = 8;

// A small fixed-capacity vector of int64_t, used both for sizes and strides.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> sizes) { assign(sizes.begin(), sizes.end()); }
  explicit Shape(const std::vector<int64_t>& sizes) { assign(sizes.begin(), sizes.end()); }

  static Shape filled(int ndim, int64_t value) {
    Shape s;
    s.resize(ndim, value);
    return s;
  }

  int size() const { return ndim_; }
  bool empty() const { return ndim_ == 0; }
  int64_t operator[](int i) const { return v_[i]; }
  int64_t& operator[](int i) { return v_[i]; }
  const int64_t* begin() const { return v_.data(); }
  const int64_t* end() const { return v_.data() + ndim_; }
  int64_t* begin() { return v_.data(); }
  int64_t* end() { return v_.data() + ndim_; }
  int64_t back() const { return v_[ndim_ - 1]; }

  void push_back(int64_t x) {
    check(ndim_ < kMaxDims, "shape", "a tensor has at most ", kMaxDims, " dimensions");
    v_[ndim_++] = x;
  }
  void resize(int ndim, int64_t value = 0) {
    check(ndim >= 0 && ndim <= kMaxDims, "shape", "a tensor has at most ", kMaxDims,
          " dimensions, got ", ndim);
    for (int i = ndim_; i < ndim; ++i) v_[i] = value;
    ndim_ = ndim;
  }
  void insert(int pos, int64_t x) {
    push_back(0);
    for (int i = ndim_ - 1; i > pos; --i) v_[i] = v_[i - 1];
    v_[pos] = x;
  }
  void erase(int pos) {
    for (int i = pos; i + 1 < ndim_; ++i) v_[i] = v_[i + 1];
    --ndim_;
  }
  std::vector<int64_t> vec() const { return {begin(), end()}; }

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.ndim_ == b.ndim_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < ndim_; ++i) {
      if (i) s += ',';
      s += std::to_string(v_[i]);
    }
    return s + "]";
  }
  friend std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

 private:
  template <class It>
  void assign(It first, It last) {
    ndim_ = 0;
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
  }
  std::array<int64_t, kMaxDims> v_{};
  int ndim_ = 0;
};

using Strides = Shape;

// The most elements one tensor may have: 2^48 (a 1 PiB tensor of doubles, beyond any machine), so
// that element counts, contiguous strides and byte sizes (count x at most 8 bytes) all fit in
// int64 with room to spare.
inline constexpr int64_t kMaxElements = int64_t{1} << 48;

// The element count of `shape`, checked: a negative size, or sizes whose product exceeds
// kMaxElements, is a chord::Error naming `op`. A zero size counts as 1 in the product, so a shape
// like [0, 2^40, 2^40] (0 elements, but contiguous strides of 2^80) is refused too. Every factory
// and loader computes sizes through this; numel_of() below is for shapes already checked.
inline int64_t checked_numel(const Shape& shape, const char* op) {
  int64_t extent = 1;
  bool has_zero = false;
  for (int64_t s : shape) {
    check(s >= 0, op, "negative size in shape ", shape);
    if (s == 0) {
      has_zero = true;
      continue;
    }
    check(s <= kMaxElements / extent, op, "shape ", shape,
          " is too large: the product of its sizes exceeds 2^48 elements (it would overflow the element count)");
    extent *= s;
  }
  return has_zero ? 0 : extent;
}

// The element count of a shape that checked_numel() accepted (every tensor's shape).
inline int64_t numel_of(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

inline Strides contiguous_strides(const Shape& shape) {
  Strides strides = Shape::filled(shape.size(), 1);
  for (int i = shape.size() - 2; i >= 0; --i) strides[i] = strides[i + 1] * std::max<int64_t>(shape[i + 1], 1);
  return strides;
}

inline bool is_contiguous_layout(const Shape& shape, const Strides& strides) {
  int64_t expected = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    if (shape[i] == 1) continue;  // the stride of a size-1 dim never matters
    if (strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

// Maps a possibly negative dim into [0, ndim). `op` names the caller for the error.
inline int wrap_dim(int64_t dim, int ndim, const char* op) {
  const int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  check(dim >= lo && dim <= hi, op, "dim ", dim, " is out of range for a tensor with ", ndim,
        " dimensions");
  return static_cast<int>(dim < 0 ? dim + std::max(ndim, 1) : dim);
}

// NumPy broadcasting of two shapes.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int n = std::max(a.size(), b.size());
  Shape out = Shape::filled(n, 1);
  for (int i = 0; i < n; ++i) {
    const int ia = a.size() - n + i, ib = b.size() - n + i;
    const int64_t sa = ia >= 0 ? a[ia] : 1, sb = ib >= 0 ? b[ib] : 1;
    check(sa == sb || sa == 1 || sb == 1, op, "shapes ", a, " and ", b, " cannot be broadcast");
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

// Strides that read a tensor of (shape, strides) as if it had shape `target`
// (stride 0 along broadcast dimensions). The caller has checked compatibility.
inline Strides broadcast_strides(const Shape& shape, const Strides& strides, const Shape& target) {
  Strides out = Shape::filled(target.size(), 0);
  const int offset = target.size() - shape.size();
  for (int i = 0; i < shape.size(); ++i) out[offset + i] = shape[i] == 1 ? 0 : strides[i];
  return out;
}

}  // namespace chord
