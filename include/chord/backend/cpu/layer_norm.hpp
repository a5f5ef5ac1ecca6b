#pragma once
// Layer normalization over the last dim of a dense [R, D] buffer.
//
// Forward, per row:  mean = sum(x) / D,  var = sum((x - mean)^2) / D (two passes),
//   rstd = 1 / sqrt(var + eps),  xhat = (x - mean) * rstd,  y = xhat * w + b.
// Backward, per row (g the gradient of y, gw = g * w, means over the row):
//   dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))
//   dw = sum over rows of g * xhat,  db = sum over rows of g.
// dx is per row, in parallel. dw and db are reduced deterministically: rows are
// cut into chunks whose size depends only on R and D, each chunk writes its own
// partial sums, and the partials are added in chunk order, so the result does
// not depend on the number of threads.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "chord/backend/cpu/parallel.hpp"

namespace chord::cpu {

// x, y: [R, D]; w, b: [D] or null (then 1 and 0); mean, rstd: [R].
template <class T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t R, int64_t D, T eps) {
  parallel_for(R, 4 * D, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = x + r * D;
      T* yr = y + r * D;
      T s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < D; ++i) s += xr[i];
      const T mu = s / static_cast<T>(D);
      T ss = 0;
#pragma omp simd reduction(+ : ss)
      for (int64_t i = 0; i < D; ++i) ss += (xr[i] - mu) * (xr[i] - mu);
      const T rs = T(1) / std::sqrt(ss / static_cast<T>(D) + eps);
      mean[r] = mu;
      rstd[r] = rs;
      if (w && b) {
#pragma omp simd
        for (int64_t i = 0; i < D; ++i) yr[i] = (xr[i] - mu) * rs * w[i] + b[i];
      } else if (w) {
#pragma omp simd
        for (int64_t i = 0; i < D; ++i) yr[i] = (xr[i] - mu) * rs * w[i];
      } else if (b) {
#pragma omp simd
        for (int64_t i = 0; i < D; ++i) yr[i] = (xr[i] - mu) * rs + b[i];
      } else {
#pragma omp simd
        for (int64_t i = 0; i < D; ++i) yr[i] = (xr[i] - mu) * rs;
      }
    }
  });
}

// g, x: [R, D]; w: [D] or null; mean, rstd: [R].
// Outputs, each null when not wanted: dx [R, D], dw [D], db [D].
template <class T>
void layer_norm_backward(const T* g, const T* x, const T* w, const T* mean, const T* rstd, int64_t R, int64_t D,
                         T* dx, T* dw, T* db) {
  if (R == 0 || D == 0) {
    if (dw) std::fill(dw, dw + D, T(0));
    if (db) std::fill(db, db + D, T(0));
    return;
  }
  // Chunks of rows of about kParallelGrain elements, fixed by R and D alone.
  const int64_t rows_per_chunk = std::max<int64_t>(1, kParallelGrain / D);
  const int64_t chunks = (R + rows_per_chunk - 1) / rows_per_chunk;
  const bool params = dw || db;
  std::vector<T> partial_dw(dw ? chunks * D : 0), partial_db(db ? chunks * D : 0);  // [chunks, D] each

  parallel_for(chunks, rows_per_chunk * D * 4, [&](int64_t first, int64_t last) {
    std::vector<T> gw(D);  // [D] scratch: g * w of one row
    for (int64_t c = first; c < last; ++c) {
      T* pdw = dw ? partial_dw.data() + c * D : nullptr;
      T* pdb = db ? partial_db.data() + c * D : nullptr;
      if (pdw) std::fill(pdw, pdw + D, T(0));
      if (pdb) std::fill(pdb, pdb + D, T(0));
      const int64_t row_end = std::min(R, (c + 1) * rows_per_chunk);
      for (int64_t r = c * rows_per_chunk; r < row_end; ++r) {
        const T* gr = g + r * D;
        const T* xr = x + r * D;
        const T mu = mean[r], rs = rstd[r];
        if (params) {
          if (pdw) {
#pragma omp simd
            for (int64_t i = 0; i < D; ++i) pdw[i] += gr[i] * (xr[i] - mu) * rs;
          }
          if (pdb) {
#pragma omp simd
            for (int64_t i = 0; i < D; ++i) pdb[i] += gr[i];
          }
        }
        if (!dx) continue;
        T sum_gw = 0, sum_gw_xhat = 0;
#pragma omp simd reduction(+ : sum_gw, sum_gw_xhat)
        for (int64_t i = 0; i < D; ++i) {
          gw[i] = w ? gr[i] * w[i] : gr[i];
          sum_gw += gw[i];
          sum_gw_xhat += gw[i] * (xr[i] - mu) * rs;
        }
        const T a = sum_gw / static_cast<T>(D), bcoef = sum_gw_xhat / static_cast<T>(D);
        T* out = dx + r * D;
#pragma omp simd
        for (int64_t i = 0; i < D; ++i) out[i] = rs * (gw[i] - a - (xr[i] - mu) * rs * bcoef);
      }
    }
  });

  if (!params) return;
  // Second pass over columns: partials added in chunk order.
  parallel_for(D, chunks * 2, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (dw) {
        T s = 0;
        for (int64_t c = 0; c < chunks; ++c) s += partial_dw[c * D + i];
        dw[i] = s;
      }
      if (db) {
        T s = 0;
        for (int64_t c = 0; c < chunks; ++c) s += partial_db[c * D + i];
        db[i] = s;
      }
    }
  });
}

}  // namespace chord::cpu
