#pragma once
// The data caches of the CPU this program runs on, read once at run time. The GEMM derives
// its cache blocking from them (gemm_blocking.hpp), so that one build runs well on a core
// with 32 KB of L1d and 512 KB of L2 (AMD Zen 3) and on one with 48 KB and 2 MB (Intel
// Sapphire Rapids).
//
// Where the sizes come from, first that answers:
//   1. Linux's sysfs: /sys/devices/system/cpu/cpu0/cache/index*/{level,type,size};
//   2. on x86, CPUID's cache descriptors: leaf 4 (Intel) or leaf 0x8000001D (AMD), each
//      cache's size being ways x partitions x line size x sets;
//   3. a common x86 core of the last decade: 32 KB L1d, 512 KB L2, 8 MB L3.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

namespace chord::cpu {

struct CacheSizes {
  int64_t l1d = 0;  // bytes, one core's L1 data cache
  int64_t l2 = 0;   // bytes, one core's L2 (the whole L2 where cores share it)
  int64_t l3 = 0;   // bytes, the whole L3 (shared by several cores); 0 when there is none
  const char* source = "default";  // "sysfs", "cpuid" or "default"
};

// The sizes assumed where neither sysfs nor CPUID answers (and for any size they leave at 0).
inline constexpr CacheSizes kDefaultCacheSizes{32 << 10, 512 << 10, 8 << 20, "default"};

namespace cache_detail {

// "32K" -> 32768, "1M" -> 1048576, "512" -> 512; 0 for anything else.
inline int64_t parse_size(const char* text) {
  if (!text) return 0;
  char* end = nullptr;
  const long long n = std::strtoll(text, &end, 10);
  if (end == text || n <= 0) return 0;
  int64_t scale = 1;
  if (*end == 'K' || *end == 'k') scale = int64_t{1} << 10, ++end;
  else if (*end == 'M' || *end == 'm') scale = int64_t{1} << 20, ++end;
  else if (*end == 'G' || *end == 'g') scale = int64_t{1} << 30, ++end;
  while (*end == '\n' || *end == ' ') ++end;
  return *end == '\0' ? n * scale : 0;
}

// Reads the first line of a small text file into buf (without its newline); false when it cannot.
inline bool read_line(const char* path, char* buf, int size) {
  std::FILE* f = std::fopen(path, "r");
  if (!f) return false;
  const bool ok = std::fgets(buf, size, f) != nullptr;
  std::fclose(f);
  if (ok) buf[std::strcspn(buf, "\n")] = '\0';
  return ok;
}

// Fills l1d, l2, l3 from sysfs; false when it holds no data or unified cache of level 1 or 2.
inline bool from_sysfs(CacheSizes& out, const char* root = "/sys/devices/system/cpu/cpu0/cache") {
  CacheSizes c;
  for (int index = 0; index < 16; ++index) {
    char path[256], level[16], type[32], size[32];
    std::snprintf(path, sizeof path, "%s/index%d/level", root, index);
    if (!read_line(path, level, sizeof level)) continue;
    std::snprintf(path, sizeof path, "%s/index%d/type", root, index);
    if (!read_line(path, type, sizeof type) || std::strcmp(type, "Instruction") == 0) continue;
    std::snprintf(path, sizeof path, "%s/index%d/size", root, index);
    if (!read_line(path, size, sizeof size)) continue;
    const int64_t bytes = parse_size(size);
    switch (std::atoi(level)) {
      case 1: c.l1d = bytes; break;
      case 2: c.l2 = bytes; break;
      case 3: c.l3 = bytes; break;
      default: break;
    }
  }
  if (c.l1d <= 0 || c.l2 <= 0) return false;
  c.source = "sysfs";
  out = c;
  return true;
}

// Fills l1d, l2, l3 from CPUID's deterministic cache parameters; false where there are none.
inline bool from_cpuid(CacheSizes& out) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return false;
  const bool amd = ebx == 0x68747541u;  // "Auth" of "AuthenticAMD"
  unsigned leaf = 4;
  if (amd) {
    unsigned max_ext = __get_cpuid_max(0x80000000u, nullptr);
    if (max_ext < 0x8000001Du) return false;
    leaf = 0x8000001Du;
  } else if (eax < 4) {
    return false;
  }
  CacheSizes c;
  for (unsigned sub = 0; sub < 16; ++sub) {
    __cpuid_count(leaf, sub, eax, ebx, ecx, edx);
    const unsigned type = eax & 0x1f;  // 0: no more caches, 1: data, 2: instruction, 3: unified
    if (type == 0) break;
    if (type == 2) continue;
    const unsigned level = (eax >> 5) & 0x7;
    const int64_t ways = ((ebx >> 22) & 0x3ff) + 1, partitions = ((ebx >> 12) & 0x3ff) + 1,
                  line = (ebx & 0xfff) + 1, sets = int64_t{ecx} + 1;
    const int64_t bytes = ways * partitions * line * sets;
    if (level == 1) c.l1d = bytes;
    if (level == 2) c.l2 = bytes;
    if (level == 3) c.l3 = bytes;
  }
  if (c.l1d <= 0 || c.l2 <= 0) return false;
  c.source = "cpuid";
  out = c;
  return true;
#else
  (void)out;
  return false;
#endif
}

}  // namespace cache_detail

// This CPU's caches (read on the first call; see the top of the file for where from).
inline const CacheSizes& detected_cache_sizes() {
  static const CacheSizes sizes = [] {
    CacheSizes c;
    if (cache_detail::from_sysfs(c) || cache_detail::from_cpuid(c)) return c;
    return kDefaultCacheSizes;
  }();
  return sizes;
}

}  // namespace chord::cpu
