#pragma once
// exp and tanh written so that a loop of them vectorizes, and a way to run such
// a loop compiled for the best vector instructions the CPU has.
//
// libm's exp and tanh are one call per element: a loop of them stays scalar,
// and GELU alone took a third of a GPT training step. vector_exp and
// vector_tanh use only arithmetic, comparisons and bit casts, so under
// `#pragma omp simd` the compiler turns them into vector code.
//
// Accuracy (measured against std::exp / std::tanh by tests/test_vector_math.cpp):
//   vector_exp:  within 1 ulp (float and double); 0 where the result would be
//                below the smallest normal number, +inf above the largest finite
//                one; NaN stays NaN.
//   vector_tanh: within 2 ulp (float and double); exactly +-1 for large |x|; the
//                sign of zero kept; NaN stays NaN.
//   vector_sqrt: within 1 ulp (float and double) for x >= 0, subnormals included;
//                sqrt(+inf) = +inf; NaN for x < 0 or NaN. (std::sqrt keeps a loop
//                scalar too, unless -fno-math-errno: it must be able to set errno.)
//
// The selects are bit masks from quiet comparisons: ternaries on floats are not
// if-converted under -ftrapping-math (the default), so they would keep a loop
// scalar.

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "chord/backend/cpu/isa.hpp"

