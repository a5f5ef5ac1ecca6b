#pragma once
// The optimizer's kernels on the GPU, each one launch over every parameter
// (a "multi-tensor" kernel: a table of the tensors' pointers, and a list of
// fixed-size chunks of them, one block per chunk):
//
//   adamw_update:     the fused AdamW step of backend/cpu/adamw.hpp on every tensor of the table;
//   sgd_update:       the fused SGD step of optim/sgd.hpp (momentum, nesterov, weight decay);
//   sum_of_squares:   sum over every tensor of x^2, in double (clip_grad_norm's norm);
//   scale:            x = x * s for every tensor (clip_grad_norm's clipping).
//
// sum_of_squares is deterministic: every chunk's partial sum is written to its
// own slot, and the partials are added in chunk order by one block.

#include <cstdint>
#include <vector>

#include "chord/backend/cuda/runtime.hpp"

namespace chord::cuda {

// One parameter of an AdamW step: contiguous buffers of n elements on one device.
template <class T>
struct AdamWTensor {
  T* param = nullptr;
  const T* grad = nullptr;
  T* exp_avg = nullptr;     // m
  T* exp_avg_sq = nullptr;  // v
  int64_t n = 0;
  T decay = 1;  // 1 - lr * weight_decay, this tensor's (0 weight decay: 1)
};

// The step's scalars, rounded to T as the CPU kernel rounds them.
template <class T>
struct AdamWScalars {
  T beta1, beta2, eps, step_size, bias2_sqrt;  // step_size = lr / (1 - beta1^t), bias2_sqrt = sqrt(1 - beta2^t)
};

// For every tensor t of the table (a host array of `count`):
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
//   p = p * decay - step_size * m / (sqrt(v) / bias2_sqrt + eps)
template <class T>
void adamw_update(const Context& ctx, const AdamWTensor<T>* tensors, int64_t count, const AdamWScalars<T>& s);

// One parameter of an SGD step: contiguous buffers of n elements on one device.
template <class T>
struct SGDTensor {
  T* param = nullptr;
  const T* grad = nullptr;
  T* momentum_buffer = nullptr;  // null when momentum is 0
  int64_t n = 0;
  bool first = false;  // the buffer is new: it starts as the step's d, not momentum * buf + d
};

// The step's scalars, rounded to T as the CPU loop rounds them.
template <class T>
struct SGDScalars {
  T lr, momentum, weight_decay;
  bool nesterov;
};

// For every tensor t of the table (a host array of `count`), as torch.optim.SGD:
//   d = g + weight_decay p;  with a buffer: buf = first ? d : momentum buf + d,
//   d = nesterov ? d + momentum buf : buf;  p = p - lr d
template <class T>
void sgd_update(const Context& ctx, const SGDTensor<T>* tensors, int64_t count, const SGDScalars<T>& s);

// A contiguous buffer of n elements, for sum_of_squares and scale.
template <class T>
struct Buffer {
  T* data = nullptr;
  int64_t n = 0;
};

// sum over every buffer (a host array of `count`) of x^2, accumulated in double.
template <class T>
double sum_of_squares(const Context& ctx, const Buffer<T>* buffers, int64_t count);

// x = T(double(x) * factor) for every element of every buffer.
template <class T>
void scale(const Context& ctx, const Buffer<T>* buffers, int64_t count, double factor);

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include <cstring>

#include "chord/backend/cuda/block_reduce.hpp"

namespace chord::cuda {

namespace optim_detail {

inline constexpr int64_t kChunk = 16384;  // elements per block
inline constexpr int kThreads = 256;

struct Chunk {
  int64_t tensor;  // index into the table
  int64_t begin;   // first element
};

// The chunks of tensors with these sizes, and the table and chunks copied to the device as one
// buffer: [table (count entries of Entry), chunks]. Returns the device buffer (free it with its size).
template <class Entry>
struct DeviceTable {
  void* buffer = nullptr;
  std::size_t bytes = 0;
  const Entry* table = nullptr;
  const Chunk* chunks = nullptr;
  int64_t chunk_count = 0;
};

template <class Entry, class SizeOf>
DeviceTable<Entry> upload_table(const Context& ctx, const Entry* entries, int64_t count, SizeOf size_of) {
  std::vector<Chunk> chunks;
  for (int64_t t = 0; t < count; ++t)
    for (int64_t begin = 0; begin < size_of(entries[t]); begin += kChunk) chunks.push_back({t, begin});
  DeviceTable<Entry> d;
  d.chunk_count = static_cast<int64_t>(chunks.size());
  const std::size_t table_bytes = (static_cast<std::size_t>(count) * sizeof(Entry) + 15) / 16 * 16;
  d.bytes = table_bytes + chunks.size() * sizeof(Chunk);
  if (d.chunk_count == 0) return d;
  std::vector<unsigned char> host(d.bytes);
  std::memcpy(host.data(), entries, static_cast<std::size_t>(count) * sizeof(Entry));
  std::memcpy(host.data() + table_bytes, chunks.data(), chunks.size() * sizeof(Chunk));
  d.buffer = allocate(d.bytes, ctx.device);
  copy_to_device(ctx, d.buffer, host.data(), d.bytes);
  d.table = reinterpret_cast<const Entry*>(d.buffer);
  d.chunks = reinterpret_cast<const Chunk*>(static_cast<unsigned char*>(d.buffer) + table_bytes);
  return d;
}

template <class T>
__global__ void adamw_kernel(const AdamWTensor<T>* table, const Chunk* chunks, AdamWScalars<T> s) {
  const Chunk chunk = chunks[blockIdx.x];
  const AdamWTensor<T> t = table[chunk.tensor];
  const int64_t end = chunk.begin + kChunk < t.n ? chunk.begin + kChunk : t.n;
  for (int64_t i = chunk.begin + threadIdx.x; i < end; i += blockDim.x) {
    const T g = t.grad[i];
    const T m = s.beta1 * t.exp_avg[i] + (T(1) - s.beta1) * g;
    const T v = s.beta2 * t.exp_avg_sq[i] + (T(1) - s.beta2) * g * g;
    t.exp_avg[i] = m;
    t.exp_avg_sq[i] = v;
    t.param[i] = t.param[i] * t.decay - s.step_size * m / (std::sqrt(v) / s.bias2_sqrt + s.eps);
  }
}

template <class T>
__global__ void sgd_kernel(const SGDTensor<T>* table, const Chunk* chunks, SGDScalars<T> s) {
  const Chunk chunk = chunks[blockIdx.x];
  const SGDTensor<T> t = table[chunk.tensor];
  const int64_t end = chunk.begin + kChunk < t.n ? chunk.begin + kChunk : t.n;
  for (int64_t i = chunk.begin + threadIdx.x; i < end; i += blockDim.x) {
    T d = t.grad[i] + s.weight_decay * t.param[i];
    if (t.momentum_buffer) {
      const T buf = t.first ? d : s.momentum * t.momentum_buffer[i] + d;
      t.momentum_buffer[i] = buf;
      d = s.nesterov ? d + s.momentum * buf : buf;
    }
    t.param[i] -= s.lr * d;
  }
}

// partial[c] = sum of x^2 over chunk c, in double.
template <class T>
__global__ void squares_kernel(const Buffer<T>* table, const Chunk* chunks, double* partial) {
  const Chunk chunk = chunks[blockIdx.x];
  const Buffer<T> b = table[chunk.tensor];
  const int64_t end = chunk.begin + kChunk < b.n ? chunk.begin + kChunk : b.n;
  double sum = 0;
  for (int64_t i = chunk.begin + threadIdx.x; i < end; i += blockDim.x) {
    const double x = static_cast<double>(b.data[i]);
    sum += x * x;
  }
  sum = device::block_sum(sum);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

// out[0] = sum of partial[0, n) (one block).
__global__ void sum_partials_kernel(const double* partial, int64_t n, double* out) {
  double sum = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) sum += partial[i];
  sum = device::block_sum(sum);
  if (threadIdx.x == 0) out[0] = sum;
}

template <class T>
__global__ void scale_kernel(const Buffer<T>* table, const Chunk* chunks, double factor) {
  const Chunk chunk = chunks[blockIdx.x];
  const Buffer<T> b = table[chunk.tensor];
  const int64_t end = chunk.begin + kChunk < b.n ? chunk.begin + kChunk : b.n;
  for (int64_t i = chunk.begin + threadIdx.x; i < end; i += blockDim.x)
    b.data[i] = static_cast<T>(static_cast<double>(b.data[i]) * factor);
}

inline unsigned grid_of(const Context& ctx, int64_t chunks) {
  check(chunks <= 0x7fffffff, ctx.op, "too many elements for one launch");
  return static_cast<unsigned>(chunks);
}

}  // namespace optim_detail

template <class T>
void adamw_update(const Context& ctx, const AdamWTensor<T>* tensors, int64_t count, const AdamWScalars<T>& s) {
  using namespace optim_detail;
  const auto d = upload_table(ctx, tensors, count, [](const AdamWTensor<T>& t) { return t.n; });
  if (d.chunk_count == 0) return;
  cudaStream_t stream = stream_for(ctx);
  adamw_kernel<T><<<grid_of(ctx, d.chunk_count), kThreads, 0, stream>>>(d.table, d.chunks, s);
  check_launch(ctx, stream, "adamw_kernel");
  deallocate(d.buffer, d.bytes, ctx.device);
}

template <class T>
void sgd_update(const Context& ctx, const SGDTensor<T>* tensors, int64_t count, const SGDScalars<T>& s) {
  using namespace optim_detail;
  const auto d = upload_table(ctx, tensors, count, [](const SGDTensor<T>& t) { return t.n; });
  if (d.chunk_count == 0) return;
  cudaStream_t stream = stream_for(ctx);
  sgd_kernel<T><<<grid_of(ctx, d.chunk_count), kThreads, 0, stream>>>(d.table, d.chunks, s);
  check_launch(ctx, stream, "sgd_kernel");
  deallocate(d.buffer, d.bytes, ctx.device);
}

template <class T>
double sum_of_squares(const Context& ctx, const Buffer<T>* buffers, int64_t count) {
  using namespace optim_detail;
  const auto d = upload_table(ctx, buffers, count, [](const Buffer<T>& b) { return b.n; });
  if (d.chunk_count == 0) return 0.0;
  cudaStream_t stream = stream_for(ctx);
  const std::size_t partial_bytes = static_cast<std::size_t>(d.chunk_count + 1) * sizeof(double);
  double* partial = static_cast<double*>(allocate(partial_bytes, ctx.device));  // [chunks] partials, then the total
  squares_kernel<T><<<grid_of(ctx, d.chunk_count), kThreads, 0, stream>>>(d.table, d.chunks, partial);
  check_launch(ctx, stream, "squares_kernel");
  sum_partials_kernel<<<1, kThreads, 0, stream>>>(partial, d.chunk_count, partial + d.chunk_count);
  check_launch(ctx, stream, "sum_partials_kernel");
  double total = 0;
  copy_to_host(ctx, &total, partial + d.chunk_count, sizeof(double));
  deallocate(partial, partial_bytes, ctx.device);
  deallocate(d.buffer, d.bytes, ctx.device);
  return total;
}

template <class T>
void scale(const Context& ctx, const Buffer<T>* buffers, int64_t count, double factor) {
  using namespace optim_detail;
  const auto d = upload_table(ctx, buffers, count, [](const Buffer<T>& b) { return b.n; });
  if (d.chunk_count == 0) return;
  cudaStream_t stream = stream_for(ctx);
  scale_kernel<T><<<grid_of(ctx, d.chunk_count), kThreads, 0, stream>>>(d.table, d.chunks, factor);
  check_launch(ctx, stream, "scale_kernel");
  deallocate(d.buffer, d.bytes, ctx.device);
}

#define CHORD_CUDA_INSTANTIATE_OPTIM(T)                                                                    \
  template void adamw_update<T>(const Context&, const AdamWTensor<T>*, int64_t, const AdamWScalars<T>&);  \
  template void sgd_update<T>(const Context&, const SGDTensor<T>*, int64_t, const SGDScalars<T>&);        \
  template double sum_of_squares<T>(const Context&, const Buffer<T>*, int64_t);                           \
  template void scale<T>(const Context&, const Buffer<T>*, int64_t, double);
CHORD_CUDA_INSTANTIATE_OPTIM(float)
CHORD_CUDA_INSTANTIATE_OPTIM(double)
#undef CHORD_CUDA_INSTANTIATE_OPTIM

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
