#pragma once
// Dispatch: the optimizers' updates and gradient-norm clipping (optim/adamw.hpp, sgd.hpp, clip.hpp).
//
// A step takes a table of the parameters that have a gradient, all on `device`, contiguous:
// the CPU updates them one after the other (backend/cpu/adamw.hpp, sgd.hpp), CUDA in one
// fused launch (backend/cuda/optim.hpp), with the scalars rounded to T as the CPU rounds them.

#include <cmath>
#include <cstdint>
#include <vector>

#include "chord/backend/cpu/adamw.hpp"
#include "chord/backend/cpu/grad_norm.hpp"
#include "chord/backend/cpu/sgd.hpp"
#include "chord/backend/cuda/optim.hpp"
#include "chord/backend/dispatch/common.hpp"
#include "chord/core/dtype.hpp"
#include "chord/core/tensor.hpp"

namespace chord::backend {

// One parameter of an AdamW step: buffers of n elements.
template <FloatingPoint T>
struct AdamWParam {
  T* param = nullptr;
  const T* grad = nullptr;
  T* exp_avg = nullptr;     // m
  T* exp_avg_sq = nullptr;  // v
  int64_t n = 0;
  double weight_decay = 0;  // this parameter's (0: not decayed)
};

struct AdamWHyper {
  double lr, beta1, beta2, eps;
  int64_t step;  // t, from 1
};

template <FloatingPoint T>
void adamw_step(Device device, const char* op, const std::vector<AdamWParam<T>>& params, const AdamWHyper& h) {
  switch (device.type) {
    case DeviceType::CPU:
      for (const AdamWParam<T>& p : params)
        cpu::adamw_update(p.param, p.grad, p.exp_avg, p.exp_avg_sq, p.n,
                          cpu::AdamWStep{h.lr, h.beta1, h.beta2, h.eps, p.weight_decay, h.step});
      return;
    case DeviceType::CUDA:
      if constexpr (built_with_cuda()) {
        std::vector<cuda::AdamWTensor<T>> table;
        for (const AdamWParam<T>& p : params)
          table.push_back({p.param, p.grad, p.exp_avg, p.exp_avg_sq, p.n, static_cast<T>(1.0 - h.lr * p.weight_decay)});
        const double t = static_cast<double>(h.step);
        const T bias1 = static_cast<T>(1.0 - std::pow(h.beta1, t));
        const cuda::AdamWScalars<T> s{static_cast<T>(h.beta1), static_cast<T>(h.beta2), static_cast<T>(h.eps),
                                      static_cast<T>(h.lr) / bias1,
                                      static_cast<T>(std::sqrt(1.0 - std::pow(h.beta2, t)))};
        return cuda::adamw_update<T>(cuda::Context{device.index, op}, table.data(), static_cast<int64_t>(table.size()),
                                     s);
      } else {
        fail_without_cuda(op, device);
      }
  }
}

// One parameter of an SGD step: buffers of n elements.
template <FloatingPoint T>
struct SGDParam {
  T* param = nullptr;
  const T* grad = nullptr;
  T* momentum_buffer = nullptr;  // null without momentum
  int64_t n = 0;
  bool first = false;  // the buffer is new: it starts as the step's d
};

struct SGDHyper {
  double lr, momentum, weight_decay;
  bool nesterov;
};

template <FloatingPoint T>
void sgd_step(Device device, const char* op, const std::vector<SGDParam<T>>& params, const SGDHyper& h) {
  switch (device.type) {
    case DeviceType::CPU:
      for (const SGDParam<T>& p : params)
        cpu::sgd_update(p.param, p.grad, p.momentum_buffer, p.n, p.first, static_cast<T>(h.lr),
                        static_cast<T>(h.momentum), static_cast<T>(h.weight_decay), h.nesterov);
      return;
    case DeviceType::CUDA:
      if constexpr (built_with_cuda()) {
        std::vector<cuda::SGDTensor<T>> table;
        for (const SGDParam<T>& p : params) table.push_back({p.param, p.grad, p.momentum_buffer, p.n, p.first});
        const cuda::SGDScalars<T> s{static_cast<T>(h.lr), static_cast<T>(h.momentum), static_cast<T>(h.weight_decay),
                                    h.nesterov};
        return cuda::sgd_update<T>(cuda::Context{device.index, op}, table.data(), static_cast<int64_t>(table.size()), s);
      } else {
        fail_without_cuda(op, device);
      }
  }
}

// Scales every gradient by max_norm / (norm + 1e-6) when that is below 1, and returns the
// gradients' global L2 norm before it (accumulated in double). grads: all on `device`; CUDA
// needs them contiguous (one kernel for the norm, one to scale).
template <FloatingPoint T>
double clip_grad_norm(Device device, const char* op, const std::vector<Tensor<T>>& grads, double max_norm) {
  switch (device.type) {
    case DeviceType::CPU: {
      const double norm = std::sqrt(cpu::sum_of_squares(grads));
      const double scale = max_norm / (norm + 1e-6);
      if (scale < 1.0) cpu::scale(grads, scale);
      return norm;
    }
    case DeviceType::CUDA:
      if constexpr (built_with_cuda()) {
        std::vector<cuda::Buffer<T>> table;
        for (const Tensor<T>& g : grads) {
          check(g.device() == device && g.is_contiguous(), op, "gradient of shape ", g.shape(), " on ", g.device(),
                ": expected a contiguous gradient on ", device);
          table.push_back({g.data(), g.numel()});
        }
        const cuda::Context ctx{device.index, op};
        const double norm = std::sqrt(cuda::sum_of_squares<T>(ctx, table.data(), static_cast<int64_t>(table.size())));
        const double scale = max_norm / (norm + 1e-6);
        if (scale < 1.0) cuda::scale<T>(ctx, table.data(), static_cast<int64_t>(table.size()), scale);
        return norm;
      } else {
        fail_without_cuda(op, device);
      }
  }
  fail(op, "internal: unknown device ", device);
}

}  // namespace chord::backend