namespace chord::cpu {

namespace vector_math_detail {

template <class T>
struct Constants;
template <>
struct Constants<float> {
  using Bits = int32_t;
  // lo: about log(FLT_MIN), below which exp would be subnormal (slow on x86); hi: the largest x with a finite exp.
  static constexpr float lo = -87.3365402f, hi = 88.7228317f, round = 12582912.0f;  // round: 1.5 * 2^23
  static constexpr float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  static constexpr int mantissa = 23, bias = 127;
  // Where tanh switches from its odd polynomial to 1 - 2 / (exp(2|x|) + 1), and where it is 1.
  static constexpr float tanh_small = 0.625f, tanh_one = 9.1f;
};
template <>
struct Constants<double> {
  using Bits = int64_t;
  static constexpr double lo = -708.3964185322641, hi = 709.782712893384, round = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  static constexpr int mantissa = 52, bias = 1023;
  static constexpr double tanh_small = 0.625, tanh_one = 19.1;
};

template <class T>
inline typename Constants<T>::Bits bits_of(T v) {
  return std::bit_cast<typename Constants<T>::Bits>(v);
}
template <class T>
inline T from_bits(typename Constants<T>::Bits b) {
  return std::bit_cast<T>(b);
}
// mask ? a : b, for a mask of all ones or all zeros.
template <class Bits>
inline Bits select(Bits mask, Bits a, Bits b) {
  return (a & mask) | (b & ~mask);
}
// All ones where the comparison holds (false for NaN), else zero.
template <class Bits>
inline Bits mask_of(bool condition) {
  return -static_cast<Bits>(condition);
}

}  // namespace vector_math_detail

// exp(x): x = n ln2 + r with |r| <= ln2 / 2 (Cody-Waite), exp(r) by a polynomial
// (Cephes' expf for float; Taylor to r^13 for double), 2^n put into the exponent
// bits (in two halves, so that n up to 128 / 1024 does not overflow the exponent
// field before the product rounds to +inf).
template <class T>
inline T vector_exp(T x) {
  using namespace vector_math_detail;
  using C = Constants<T>;
  using Bits = typename C::Bits;
  // In range: lo <= x <= hi (false for NaN). Outside it the polynomial runs on 0 and its result is replaced.
  const Bits in_range = mask_of<Bits>(std::isgreaterequal(x, C::lo)) & mask_of<Bits>(std::islessequal(x, C::hi));
  const T xc = from_bits<T>(select(in_range, bits_of(x), bits_of(T(0))));
  // round(x / ln2) lands in the low mantissa bits of t; read there, not as t - round, which
  // -ffast-math could fold to x / ln2.
  const T t = xc * T(1.44269504088896340736) + C::round;
  const int32_t ni = static_cast<int32_t>(bits_of(t)) - static_cast<int32_t>(bits_of(C::round));
  const T n = static_cast<T>(ni);
  const T r = (xc - n * C::ln2_hi) - n * C::ln2_lo;
  T p;
  if constexpr (sizeof(T) == 4) {
    p = T(1.9875691500e-4);
    p = p * r + T(1.3981999507e-3);
    p = p * r + T(8.3334519073e-3);
    p = p * r + T(4.1665795894e-2);
    p = p * r + T(1.6666665459e-1);
    p = p * r + T(5.0000001201e-1);
    p = p * (r * r) + r + T(1);
  } else {
    p = T(1.0 / 6227020800.0);  // 1 / 13!, then down to 1 / 0!
    p = p * r + T(1.0 / 479001600.0);
    p = p * r + T(1.0 / 39916800.0);
    p = p * r + T(1.0 / 3628800.0);
    p = p * r + T(1.0 / 362880.0);
    p = p * r + T(1.0 / 40320.0);
    p = p * r + T(1.0 / 5040.0);
    p = p * r + T(1.0 / 720.0);
    p = p * r + T(1.0 / 120.0);
    p = p * r + T(1.0 / 24.0);
    p = p * r + T(1.0 / 6.0);
    p = p * r + T(0.5);
    p = p * r + T(1);
    p = p * r + T(1);
  }
  // 2^n = 2^(n - n/2) * 2^(n/2): each half is a normal number for every n the clamp allows.
  const int32_t half = ni >> 1;
  const T scale_a = from_bits<T>(static_cast<Bits>(static_cast<Bits>(half + C::bias) << C::mantissa));
  const T scale_b = from_bits<T>(static_cast<Bits>(static_cast<Bits>(ni - half + C::bias) << C::mantissa));
  const T y = (p * scale_a) * scale_b;
  const Bits nan = mask_of<Bits>(std::isunordered(x, x));
  const Bits overflow = mask_of<Bits>(std::isgreater(x, C::hi));
  const Bits outside = select(nan, bits_of(x), select(overflow, bits_of(std::numeric_limits<T>::infinity()), bits_of(T(0))));
  return from_bits<T>(select(in_range, bits_of(y), outside));
}

// tanh(x): for |x| < 0.625 an odd polynomial / rational function (Cephes' tanhf and tanh),
// above it 1 - 2 / (exp(2|x|) + 1), and 1 from where that rounds to 1; the sign of x put back.
template <class T>
inline T vector_tanh(T x) {
  using namespace vector_math_detail;
  using C = Constants<T>;
  using Bits = typename C::Bits;
  const Bits sign_bit = Bits(1) << (sizeof(T) * 8 - 1);
  const Bits sign = bits_of(x) & sign_bit;
  const T a = from_bits<T>(bits_of(x) & ~sign_bit);  // |x|
  const T z = a * a;
  T small;
  if constexpr (sizeof(T) == 4) {
    T p = T(-5.70498872745e-3);
    p = p * z + T(2.06390887954e-2);
    p = p * z + T(-5.37397155531e-2);
    p = p * z + T(1.33314422036e-1);
    p = p * z + T(-3.33332819422e-1);
    small = p * z * a + a;
  } else {
    T p = T(-9.64399179425052238628e-1);
    p = p * z + T(-9.92877231001918586564e1);
    p = p * z + T(-1.61468768441708447952e3);
    T q = z + T(1.12811678491632931402e2);
    q = q * z + T(2.23548839060100448583e3);
    q = q * z + T(4.84406305325125486048e3);
    small = a + a * (z * p / q);
  }
  const T large = T(1) - T(2) / (vector_exp(T(2) * a) + T(1));  // exp's +inf for large a gives 1
  const Bits is_small = mask_of<Bits>(std::isless(a, C::tanh_small));
  const Bits is_one = mask_of<Bits>(std::isgreaterequal(a, C::tanh_one));
  const Bits magnitude = select(is_small, bits_of(small), select(is_one, bits_of(T(1)), bits_of(large)));
  return from_bits<T>(magnitude | sign);  // NaN: a is NaN, every branch gives NaN
}

// sqrt(x) by Newton's method on 1/sqrt(x) from the bit-trick estimate (3 steps for float,
// 4 for double), then one Newton step on sqrt(x) itself, which leaves it within 1 ulp.
// Subnormal x is scaled up by 2^(2k) first (exact) and the result down by 2^k.
template <class T>
inline T vector_sqrt(T x) {
  using namespace vector_math_detail;
  using C = Constants<T>;
  using Bits = typename C::Bits;
  constexpr bool is_float = sizeof(T) == 4;
  constexpr Bits kMagic = is_float ? Bits(0x5f375a86) : Bits(0x5fe6eb50c7b537a9);
  constexpr T kUp = is_float ? T(16777216.0) : T(4503599627370496.0);  // 2^24 / 2^52
  constexpr T kDown = is_float ? T(1.0 / 4096.0) : T(1.0 / 67108864.0);  // 2^-12 / 2^-26
  const Bits tiny = mask_of<Bits>(std::isless(x, std::numeric_limits<T>::min()));
  const T y = from_bits<T>(select(tiny, bits_of(x * kUp), bits_of(x)));
  T r = from_bits<T>(static_cast<Bits>(kMagic - (bits_of(y) >> 1)));
  const T half = T(0.5) * y;
  r = r * (T(1.5) - half * r * r);
  r = r * (T(1.5) - half * r * r);
  r = r * (T(1.5) - half * r * r);
  if constexpr (!is_float) r = r * (T(1.5) - half * r * r);
  T root = y * r;
  root = root + T(0.5) * r * (y - root * root);
  root = from_bits<T>(select(tiny, bits_of(root * kDown), bits_of(root)));
  // 0 stays (+-)0 and +inf stays +inf (the steps above give NaN there); negative x gives NaN.
  const Bits keep = mask_of<Bits>(x == T(0)) | mask_of<Bits>(x == std::numeric_limits<T>::infinity());
  const Bits negative = mask_of<Bits>(std::isless(x, T(0)));
  return from_bits<T>(
      select(keep, bits_of(x), select(negative, bits_of(std::numeric_limits<T>::quiet_NaN()), bits_of(root))));
}

// ---- running a kernel compiled for the best ISA ------------------------------------
//
// A kernel is a struct with a static template function `run(args...)` that works on
// a range serially (the caller splits the work between threads). run_kernel<K>(isa,
// args...) calls it through a copy compiled for AVX-512 or AVX2+FMA when `isa` allows:
// `flatten` inlines the whole call tree (vector_exp included) into that copy, so its
// loops are vectorized for those instructions. Different ISAs may round differently;
// one ISA gives the same bits for any thread count.

namespace vector_math_detail {
#if CHORD_X86_SIMD
template <class Kernel, class... Args>
CHORD_TARGET_AVX512 __attribute__((flatten)) void run_avx512(Args... args) {
  Kernel::run(args...);
}
template <class Kernel, class... Args>
CHORD_TARGET_AVX2 __attribute__((flatten)) void run_avx2(Args... args) {
  Kernel::run(args...);
}
#endif
}  // namespace vector_math_detail

template <class Kernel, class... Args>
void run_kernel(Isa isa, Args... args) {
#if CHORD_X86_SIMD
  if (isa >= Isa::Avx512) return vector_math_detail::run_avx512<Kernel>(args...);
  if (isa >= Isa::Avx2) return vector_math_detail::run_avx2<Kernel>(args...);
#endif
  (void)isa;
  Kernel::run(args...);
}

}  // namespace chord::cpu
