#pragma once
// Elementwise kernels on strided operands with NumPy broadcasting: the CUDA
// side of cpu::map. An operand is (pointer, strides over the loop shape), with
// stride 0 along broadcast dims; the functor is one of chord::fn's.
//
//   cuda::map(ctx, shape, out, out_strides, a, a_strides, fn::Exp{});
//
// The launchers are templates declared here and instantiated only in the
// implementation unit, for the (functor, output type, input types) listed in
// CHORD_CUDA_MAPS_1/2/3 below; cuda::HasMap<F, Out, In...> says whether a
// combination is there, so that an op asks before it calls (and reports "not
// implemented on cuda" for one that is missing instead of failing to link).
// To support a new elementwise op on CUDA, add its line to the list.
//
// Kernel: one thread per element (a grid-stride loop). Dims of size 1 are
// dropped and adjacent dims that are contiguous for every operand merged
// first, so the common cases (all contiguous, or one operand a broadcast row)
// index with one multiply-add and no division.

#include <cstdint>
#include <type_traits>

#include "chord/backend/cuda/runtime.hpp"
#include "chord/backend/functors.hpp"
#include "chord/core/shape.hpp"

namespace chord::cuda {

template <class Out, class A, class F>
void map(const Context& ctx, const Shape& shape, Out* out, const Strides& out_strides, const A* a,
         const Strides& a_strides, F f);
template <class Out, class A, class B, class F>
void map(const Context& ctx, const Shape& shape, Out* out, const Strides& out_strides, const A* a,
         const Strides& a_strides, const B* b, const Strides& b_strides, F f);
template <class Out, class A, class B, class C, class F>
void map(const Context& ctx, const Shape& shape, Out* out, const Strides& out_strides, const A* a,
         const Strides& a_strides, const B* b, const Strides& b_strides, const C* c, const Strides& c_strides, F f);

namespace detail {
// CHORD_CUDA_TYPE((fn::WithScalar<fn::Add, float>)): a type written in parentheses, so that
// the commas of its template arguments survive being a macro argument.
template <class>
struct Unparen;
template <class U>
struct Unparen<void(U)> {
  using type = U;
};
}  // namespace detail
#define CHORD_CUDA_TYPE(parenthesized) typename ::chord::cuda::detail::Unparen<void parenthesized>::type

// ---- the instantiated maps: X((functor), output type, input types...) -------------------

// One input: copies, fills, activations, scalar arithmetic and comparisons.
#define CHORD_CUDA_FLOAT_MAPS_1(X, T)                                                                    \
  X((fn::Identity), T, T) X((fn::Fill<T>), T, T) X((fn::Neg), T, T) X((fn::Scale<T>), T, T)            \
  X((fn::ScaleShift<T>), T, T) X((fn::PowScalar<T>), T, T) X((fn::Exp), T, T) X((fn::Log), T, T)       \
  X((fn::Sqrt), T, T) X((fn::Abs), T, T) X((fn::Tanh), T, T) X((fn::Sigmoid), T, T) X((fn::Relu), T, T) \
  X((fn::Gelu), T, T) X((fn::Clamp<T>), T, T) X((fn::FiniteOrZero), T, T)                              \
  X((fn::WithScalar<fn::Add, T>), T, T) X((fn::WithScalar<fn::Sub, T>), T, T)                          \
  X((fn::WithScalar<fn::Mul, T>), T, T) X((fn::WithScalar<fn::Div, T>), T, T)                          \
  X((fn::WithScalar<fn::Equal, T>), bool, T) X((fn::WithScalar<fn::NotEqual, T>), bool, T)             \
  X((fn::WithScalar<fn::Less, T>), bool, T) X((fn::WithScalar<fn::LessEqual, T>), bool, T)             \
  X((fn::WithScalar<fn::Greater, T>), bool, T) X((fn::WithScalar<fn::GreaterEqual, T>), bool, T)
#define CHORD_CUDA_MAPS_1(X)                                                                             \
  CHORD_CUDA_FLOAT_MAPS_1(X, float)                                                                      \
  CHORD_CUDA_FLOAT_MAPS_1(X, double)                                                                     \
  X((fn::Identity), int64_t, int64_t) X((fn::Identity), bool, bool)                                      \
  X((fn::Fill<int64_t>), int64_t, int64_t) X((fn::Fill<bool>), bool, bool)                               \
  X((fn::WithScalar<fn::Equal, int64_t>), bool, int64_t) X((fn::WithScalar<fn::NotEqual, int64_t>), bool, int64_t) \
  X((fn::WithScalar<fn::Less, int64_t>), bool, int64_t) X((fn::WithScalar<fn::LessEqual, int64_t>), bool, int64_t) \
  X((fn::WithScalar<fn::Greater, int64_t>), bool, int64_t)                                               \
  X((fn::WithScalar<fn::GreaterEqual, int64_t>), bool, int64_t)

// Two inputs: arithmetic, comparisons, selection, in-place updates and copies, gradients.
#define CHORD_CUDA_FLOAT_MAPS_2(X, T)                                                                     \
  X((fn::AddScaled<T>), T, T, T) X((fn::Add), T, T, T) X((fn::Sub), T, T, T) X((fn::Mul), T, T, T)       \
  X((fn::Div), T, T, T) X((fn::Pow), T, T, T) X((fn::PowScalarGrad<T>), T, T, T) X((fn::Second), T, T, T) \
  X((fn::Equal), bool, T, T) X((fn::NotEqual), bool, T, T) X((fn::Less), bool, T, T)                     \
  X((fn::LessEqual), bool, T, T) X((fn::Greater), bool, T, T) X((fn::GreaterEqual), bool, T, T)          \
  X((fn::PickFirst<fn::Greater>), T, T, T) X((fn::PickFirst<fn::Less>), T, T, T)                         \
  X((fn::KeepWhere), T, bool, T) X((fn::KeepWhereNot), T, bool, T) X((fn::MaskedFill<T>), T, T, bool)    \
  X((fn::ZeroWhere), T, T, bool) X((fn::TiesIndicator), T, T, T)                                        \
  X((fn::ExpOfDifference), T, T, T) X((fn::AddLog), T, T, T) X((fn::SquaredDifference), T, T, T)
#define CHORD_CUDA_MAPS_2(X)                                                                              \
  CHORD_CUDA_FLOAT_MAPS_2(X, float)                                                                       \
  CHORD_CUDA_FLOAT_MAPS_2(X, double)                                                                      \
  X((fn::Second), int64_t, int64_t, int64_t) X((fn::Second), bool, bool, bool)                            \
  X((fn::Equal), bool, int64_t, int64_t) X((fn::NotEqual), bool, int64_t, int64_t)                        \
  X((fn::Less), bool, int64_t, int64_t) X((fn::LessEqual), bool, int64_t, int64_t)                        \
  X((fn::Greater), bool, int64_t, int64_t) X((fn::GreaterEqual), bool, int64_t, int64_t)                  \
  X((fn::Equal), bool, bool, bool) X((fn::NotEqual), bool, bool, bool)

// Three inputs: the backward of the pointwise ops (g, x, y), where, and a few gradients.
#define CHORD_CUDA_FLOAT_MAPS_3(X, T)                                                                       \
  X((fn::TimesDerivative<fn::ExpDerivative>), T, T, T, T) X((fn::TimesDerivative<fn::LogDerivative>), T, T, T, T) \
  X((fn::TimesDerivative<fn::SqrtDerivative>), T, T, T, T)                                                  \
  X((fn::TimesDerivative<fn::AbsDerivative>), T, T, T, T)                                                   \
  X((fn::TimesDerivative<fn::TanhDerivative>), T, T, T, T)                                                  \
  X((fn::TimesDerivative<fn::SigmoidDerivative>), T, T, T, T)                                               \
  X((fn::TimesDerivative<fn::ReluDerivative>), T, T, T, T)                                                  \
  X((fn::TimesDerivative<fn::GeluDerivative>), T, T, T, T)                                                  \
  X((fn::TimesDerivative<fn::ClampDerivative<T>>), T, T, T, T)                                              \
  X((fn::DivGradDenominator), T, T, T, T) X((fn::PowGradBase), T, T, T, T) X((fn::PowGradExponent), T, T, T, T) \
  X((fn::PickShareFirst<fn::Greater>), T, T, T, T) X((fn::PickShareSecond<fn::Greater>), T, T, T, T)        \
  X((fn::PickShareFirst<fn::Less>), T, T, T, T) X((fn::PickShareSecond<fn::Less>), T, T, T, T)              \
  X((fn::Where), T, bool, T, T) X((fn::TiesSelect), T, T, T, T)                                            \
  X((fn::LogsumexpGrad), T, T, T, T) X((fn::VarGrad<T>), T, T, T, T)
#define CHORD_CUDA_MAPS_3(X) CHORD_CUDA_FLOAT_MAPS_3(X, float) CHORD_CUDA_FLOAT_MAPS_3(X, double)

// HasMap<F, Out, In...>::value: whether cuda::map is instantiated for that combination.
template <class F, class Out, class... In>
struct HasMap : std::false_type {};
#define CHORD_CUDA_DECLARE_MAP(F, Out, ...) \
  template <>                               \
  struct HasMap<CHORD_CUDA_TYPE(F), Out, __VA_ARGS__> : std::true_type {};
CHORD_CUDA_MAPS_1(CHORD_CUDA_DECLARE_MAP)
CHORD_CUDA_MAPS_2(CHORD_CUDA_DECLARE_MAP)
CHORD_CUDA_MAPS_3(CHORD_CUDA_DECLARE_MAP)
#undef CHORD_CUDA_DECLARE_MAP

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include "chord/backend/cuda/strided_loop.hpp"

namespace chord::cuda {

namespace elementwise_detail {

// The loop over N operands after dropping size-1 dims and merging contiguous ones:
// element i (row-major over sizes) of operand k is at offset sum_d index_d * strides[k][d].
template <int N>
struct Loop {
  int ndim = 0;
  int64_t numel = 1;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};
  bool dense = false;  // one dim, every stride 1: offset = i

