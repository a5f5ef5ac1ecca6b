#pragma once
// The packed GEMM's cache blocks (gemm_kernel.hpp), derived at run time from the caches of
// the CPU the program runs on (cache_sizes.hpp) and the shape of the ISA's micro-kernel.
//
// The packed path keeps, for an MR x NR micro-kernel on T-sized elements:
//   a B micro-panel [KC, NR]   in L1d: every tile of a block of A reads it again;
//   an A block      [MC, KC]   in L2:  every micro-panel of B reads it again;
//   a B panel       [KC, NC]   in L3:  every block of A reads it again.
// KC is the one that decides the bits of C (each element is one chain of FMAs per KC block):
// it depends on L1d and the kernel only, never on the thread count, so the results stay
// bit-identical for any number of threads on one machine. MC and NC change the order in
// which tiles are computed, not any tile's arithmetic.
//
// CHORD_GEMM_BLOCKING=KC,MC,NC (environment) replaces the model for every kernel, to tune
// it on a new machine (bench/README.md, "The GEMM's blocking"); NC is rounded up to whole
// NR-wide panels.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "chord/backend/cpu/cache_sizes.hpp"
#include "chord/core/error.hpp"

namespace chord::cpu::gemm_kernel {

struct Blocking {
  int64_t KC = 0, MC = 0, NC = 0;  // elements
};

// The model (see the top of the file); every block at least one tile, KC a multiple of 8.
//   KC: the B micro-panel, KC x NR, fills L1d. The A micro-panel streaming through evicts
//       some of it, which the core then reads from L2 at a rate the micro-kernel can wait
//       for; a long KC updates C less often. Between 128 and 512. Measured on a Zen 3
//       (32 KB L1d, AVX2 6 x 16 float tiles): KC 512 ran the 1024- and 2048-square products
//       5-10% faster than KC 256 (half of L1d); on a Zen 4 (AVX-512 14 x 32 tiles) the model
//       gives the KC 256 that was tuned there by hand.
//   MC: the A block, MC x KC, fills half of L2, a multiple of MR; the rest of L2 holds the B
//       micro-panels on their way from L3 and the C tiles. On the Zen 3 (512 KB L2), MC 126
//       beat 72, 96, 144 and 192 with KC 512.
//   NC: the B panel, KC x NC, fills a quarter of L3 (shared with the other cores), a
//       multiple of NR, between 1024 and 8192: past a few thousand columns the panel's
//       reuse no longer pays for the pass over A that each panel costs.
// (bench/README.md, "The GEMM's blocking", has the measurements.)
inline Blocking blocking_for(const CacheSizes& caches, int MR, int NR, int element_size) {
  Blocking b;
  const int64_t l1 = caches.l1d > 0 ? caches.l1d : kDefaultCacheSizes.l1d,
                l2 = caches.l2 > 0 ? caches.l2 : kDefaultCacheSizes.l2,
                l3 = caches.l3 > 0 ? caches.l3 : kDefaultCacheSizes.l3;
  b.KC = l1 / (int64_t{NR} * element_size) / 8 * 8;
  b.KC = b.KC < 128 ? 128 : b.KC > 512 ? 512 : b.KC;
  b.MC = l2 / 2 / (b.KC * element_size) / MR * MR;
  if (b.MC < MR) b.MC = MR;
  b.NC = l3 / 4 / (b.KC * element_size) / NR * NR;
  const int64_t nc_min = (1024 + NR - 1) / NR * NR, nc_max = 8192 / NR * NR;
  b.NC = b.NC < nc_min ? nc_min : b.NC > nc_max ? nc_max : b.NC;
  return b;
}

// A test hook: blocks that replace every kernel's own (KC 0: none), so that small products
// cross every block boundary on any machine. Not thread-safe; set it between products.
inline Blocking& blocking_override() {
  static Blocking override_blocks;
  return override_blocks;
}
// The override for an NR-wide kernel: NC rounded up to whole panels, MC to at least one row.
inline Blocking overridden(Blocking b, int NR) {
  b.NC = (b.NC + NR - 1) / NR * NR;
  if (b.MC < 1) b.MC = 1;
  return b;
}
// Sets the override for a scope and restores the previous one on exit.
struct BlockingOverrideGuard {
  Blocking saved = blocking_override();
  explicit BlockingOverrideGuard(Blocking b) { blocking_override() = b; }
  ~BlockingOverrideGuard() { blocking_override() = saved; }
  BlockingOverrideGuard(const BlockingOverrideGuard&) = delete;
  BlockingOverrideGuard& operator=(const BlockingOverrideGuard&) = delete;
};

// CHORD_GEMM_BLOCKING's value "KC,MC,NC" (three positive integers), NC rounded up to a
// multiple of NR. Throws chord::Error naming the variable for anything else.
inline Blocking parse_blocking(const char* text, int NR) {
  const std::string s = text ? text : "";
  Blocking b;
  int64_t* fields[3] = {&b.KC, &b.MC, &b.NC};
  std::size_t pos = 0;
  for (int f = 0; f < 3; ++f) {
    const std::size_t end = f < 2 ? s.find(',', pos) : s.size();
    const std::string part = end == std::string::npos ? "" : s.substr(pos, end - pos);
    char* stop = nullptr;
    const long long v = part.empty() ? 0 : std::strtoll(part.c_str(), &stop, 10);
    check(!part.empty() && *stop == '\0' && v > 0 && v <= (1 << 20), "CHORD_GEMM_BLOCKING",
          "expected three positive integers KC,MC,NC (such as 512,126,4096), got '", s, "'");
    *fields[f] = v;
    pos = end + 1;
  }
  return overridden(b, NR);
}

// The blocks for a micro-kernel of MR x NR elements of element_size bytes on this CPU:
// CHORD_GEMM_BLOCKING when it is set, else the model on detected_cache_sizes().
inline Blocking gemm_blocking(int MR, int NR, int element_size) {
  if (const char* env = std::getenv("CHORD_GEMM_BLOCKING")) return parse_blocking(env, NR);
  return blocking_for(detected_cache_sizes(), MR, NR, element_size);
}

}  // namespace chord::cpu::gemm_kernel
