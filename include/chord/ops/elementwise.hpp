#pragma once
// The bridge from tensors to the backend's elementwise kernels: allocate the
// output, broadcast the inputs, check devices, run the kernel on the inputs'
// device (backend/map.hpp). Ops call these with a functor of chord::fn
// (backend/functors.hpp), which both backends run, and add their backward
// beside them. A lambda works on the CPU only.

#include <optional>
#include <string>

#include "chord/backend/functors.hpp"
#include "chord/backend/map.hpp"
#include "chord/core/error.hpp"
#include "chord/core/tensor.hpp"

namespace chord::ops {

template <class T>
void check_defined(const char* op, const Tensor<T>& t, const char* what = "input") {
  check(t.defined(), op, "the ", what, " tensor is undefined");
}

// For the ops (and the cases of ops) that only the CPU backend implements.
template <class T>
void check_cpu(const char* op, const Tensor<T>& t) {
  check(t.device().is_cpu(), op, "not implemented on cuda: this operation runs on cpu tensors; got one on ", t.device(),
        " (move it with .to(chord::Device::cpu()))");
}

// out[i] = f(x[i]) into a new contiguous tensor of element type Out.
template <class Out, class In, class F>
Tensor<Out> map_new(const char* op, const Tensor<In>& x, F f) {
  check_defined(op, x);
  Tensor<Out> out = Tensor<Out>::empty(x.shape(), x.device());
  backend::map(op, x.device(), x.shape(), out.data(), out.strides(), x.data(), x.strides(), f);
  return out;
}

// out[i] = f(a[i], b[i]) with NumPy broadcasting, into a new contiguous tensor.
template <class Out, class A, class B, class F>
Tensor<Out> map_new(const char* op, const Tensor<A>& a, const Tensor<B>& b, F f) {
  check_defined(op, a, "first");
  check_defined(op, b, "second");
  check_same_device(op, a.device(), b.device());
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor<Out> out = Tensor<Out>::empty(shape, a.device());
  backend::map(op, a.device(), shape, out.data(), out.strides(), a.data(), broadcast_strides(a.shape(), a.strides(), shape), b.data(),
           broadcast_strides(b.shape(), b.strides(), shape), f);
  return out;
}

// out[i] = f(a[i], b[i], c[i]) with NumPy broadcasting, into a new contiguous tensor.
template <class Out, class A, class B, class C, class F>
Tensor<Out> map_new(const char* op, const Tensor<A>& a, const Tensor<B>& b, const Tensor<C>& c, F f) {
  check_defined(op, a, "first");
  check_defined(op, b, "second");
  check_defined(op, c, "third");
  check_same_device(op, a.device(), b.device());
  check_same_device(op, a.device(), c.device());
  const Shape shape = broadcast_shapes(broadcast_shapes(a.shape(), b.shape(), op), c.shape(), op);
  Tensor<Out> out = Tensor<Out>::empty(shape, a.device());
  backend::map(op, a.device(), shape, out.data(), out.strides(), a.data(), broadcast_strides(a.shape(), a.strides(), shape), b.data(),
           broadcast_strides(b.shape(), b.strides(), shape), c.data(), broadcast_strides(c.shape(), c.strides(), shape),
           f);
  return out;
}

// A new contiguous copy of x (no autograd).
template <Element T>
Tensor<T> copy_contiguous(const Tensor<T>& x) {
  return map_new<T>("contiguous", x, fn::Identity{});
}

// x itself when its elements are already dense and row-major, else a
// contiguous copy (no autograd): what a kernel that needs a dense buffer reads.
template <Element T>
Tensor<T> dense(const Tensor<T>& x) {
  return x.is_contiguous() ? x : copy_contiguous(x);
}

// dst[i] = f(dst[i], src[i]) in place, src broadcast to dst's shape.
template <class T, class S, class F>
void map_inplace(const char* op, const Tensor<T>& dst, const Tensor<S>& src, F f) {
  check_defined(op, dst);
  check_defined(op, src);
  check_same_device(op, dst.device(), src.device());
  const Shape shape = broadcast_shapes(dst.shape(), src.shape(), op);
  check(shape == dst.shape(), op, "cannot broadcast a tensor of shape ", src.shape(), " into one of shape ",
        dst.shape(), " in place");
  backend::map(op, dst.device(), shape, dst.data(), dst.strides(), dst.data(), dst.strides(), src.data(),
           broadcast_strides(src.shape(), src.strides(), shape), f);
}

}  // namespace chord::ops