  __device__ void offsets(int64_t i, int64_t (&off)[N]) const {
    for (int k = 0; k < N; ++k) off[k] = 0;
    if (ndim == 1) {
      for (int k = 0; k < N; ++k) off[k] = i * strides[k][0];
      return;
    }
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t index = i % sizes[d];
      i /= sizes[d];
      for (int k = 0; k < N; ++k) off[k] += index * strides[k][d];
    }
  }
};

template <int N>
Loop<N> make_loop(const Shape& shape, const Strides* const (&operand_strides)[N]) {
  Loop<N> loop;
  for (int d = 0; d < shape.size(); ++d) {
    loop.numel *= shape[d];
    if (shape[d] == 1) continue;
    const int last = loop.ndim - 1;
    bool mergeable = last >= 0;
    for (int k = 0; k < N && mergeable; ++k)
      mergeable = loop.strides[k][last] == (*operand_strides[k])[d] * shape[d];
    if (mergeable) {
      loop.sizes[last] *= shape[d];
      for (int k = 0; k < N; ++k) loop.strides[k][last] = (*operand_strides[k])[d];
    } else {
      loop.sizes[loop.ndim] = shape[d];
      for (int k = 0; k < N; ++k) loop.strides[k][loop.ndim] = (*operand_strides[k])[d];
      ++loop.ndim;
    }
  }
  if (loop.ndim == 0) {  // a single element
    loop.ndim = 1;
    loop.sizes[0] = 1;
    for (int k = 0; k < N; ++k) loop.strides[k][0] = 0;
  }
  loop.dense = loop.ndim == 1;
  for (int k = 0; k < N; ++k) loop.dense = loop.dense && loop.strides[k][0] == 1;
  return loop;
}

inline constexpr int kThreads = 256;

template <class Out, class A, class F>
__global__ void map1_kernel(Loop<2> loop, Out* out, const A* a, F f) {
  const int64_t step = int64_t{gridDim.x} * blockDim.x;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < loop.numel; i += step) {
    if (loop.dense) {
      out[i] = f(a[i]);
    } else {
      int64_t off[2];
      loop.offsets(i, off);
      out[off[0]] = f(a[off[1]]);
    }
  }
}

