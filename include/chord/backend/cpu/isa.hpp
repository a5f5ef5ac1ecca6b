#pragma once
// Which x86 vector instructions the CPU kernels may use, decided at run time.
//
// chord is header-only and users compile without -march=native, so the fast
// kernels (GEMM micro-kernels, vectorized exp/tanh) are functions that carry a
// target attribute (CHORD_TARGET_AVX2 / CHORD_TARGET_AVX512) and are called only
// after active_isa() says the CPU (and the OS) supports those instructions.
// Everywhere else, and on compilers or CPUs without them, the portable code runs.
//
// Defining CHORD_NO_X86_SIMD before including chord compiles the portable kernels only (the
// AVX2 and AVX-512 ones are not compiled at all): a file that multiplies matrices then compiles
// about 3 s faster (bench/README.md, "Compile time") and runs its products several times slower.
// Define it for the whole program (a compile definition of the target), never in some files
// only: the inline functions that choose the kernels must be the same in every file. Not with
// chord::compiled, whose library was compiled with the SIMD kernels.
//
// set_isa_limit() lowers the ISA the kernels may use: tests compare the AVX
// paths with the portable one through it. Results are bit-identical for any
// thread count at a given ISA; two ISAs give results that differ in rounding.

#include <atomic>
#include <cstdint>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(CHORD_NO_X86_SIMD)
#define CHORD_X86_SIMD 1
#define CHORD_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define CHORD_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
// A small helper that must be inlined into a kernel of the same target.
#define CHORD_INLINE_AVX2 __attribute__((target("avx2,fma"), always_inline)) inline
#define CHORD_INLINE_AVX512 __attribute__((target("avx512f,avx2,fma"), always_inline)) inline
#else
#define CHORD_X86_SIMD 0
#endif

// Hints to fetch the cache line at p into every cache level, to be read or to be written (no
// fault, no effect on results; nothing where the compiler has no prefetch builtin).
#if defined(__GNUC__) || defined(__clang__)
#define CHORD_PREFETCH_FOR_READ(p) __builtin_prefetch((p), 0, 3)
#define CHORD_PREFETCH_FOR_WRITE(p) __builtin_prefetch((p), 1, 3)
#else
#define CHORD_PREFETCH_FOR_READ(p) ((void)(p))
#define CHORD_PREFETCH_FOR_WRITE(p) ((void)(p))
#endif

namespace chord::cpu {

// The prefetch hint (CHORD_PREFETCH_FOR_READ or _WRITE) for every cache line of rows [0, m) of
// n elements, rows `rs` apart; no effect on results.
template <class T>
inline void prefetch_rows(const T* p, int64_t rs, int64_t m, int64_t n, bool write) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; j += 64 / static_cast<int64_t>(sizeof(T))) {
      if (write) {
        CHORD_PREFETCH_FOR_WRITE(p + i * rs + j);
      } else {
        CHORD_PREFETCH_FOR_READ(p + i * rs + j);
      }
    }
}

// Ordered: each one includes the ones before it.
enum class Isa { Portable = 0, Avx2 = 1, Avx512 = 2 };

inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx2: return "avx2+fma";
    case Isa::Avx512: return "avx512f";
    default: return "portable";
  }
}

// The best ISA this CPU and OS support (AVX2 needs FMA as well).
inline Isa detected_isa() {
#if CHORD_X86_SIMD
  static const Isa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return Isa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
    return Isa::Portable;
  }();
  return isa;
#else
  return Isa::Portable;
#endif
}

namespace isa_detail {
// The cap set by set_isa_limit (a test hook): a global with a reason.
inline std::atomic<int> limit{static_cast<int>(Isa::Avx512)};
}  // namespace isa_detail

// Caps the ISA the kernels use (Isa::Portable forces the portable code).
inline void set_isa_limit(Isa isa) { isa_detail::limit.store(static_cast<int>(isa), std::memory_order_relaxed); }
inline Isa isa_limit() { return static_cast<Isa>(isa_detail::limit.load(std::memory_order_relaxed)); }

// The ISA the kernels use now: the detected one, capped by set_isa_limit.
inline Isa active_isa() {
  const int d = static_cast<int>(detected_isa()), l = isa_detail::limit.load(std::memory_order_relaxed);
  return static_cast<Isa>(d < l ? d : l);
}

// Sets the cap for a scope and restores the previous one on exit.
struct IsaLimitGuard {
  Isa saved = isa_limit();
  explicit IsaLimitGuard(Isa isa) { set_isa_limit(isa); }
  ~IsaLimitGuard() { set_isa_limit(saved); }
  IsaLimitGuard(const IsaLimitGuard&) = delete;
  IsaLimitGuard& operator=(const IsaLimitGuard&) = delete;
};

}  // namespace chord::cpu
