#pragma once
// The SGD update on raw buffers, as torch.optim.SGD:
//   d = g + weight_decay p;  with a buffer: buf = first ? d : momentum buf + d,
//   d = nesterov ? d + momentum buf : buf;  p = p - lr d

#include <cstdint>

#include "chord/backend/cpu/parallel.hpp"

namespace chord::cpu {

// w, g: [n]; buf: [n], or null without momentum; first: buf is new (it starts as d).
template <class T>
void sgd_update(T* w, const T* g, T* buf, int64_t n, bool first, T lr, T mu, T wd, bool nesterov) {
  parallel_for(n, 4, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      T d = g[k] + wd * w[k];
      if (buf) {
        buf[k] = first ? d : mu * buf[k] + d;
        d = nesterov ? d + mu * buf[k] : buf[k];
      }
      w[k] -= lr * d;
    }
  });
}

}  // namespace chord::cpu
