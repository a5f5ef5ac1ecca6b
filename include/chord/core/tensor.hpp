#pragma once
// Tensor<T>: a handle to a strided view of a shared Storage<T>, as in PyTorch.
//
// Copying a Tensor copies the handle (both names refer to the same tensor);
// `clone()` copies the data. A view (reshape, transpose, slice, ...) shares the
// storage and has its own shape, strides and storage offset.
//
// This header holds the metadata, creation and element access. Methods that
// are operations (views, `sum`, `backward`, ...) are declared here and defined
// beside the op in `chord/ops/` and `chord/autograd/`; include
// <chord/chord.hpp> to get all of them.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "chord/core/device.hpp"
#include "chord/core/device_memory.hpp"
#include "chord/core/dtype.hpp"
#include "chord/core/error.hpp"
#include "chord/core/generator.hpp"
#include "chord/core/grad_mode.hpp"
#include "chord/core/shape.hpp"
#include "chord/core/storage.hpp"

namespace chord {

namespace autograd {
template <class T>
class Node;  // a recorded operation; see chord/autograd/node.hpp
}

template <Element T>
struct TensorImpl {
  std::shared_ptr<Storage<T>> storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;  // in elements, into storage

  // Autograd metadata. A tensor that requires grad and has no grad_fn is a
  // leaf: backward() accumulates into its `grad`.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl<T>> grad;
  std::shared_ptr<autograd::Node<T>> grad_fn;
};

template <Element T>
class Tensor {
 public:
  using value_type = T;

  Tensor() = default;  // an undefined tensor: defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl<T>> impl) : impl_(std::move(impl)) {}

  // ---- creation -----------------------------------------------------------
  static Tensor empty(const Shape& shape, Device device = Device::cpu()) {
    const int64_t count = checked_numel(shape, "empty");
    auto impl = std::make_shared<TensorImpl<T>>();
    impl->storage = std::make_shared<Storage<T>>(count, device);
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    return Tensor(std::move(impl));
  }
  static Tensor full(const Shape& shape, T value, Device device = Device::cpu()) {
    Tensor t = empty(shape, device);
    if (device.is_cuda()) {
      if constexpr (built_with_cuda())
        cuda::fill(cuda::Context{device.index, "full"}, t.data(), t.numel(), sizeof(T), &value);
      return t;
    }
    std::fill_n(t.data(), t.numel(), value);
    return t;
  }
  static Tensor zeros(const Shape& shape, Device device = Device::cpu()) { return full(shape, T(0), device); }
  static Tensor ones(const Shape& shape, Device device = Device::cpu()) { return full(shape, T(1), device); }
  static Tensor scalar(T value) { return full(Shape{}, value); }

  // Values start, start+step, ... below end (above end for a negative step).
  static Tensor arange(T start, T end, T step = T(1)) {
    check(step != T(0), "arange", "step must be nonzero");
    const double count = std::ceil((static_cast<double>(end) - static_cast<double>(start)) / static_cast<double>(step));
    Tensor t = empty(Shape{std::max<int64_t>(0, static_cast<int64_t>(count))});
    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(start + static_cast<T>(i) * step);
    return t;
  }
  static Tensor arange(T end) { return arange(T(0), end, T(1)); }

  // Copies `values` into a new tensor of `shape` (a 1-D tensor when shape is omitted).
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
    const int64_t count = checked_numel(shape, "from_vector");
    check(static_cast<int64_t>(values.size()) == count, "from_vector", values.size(), " values do not fill shape ",
          shape, " (", count, " elements)");
    Tensor t = empty(shape);
    std::copy(values.begin(), values.end(), t.data());
    return t;
  }
  static Tensor from_vector(const std::vector<T>& values) {
    return from_vector(values, Shape{static_cast<int64_t>(values.size())});
  }

