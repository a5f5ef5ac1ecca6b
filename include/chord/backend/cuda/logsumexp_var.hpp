#pragma once
// The elementwise steps of logsumexp and var (ops/reduction.hpp), as chord::fn
// functors that both backends run, and their CUDA map instantiations. The
// reductions between the steps are cuda::reduce's (Max, Mean, Sum):
//
//   logsumexp: s = max(x) (0 where not finite);  out = s + log(sum exp(x - s))
//              backward: gx = g * exp(x - out)  (0 where out = -inf: an all -inf slice)
//   var:       m = mean(x);  out = sum (x - m)^2 / (count - correction)
//              backward: gx = g * 2 / (count - correction) * (x - m)
//
// On the host each body is the expression the CPU computed before these ops ran on
// a GPU, so CPU results are unchanged. (They live here rather than in
// backend/functors.hpp so that this header can instantiate them by itself.)

#include <cmath>
#include <limits>

#include "chord/backend/cuda/elementwise.hpp"
#include "chord/backend/host_device.hpp"

namespace chord::fn {

// v where finite, else 0: logsumexp's shift (no shift for a slice of infinities or NaN).
struct FiniteOrZero {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v) const { return std::isfinite(v) ? v : T(0); }
};
// (x, s) -> exp(x - s)
struct ExpOfDifference {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T x, T s) const { return std::exp(x - s); }
};
// (s, sum) -> s + log(sum)
struct AddLog {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T s, T sum) const { return s + std::log(sum); }
};
// (x, y, g) -> g * exp(x - y), 0 where y = -inf (y = logsumexp of x's slice)
struct LogsumexpGrad {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T x, T y, T g) const {
    return y == -std::numeric_limits<T>::infinity() ? T(0) : g * std::exp(x - y);
  }
};
// (x, m) -> (x - m)^2
struct SquaredDifference {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T x, T m) const { return (x - m) * (x - m); }
};
// (x, m, g) -> g * scale * (x - m): var's backward with scale = 2 / (count - correction)
template <class T>
struct VarGrad {
  T scale;
  CHORD_HOST_DEVICE T operator()(T x, T m, T g) const { return g * scale * (x - m); }
};

}  // namespace chord::fn

namespace chord::cuda {

// X((functor), output type, input types...), one list per number of inputs, as in elementwise.hpp.
#define CHORD_CUDA_LOGSUMEXP_VAR_MAPS_1(X, T) X((fn::FiniteOrZero), T, T)
#define CHORD_CUDA_LOGSUMEXP_VAR_MAPS_2(X, T) \
  X((fn::ExpOfDifference), T, T, T) X((fn::AddLog), T, T, T) X((fn::SquaredDifference), T, T, T)
#define CHORD_CUDA_LOGSUMEXP_VAR_MAPS_3(X, T) X((fn::LogsumexpGrad), T, T, T, T) X((fn::VarGrad<T>), T, T, T, T)
#define CHORD_CUDA_LOGSUMEXP_VAR_MAPS(X, T)                                        \
  CHORD_CUDA_LOGSUMEXP_VAR_MAPS_1(X, T) CHORD_CUDA_LOGSUMEXP_VAR_MAPS_2(X, T) \
  CHORD_CUDA_LOGSUMEXP_VAR_MAPS_3(X, T)

#define CHORD_CUDA_DECLARE_MAP(F, Out, ...) \
  template <>                               \
  struct HasMap<CHORD_CUDA_TYPE(F), Out, __VA_ARGS__> : std::true_type {};
CHORD_CUDA_LOGSUMEXP_VAR_MAPS(CHORD_CUDA_DECLARE_MAP, float)
CHORD_CUDA_LOGSUMEXP_VAR_MAPS(CHORD_CUDA_DECLARE_MAP, double)
#undef CHORD_CUDA_DECLARE_MAP

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

namespace chord::cuda {

// The map launchers are defined in elementwise.hpp's implementation part (included above).
#define CHORD_CUDA_INSTANTIATE_MAP_1(F, Out, A)                                                     \
  template void map<Out, A, CHORD_CUDA_TYPE(F)>(const Context&, const Shape&, Out*, const Strides&, \
                                                const A*, const Strides&, CHORD_CUDA_TYPE(F));
#define CHORD_CUDA_INSTANTIATE_MAP_2(F, Out, A, B)                                                     \
  template void map<Out, A, B, CHORD_CUDA_TYPE(F)>(const Context&, const Shape&, Out*, const Strides&, \
                                                   const A*, const Strides&, const B*, const Strides&, \
                                                   CHORD_CUDA_TYPE(F));
#define CHORD_CUDA_INSTANTIATE_MAP_3(F, Out, A, B, C)                                                     \
  template void map<Out, A, B, C, CHORD_CUDA_TYPE(F)>(const Context&, const Shape&, Out*, const Strides&, \
                                                      const A*, const Strides&, const B*, const Strides&, \
                                                      const C*, const Strides&, CHORD_CUDA_TYPE(F));
CHORD_CUDA_LOGSUMEXP_VAR_MAPS_1(CHORD_CUDA_INSTANTIATE_MAP_1, float)
CHORD_CUDA_LOGSUMEXP_VAR_MAPS_1(CHORD_CUDA_INSTANTIATE_MAP_1, double)
CHORD_CUDA_LOGSUMEXP_VAR_MAPS_2(CHORD_CUDA_INSTANTIATE_MAP_2, float)
CHORD_CUDA_LOGSUMEXP_VAR_MAPS_2(CHORD_CUDA_INSTANTIATE_MAP_2, double)
CHORD_CUDA_LOGSUMEXP_VAR_MAPS_3(CHORD_CUDA_INSTANTIATE_MAP_3, float)
CHORD_CUDA_LOGSUMEXP_VAR_MAPS_3(CHORD_CUDA_INSTANTIATE_MAP_3, double)
#undef CHORD_CUDA_INSTANTIATE_MAP_1
#undef CHORD_CUDA_INSTANTIATE_MAP_2
#undef CHORD_CUDA_INSTANTIATE_MAP_3

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
