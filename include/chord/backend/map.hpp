#pragma once
// backend::map: an elementwise function over strided operands, run on the
// device the operands live on: cpu::map on the CPU, cuda::map on a GPU.
//
//   backend::map("exp", x.device(), shape, out, out_strides, x.data(), x_strides, fn::Exp{});
//
// On CUDA only the functions of chord::fn that backend/cuda/elementwise.hpp
// instantiates run (a lambda cannot); anything else is a chord::Error saying
// that the op is not implemented on cuda. The CPU path is cpu::map unchanged.

#include "chord/backend/cpu/elementwise.hpp"
#include "chord/backend/cuda/elementwise.hpp"
#include "chord/core/device.hpp"
#include "chord/core/error.hpp"
#include "chord/core/shape.hpp"

namespace chord::backend {

// Whether cuda::map exists for functor F with these element types (in this build).
template <class F, class Out, class... In>
inline constexpr bool cuda_has_map = built_with_cuda() && cuda::HasMap<F, Out, In...>::value;

[[noreturn]] inline void fail_not_on_cuda(const char* op, Device device) {
  fail(op, "not implemented on cuda (got a tensor on ", device,
       "): this function or element type has no CUDA kernel; move the tensor to the cpu with .to(chord::Device::cpu())");
}

// out = f(a)
template <class Out, class A, class F>
void map(const char* op, Device device, const Shape& shape, Out* out, const Strides& out_strides, const A* a,
         const Strides& a_strides, F f) {
  if (device.is_cuda()) {
    if constexpr (cuda_has_map<F, Out, A>)
      return cuda::map(cuda::Context{device.index, op}, shape, out, out_strides, a, a_strides, f);
    else fail_not_on_cuda(op, device);
  }
  cpu::map(shape, out, out_strides, a, a_strides, f);
}

// out = f(a, b)
template <class Out, class A, class B, class F>
void map(const char* op, Device device, const Shape& shape, Out* out, const Strides& out_strides, const A* a,
         const Strides& a_strides, const B* b, const Strides& b_strides, F f) {
  if (device.is_cuda()) {
    if constexpr (cuda_has_map<F, Out, A, B>)
      return cuda::map(cuda::Context{device.index, op}, shape, out, out_strides, a, a_strides, b, b_strides, f);
    else fail_not_on_cuda(op, device);
  }
  cpu::map(shape, out, out_strides, a, a_strides, b, b_strides, f);
}

// out = f(a, b, c)
template <class Out, class A, class B, class C, class F>
void map(const char* op, Device device, const Shape& shape, Out* out, const Strides& out_strides, const A* a,
         const Strides& a_strides, const B* b, const Strides& b_strides, const C* c, const Strides& c_strides, F f) {
  if (device.is_cuda()) {
    if constexpr (cuda_has_map<F, Out, A, B, C>)
      return cuda::map(cuda::Context{device.index, op}, shape, out, out_strides, a, a_strides, b, b_strides, c, c_strides, f);
    else fail_not_on_cuda(op, device);
  }
  cpu::map(shape, out, out_strides, a, a_strides, b, b_strides, c, c_strides, f);
}

}  // namespace chord::backend