template <class Out, class A, class B, class F>
__global__ void map2_kernel(Loop<3> loop, Out* out, const A* a, const B* b, F f) {
  const int64_t step = int64_t{gridDim.x} * blockDim.x;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < loop.numel; i += step) {
    if (loop.dense) {
      out[i] = f(a[i], b[i]);
    } else {
      int64_t off[3];
      loop.offsets(i, off);
      out[off[0]] = f(a[off[1]], b[off[2]]);
    }
  }
}

template <class Out, class A, class B, class C, class F>
__global__ void map3_kernel(Loop<4> loop, Out* out, const A* a, const B* b, const C* c, F f) {
  const int64_t step = int64_t{gridDim.x} * blockDim.x;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < loop.numel; i += step) {
    if (loop.dense) {
      out[i] = f(a[i], b[i], c[i]);
    } else {
      int64_t off[4];
      loop.offsets(i, off);
      out[off[0]] = f(a[off[1]], b[off[2]], c[off[3]]);
    }
  }
}

}  // namespace elementwise_detail

template <class Out, class A, class F>
void map(const Context& ctx, const Shape& shape, Out* out, const Strides& out_strides, const A* a,
         const Strides& a_strides, F f) {
  using namespace elementwise_detail;
  const Loop<2> loop = make_loop<2>(shape, {&out_strides, &a_strides});
  if (loop.numel == 0) return;
  cudaStream_t stream = stream_for(ctx);
  map1_kernel<<<blocks_for(loop.numel, kThreads), kThreads, 0, stream>>>(loop, out, a, f);
  check_launch(ctx, stream, "map1_kernel");
}