  // Uniform in [low, high).
  static Tensor rand(const Shape& shape, Generator& gen = default_generator(), T low = T(0), T high = T(1))
    requires FloatingPoint<T>
  {
    Tensor t = empty(shape);
    for (int64_t i = 0; i < t.numel(); ++i) {
      T v = static_cast<T>(low + (high - low) * gen.uniform());
      // Rounding the double draw to float can land on `high` itself: keep the interval half-open.
      t.data()[i] = v < high ? v : std::nextafter(high, low);
    }
    return t;
  }
  // Normal with the given mean and standard deviation.
  static Tensor randn(const Shape& shape, Generator& gen = default_generator(), T mean = T(0), T stddev = T(1))
    requires FloatingPoint<T>
  {
    Tensor t = empty(shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(mean + stddev * gen.normal());
    return t;
  }
  // Integers uniform in [low, high).
  static Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen = default_generator())
    requires std::same_as<T, int64_t>
  {
    check(low < high, "randint", "empty range [", low, ", ", high, ")");
    Tensor t = empty(shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = gen.randint(low, high);
    return t;
  }

  // ---- metadata -----------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& sizes() const { return shape(); }
  int64_t size(int64_t dim) const { return shape()[wrap_dim(dim, this->dim(), "size")]; }
  int dim() const { return shape().size(); }
  int64_t numel() const { return numel_of(shape()); }
  const Strides& strides() const { return impl().strides; }
  int64_t stride(int64_t dim) const { return strides()[wrap_dim(dim, this->dim(), "stride")]; }
  int64_t storage_offset() const { return impl().offset; }
  bool is_contiguous() const { return is_contiguous_layout(shape(), strides()); }
  Device device() const { return impl().storage->device(); }
  const char* dtype() const { return dtype_name<T>(); }

  // Pointer to the first element (storage base + offset), following strides().
  T* data() const { return impl().storage->data() + impl().offset; }
  const std::shared_ptr<Storage<T>>& storage() const { return impl().storage; }
  bool is_alias_of(const Tensor& other) const { return storage() == other.storage(); }

  // Version counter of the storage, bumped by every in-place operation.
  uint64_t version() const { return impl().storage->version(); }
  void bump_version() const { impl().storage->bump_version(); }

  // ---- element access ---------------------------------------------------------
  // These read CUDA tensors too, by copying to the host (and so waiting for the device).
  // The value at a multi-index, e.g. t.at({1, 2}); negative indices count from the end.
  T at(std::initializer_list<int64_t> index) const { return read_element("at", element_offset("at", index)); }
  T at(const std::vector<int64_t>& index) const { return read_element("at", element_offset("at", index)); }
  // The value of a one-element tensor.
  T item() const {
    check(numel() == 1, "item", "a tensor with ", numel(), " elements (shape ", shape(),
          ") cannot be converted to a scalar");
    return read_element("item", 0);
  }
  // All elements in row-major order, as a std::vector.
  std::vector<T> to_vector() const {
    std::vector<T> out;
    out.reserve(numel());
    if (device().is_cuda()) {
      const std::vector<T> span = device_span_to_host("to_vector");
      for_each_offset([&](int64_t off) { out.push_back(span[static_cast<std::size_t>(off)]); });
      return out;
    }
    for_each_offset([&](int64_t off) { out.push_back(data()[off]); });
    return out;
  }

  // Calls f(offset) for every element in row-major order, offset relative to data().
  template <class F>
  void for_each_offset(F&& f) const {
    const int n = dim();
    const int64_t total = numel();
    if (total == 0) return;
    std::vector<int64_t> index(n, 0);
    int64_t off = 0;
    for (int64_t count = 0; count < total; ++count) {
      f(off);
      for (int d = n - 1; d >= 0; --d) {
        if (++index[d] < shape()[d]) {
          off += strides()[d];
          break;
        }
        off -= strides()[d] * (shape()[d] - 1);
        index[d] = 0;
      }
    }
  }

  // ---- autograd -----------------------------------------------------------
  bool requires_grad() const { return impl().requires_grad; }
  // Marks a leaf tensor as one whose gradient backward() should compute.
  Tensor& set_requires_grad(bool value = true) {
    if (value) check(FloatingPoint<T>, "set_requires_grad", "only float tensors can require grad, not ", dtype());
    check(is_leaf() || !value, "set_requires_grad",
          "only leaf tensors can be marked; this one is the output of ", "an operation (use detach() first)");
    impl().requires_grad = value;
    return *this;
  }
  Tensor& requires_grad_(bool value = true) { return set_requires_grad(value); }
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  // The accumulated gradient of a leaf (undefined until backward reaches it).
  Tensor grad() const { return Tensor(impl().grad); }
  void set_grad(const Tensor& g) { impl().grad = g.impl_; }
  const std::shared_ptr<autograd::Node<T>>& grad_fn() const { return impl().grad_fn; }
  TensorImpl<T>& impl() const {
    check(impl_ != nullptr, "tensor", "this tensor is undefined (default-constructed)");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl<T>>& impl_ptr() const { return impl_; }

  // ---- defined with autograd (chord/autograd/engine.hpp) -----------------
  // Computes gradients of this tensor with respect to the leaves that require
  // grad. Without `gradient` the tensor must have one element.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;

  // ---- defined with the ops (chord/ops/*.hpp) ------------------------------
  Tensor detach() const;
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(Device device) const;
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor permute(const Shape& dims) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor expand(const Shape& shape) const;
  Tensor sum() const;
  Tensor sum(const Shape& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Shape& dims, bool keepdim = false) const;

  // In-place operations (refused on tensors that require grad while grad mode is on).
  Tensor& fill_(T value);
  Tensor& zero_() { return fill_(T(0)); }
  Tensor& copy_(const Tensor& source);

 private:
  // The element at `offset` from data(), copied from the device for a CUDA tensor.
  T read_element(const char* op, int64_t offset) const {
    if (device().is_cuda()) {
      T value{};
      if constexpr (built_with_cuda())
        cuda::copy_to_host(cuda::Context{device().index, op}, &value, data() + offset, sizeof(T));
      return value;
    }
    return data()[offset];
  }
  // A CUDA tensor's elements data()[0 .. max offset] (its strides are never negative), on the host.
  std::vector<T> device_span_to_host(const char* op) const {
    int64_t last = 0;
    for (int d = 0; d < dim(); ++d) {
      check(strides()[d] >= 0, op, "internal: negative stride ", strides()[d]);
      if (shape()[d] > 0) last += (shape()[d] - 1) * strides()[d];
    }
    if (numel() == 0) return {};
    std::vector<T> span(static_cast<std::size_t>(last + 1));
    if constexpr (built_with_cuda()) {
      if constexpr (std::is_same_v<T, bool>) {  // std::vector<bool> has no data()
        std::vector<unsigned char> bytes(span.size());
        cuda::copy_to_host(cuda::Context{device().index, op}, bytes.data(), data(), bytes.size());
        for (std::size_t i = 0; i < bytes.size(); ++i) span[i] = bytes[i] != 0;
      } else {
        cuda::copy_to_host(cuda::Context{device().index, op}, span.data(), data(), span.size() * sizeof(T));
      }
    }
    return span;
  }
  template <class Index>
  int64_t element_offset(const char* op, const Index& index) const {
    check(static_cast<int>(index.size()) == dim(), op, "expected ", dim(), " indices for shape ", shape(),
          ", got ", index.size());
    int64_t off = 0;
    int d = 0;
    for (int64_t i : index) {
      const int64_t n = shape()[d];
      check(i >= -n && i < n, op, "index ", i, " is out of range for dimension ", d, " of size ", n);
      off += (i < 0 ? i + n : i) * strides()[d];
      ++d;
    }
    return off;
  }

  std::shared_ptr<TensorImpl<T>> impl_;
};

// Free-function spellings of the factories, float by default:
// chord::zeros({2, 3}), chord::randn<double>({4}, gen).
template <Element T = float>
Tensor<T> empty(const Shape& shape, Device device = Device::cpu()) { return Tensor<T>::empty(shape, device); }
template <Element T = float>
Tensor<T> zeros(const Shape& shape, Device device = Device::cpu()) { return Tensor<T>::zeros(shape, device); }
template <Element T = float>
Tensor<T> ones(const Shape& shape, Device device = Device::cpu()) { return Tensor<T>::ones(shape, device); }
template <Element T = float>
Tensor<T> full(const Shape& shape, T value, Device device = Device::cpu()) { return Tensor<T>::full(shape, value, device); }
template <FloatingPoint T = float>
Tensor<T> rand(const Shape& shape, Generator& gen = default_generator()) { return Tensor<T>::rand(shape, gen); }
template <FloatingPoint T = float>
Tensor<T> randn(const Shape& shape, Generator& gen = default_generator()) { return Tensor<T>::randn(shape, gen); }
inline Tensor<int64_t> randint(int64_t low, int64_t high, const Shape& shape, Generator& gen = default_generator()) {
  return Tensor<int64_t>::randint(low, high, shape, gen);
}
template <Element T = float>
Tensor<T> arange(T start, T end, T step = T(1)) { return Tensor<T>::arange(start, end, step); }

// 1-D and 2-D literals: chord::tensor<float>({1, 2, 3}), chord::tensor<double>({{1, 2}, {3, 4}}).
template <Element T = float>
Tensor<T> tensor(std::initializer_list<T> values) { return Tensor<T>::from_vector(std::vector<T>(values)); }
template <Element T = float>
Tensor<T> tensor(std::initializer_list<std::initializer_list<T>> rows) {
  const int64_t cols = rows.size() ? static_cast<int64_t>(rows.begin()->size()) : 0;
  std::vector<T> values;
  for (const auto& row : rows) {
    check(static_cast<int64_t>(row.size()) == cols, "tensor", "rows of a 2-D literal must have equal length, got ",
          row.size(), " and ", cols);
    values.insert(values.end(), row.begin(), row.end());
  }
  return Tensor<T>::from_vector(values, Shape{static_cast<int64_t>(rows.size()), cols});
}

}  // namespace chord

// operator<<(std::ostream&, const Tensor<T>&): PyTorch-style printing.
#include "chord/core/print.hpp"