template <class Out, class A, class B, class F>
void map(const Context& ctx, const Shape& shape, Out* out, const Strides& out_strides, const A* a,
         const Strides& a_strides, const B* b, const Strides& b_strides, F f) {
  using namespace elementwise_detail;
  const Loop<3> loop = make_loop<3>(shape, {&out_strides, &a_strides, &b_strides});
  if (loop.numel == 0) return;
  cudaStream_t stream = stream_for(ctx);
  map2_kernel<<<blocks_for(loop.numel, kThreads), kThreads, 0, stream>>>(loop, out, a, b, f);
  check_launch(ctx, stream, "map2_kernel");
}

template <class Out, class A, class B, class C, class F>
void map(const Context& ctx, const Shape& shape, Out* out, const Strides& out_strides, const A* a,
         const Strides& a_strides, const B* b, const Strides& b_strides, const C* c, const Strides& c_strides, F f) {
  using namespace elementwise_detail;
  const Loop<4> loop = make_loop<4>(shape, {&out_strides, &a_strides, &b_strides, &c_strides});
  if (loop.numel == 0) return;
  cudaStream_t stream = stream_for(ctx);
  map3_kernel<<<blocks_for(loop.numel, kThreads), kThreads, 0, stream>>>(loop, out, a, b, c, f);
  check_launch(ctx, stream, "map3_kernel");
}

// The explicit instantiations the ops link against.
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
CHORD_CUDA_MAPS_1(CHORD_CUDA_INSTANTIATE_MAP_1)
CHORD_CUDA_MAPS_2(CHORD_CUDA_INSTANTIATE_MAP_2)
CHORD_CUDA_MAPS_3(CHORD_CUDA_INSTANTIATE_MAP_3)
#undef CHORD_CUDA_INSTANTIATE_MAP_1
#undef CHORD_CUDA_INSTANTIATE_MAP_2
#undef CHORD_CUDA_INSTANTIATE_MAP_3

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
