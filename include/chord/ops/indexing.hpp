#pragma once
// Indexing with integer tensors: embedding, index_select, gather.
//
//   embedding(weight [V, D], ids [...])         -> [..., D]      out[p, :] = weight[ids[p], :]
//   index_select(x, dim, index [L])             -> x with size L along dim
//   gather(x, dim, index (x's ndim))            -> index's shape  out[i][j] = x[index[i][j]][j]  (dim 0)
//
// embedding's ids may sit on the cpu while the weight is on a GPU (a model's token ids come from
// the host): they are checked where they are and uploaded once, where ids on the GPU would be
// copied to the host for their check (a wait for the GPU). Every other index lives with its data.
//
// Indices are int64 tensors and must lie in [0, size): a negative or too large
// one is an error naming the op, the value, its position and the valid range
// (negative indices do not count from the end here).
//
// Backward is a scatter-add of the gradient into a zero tensor of the input's
// shape. Repeated indices accumulate. It is deterministic: every gradient
// element is summed by one thread, over the positions in ascending order
// (on a GPU too: backend/cuda/indexing.hpp and gather.hpp, no atomics).

#include <algorithm>
#include <concepts>
#include <memory>
#include <string>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cuda/gather.hpp"
#include "chord/backend/cuda/indexing.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/view.hpp"

namespace chord::ops {

namespace indexing_detail {

// "[i,j,...]": the multi-index of row-major position `flat` in `shape`.
inline std::string position_string(int64_t flat, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (int d = shape.size() - 1; d >= 0; --d) {
    index[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  std::string s = "[";
  for (std::size_t d = 0; d < index.size(); ++d) {
    if (d) s += ',';
    s += std::to_string(index[d]);
  }
  return s + "]";
}

// The values of `index` in row-major order, each checked to be in [0, limit).
// `what` names the values ("id", "index"), `range_of` says what the limit is.
inline std::vector<int64_t> checked_indices(const char* op, const Tensor<int64_t>& index, int64_t limit,
                                            const char* what, const std::string& range_of) {
  std::vector<int64_t> values = index.to_vector();  // [index.numel()]; a copy from the device for a CUDA index
  for (std::size_t p = 0; p < values.size(); ++p) {
    const int64_t v = values[p];
    if (v < 0)
      fail(op, what, " ", v, " at position ", position_string(static_cast<int64_t>(p), index.shape()),
           " is negative (negative indices are not supported); it must be in [0, ", limit, ") for ", range_of);
    if (v >= limit)
      fail(op, what, " ", v, " at position ", position_string(static_cast<int64_t>(p), index.shape()),
           " is out of range: it must be in [0, ", limit, ") for ", range_of);
  }
  return values;
}

// out[o, i, :] = x[o, idx[i], :] for o < outer, i < L.
// x: [outer, n, inner] contiguous; idx: [L] in [0, n); out: [outer, L, inner] contiguous.
template <class T>
void select_rows(int64_t outer, int64_t n, int64_t inner, int64_t L, const T* x, const int64_t* idx, T* out) {
  cpu::parallel_for(outer * L, inner, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t o = row / L, i = row % L;
      const T* src = x + (o * n + idx[i]) * inner;
      T* dst = out + row * inner;
#pragma omp simd
      for (int64_t c = 0; c < inner; ++c) dst[c] = src[c];
    }
  });
}

// grad[o, r, :] = sum of g[o, i, :] over the i with idx[i] == r, in ascending i
// (0 for an r that no i selects): the adjoint of select_rows.
// g: [outer, L, inner] contiguous; idx: [L] in [0, n); grad: [outer, n, inner] contiguous.
// The positions are bucketed by index first (counting sort, stable), so every
// output row is owned by one thread and summed in a fixed order: no races,
// the same bits for any thread count.
template <class T>
void index_add_rows(int64_t outer, int64_t n, int64_t inner, int64_t L, const T* g, const int64_t* idx, T* grad) {
  std::vector<int64_t> start(static_cast<std::size_t>(n + 1), 0);  // [n + 1]: bucket r is order[start[r], start[r+1])
  std::vector<int64_t> order(static_cast<std::size_t>(L));          // [L]: positions sorted by index, stable
  for (int64_t i = 0; i < L; ++i) ++start[idx[i] + 1];
  for (int64_t r = 0; r < n; ++r) start[r + 1] += start[r];
  {
    std::vector<int64_t> cursor(start.begin(), start.end() - 1);  // [n]
    for (int64_t i = 0; i < L; ++i) order[cursor[idx[i]]++] = i;
  }
  const int64_t per_row = inner * (1 + (n ? L / n : 0));
  cpu::parallel_for(outer * n, per_row, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t o = row / n, r = row % n;
      T* dst = grad + row * inner;
      for (int64_t c = 0; c < inner; ++c) dst[c] = T(0);
      for (int64_t k = start[r]; k < start[r + 1]; ++k) {
        const T* src = g + (o * L + order[k]) * inner;
#pragma omp simd
        for (int64_t c = 0; c < inner; ++c) dst[c] += src[c];
      }
    }
  });
}

// ---- the same two on a GPU (backend/cuda/indexing.hpp) ----

// Element types the CUDA row gathers are instantiated for.
template <class T>
inline constexpr bool cuda_gathers = built_with_cuda() && (FloatingPoint<T> || std::same_as<T, int64_t>);

// select_rows on x's device. index: the indices' tensor (on that device); idx: the same values on the host.
template <Element T>
void select_rows_cuda(const char* op, Device device, int64_t outer, int64_t n, int64_t inner,
                      const Tensor<int64_t>& index, const T* x, T* out) {
  if constexpr (cuda_gathers<T>) {
    const Tensor<int64_t> idx = dense(index);  // [L] on the device
    cuda::select_rows<T>(cuda::Context{device.index, op}, outer, n, inner, idx.numel(), x, idx.data(), out);
  } else {
    fail(op, "not implemented on cuda for ", dtype_name<T>(), " tensors");
  }
}

// index_add_rows on the device: the positions bucketed by index on the host (a stable sort),
// then moved to the device as one buffer [order (L), start (U + 1), rows (U)].
template <FloatingPoint T>
void index_add_rows_cuda(const char* op, Device device, int64_t outer, int64_t n, int64_t inner,
                         const std::vector<int64_t>& idx, const T* g, T* grad) {
  const int64_t L = static_cast<int64_t>(idx.size());
  std::vector<int64_t> order(static_cast<std::size_t>(L));  // [L]: positions sorted by index, stable
  for (int64_t i = 0; i < L; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return idx[a] < idx[b]; });
  std::vector<int64_t> start, rows;  // [U + 1], [U]
  for (int64_t k = 0; k < L; ++k)
    if (k == 0 || idx[order[k]] != idx[order[k - 1]]) {
      start.push_back(k);
      rows.push_back(idx[order[k]]);
    }
  start.push_back(L);
  const int64_t U = static_cast<int64_t>(rows.size());
  std::vector<int64_t> packed = order;
  packed.insert(packed.end(), start.begin(), start.end());
  packed.insert(packed.end(), rows.begin(), rows.end());
  const Tensor<int64_t> buckets = Tensor<int64_t>::from_vector(packed).to(device);  // [L + 2U + 1]
  if constexpr (built_with_cuda())
    cuda::index_add_rows<T>(cuda::Context{device.index, op}, outer, n, inner, L, g, buckets.data(), buckets.data() + L,
                            buckets.data() + L + U + 1, U, grad);
}

// Offsets (from data()) of every element of a tensor with `shape` and `strides`, row-major.
template <class T>
std::vector<int64_t> offsets_of(const Tensor<T>& like, const Shape& shape, const Strides& strides) {
  std::vector<int64_t> out;
  out.reserve(static_cast<std::size_t>(numel_of(shape)));
  alias(like, shape, strides, 0).for_each_offset([&](int64_t off) { out.push_back(off); });
  return out;
}

// The dims of `s` in [from, to), as a Shape.
inline Shape dims_range(const Shape& s, int from, int to) {
  Shape out;
  for (int d = from; d < to; ++d) out.push_back(s[d]);
  return out;
}

}  // namespace indexing_detail

// weight [V, D], ids [...] (int64, each in [0, V)) -> [..., D].
// Backward: dweight[v, :] = sum of dout[p, :] over the positions p with ids[p] == v.
template <Element T>
Tensor<T> embedding(const Tensor<T>& weight, const Tensor<int64_t>& ids) {
  check_defined("embedding", weight, "weight");
  check_defined("embedding", ids, "ids");
  if (!ids.device().is_cpu()) check_same_device("embedding", weight.device(), ids.device());
  check(weight.dim() == 2, "embedding", "weight must be 2-D [num_embeddings, embedding_dim], got shape ",
        weight.shape());
  const int64_t V = weight.size(0), D = weight.size(1);
  auto idx = std::make_shared<const std::vector<int64_t>>(indexing_detail::checked_indices(
      "embedding", ids, V, "id", "a weight of shape " + weight.shape().str()));
  const int64_t P = static_cast<int64_t>(idx->size());

  Shape out_shape = ids.shape();
  out_shape.push_back(D);
  Tensor<T> out = Tensor<T>::empty(out_shape, weight.device());  // [..., D] = [P, D]
  const Tensor<T> w = dense(weight);            // [V, D]
  if (weight.device().is_cuda())
    indexing_detail::select_rows_cuda<T>("embedding", weight.device(), 1, V, D, ids.to(weight.device()), w.data(),
                                         out.data());
  else indexing_detail::select_rows<T>(1, V, D, P, w.data(), idx->data(), out.data());

  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(weight))
      autograd::record("EmbeddingBackward", out, {weight}, [idx, V, D, P](const Tensor<T>& g) {
        const Tensor<T> gc = dense(g);       // [P, D]
        Tensor<T> grad = Tensor<T>::empty(Shape{V, D}, g.device());  // [V, D]
        if (g.device().is_cuda())
          indexing_detail::index_add_rows_cuda<T>("embedding", g.device(), 1, V, D, *idx, gc.data(), grad.data());
        else
          indexing_detail::index_add_rows<T>(1, V, D, P, gc.data(), idx->data(), grad.data());
        return std::vector<Tensor<T>>{grad};
      });
  return out;
}

// The slices of x at `index` (1-D, or 0-d for one slice) along dim.
// Backward: the gradient's slices added into a zero tensor of x's shape at `index`.
template <Element T>
Tensor<T> index_select(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index) {
  check_defined("index_select", x);
  check_defined("index_select", index, "index");
  check_same_device("index_select", x.device(), index.device());
  check(x.dim() >= 1, "index_select", "cannot index a 0-d tensor");
  check(index.dim() <= 1, "index_select", "index must be 1-D, got shape ", index.shape());
  const int d = wrap_dim(dim, x.dim(), "index_select");
  const int64_t n = x.shape()[d];
  auto idx = std::make_shared<const std::vector<int64_t>>(indexing_detail::checked_indices(
      "index_select", index, n, "index",
      "dim " + std::to_string(d) + " of size " + std::to_string(n) + " (input shape " + x.shape().str() + ")"));
  const int64_t L = static_cast<int64_t>(idx->size());
  const int64_t outer = numel_of(indexing_detail::dims_range(x.shape(), 0, d));
  const int64_t inner = numel_of(indexing_detail::dims_range(x.shape(), d + 1, x.dim()));

  Shape out_shape = x.shape();
  out_shape[d] = L;
  Tensor<T> out = Tensor<T>::empty(out_shape, x.device());  // [outer, L, inner]
  const Tensor<T> xc = dense(x);           // [outer, n, inner]
  if (x.device().is_cuda())
    indexing_detail::select_rows_cuda<T>("index_select", x.device(), outer, n, inner, index.reshape(Shape{L}),
                                         xc.data(), out.data());
  else
    indexing_detail::select_rows<T>(outer, n, inner, L, xc.data(), idx->data(), out.data());

  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("IndexSelectBackward", out, {x},
                       [idx, in_shape = x.shape(), outer, n, inner, L](const Tensor<T>& g) {
                         const Tensor<T> gc = dense(g);              // [outer, L, inner]
                         Tensor<T> grad = Tensor<T>::empty(in_shape, g.device());     // [outer, n, inner]
                         if (g.device().is_cuda())
                           indexing_detail::index_add_rows_cuda<T>("index_select", g.device(), outer, n, inner, *idx,
                                                                   gc.data(), grad.data());
                         else
                           indexing_detail::index_add_rows<T>(outer, n, inner, L, gc.data(), idx->data(),
                                                              grad.data());
                         return std::vector<Tensor<T>>{grad};
                       });
  return out;
}

// PyTorch's gather: index has x's number of dims and no dim larger than x's
// (except along `dim`); out has index's shape and, for dim = 1 in 3-D,
// out[i][j][k] = x[i][index[i][j][k]][k].
// Backward: grad[i][index[i][j][k]][k] += dout[i][j][k], into a zero tensor of x's shape.
template <Element T>
Tensor<T> gather(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index) {
  check_defined("gather", x);
  check_defined("gather", index, "index");
  check_same_device("gather", x.device(), index.device());
  check(x.dim() >= 1, "gather", "cannot gather from a 0-d tensor");
  check(index.dim() == x.dim(), "gather", "index of shape ", index.shape(), " has ", index.dim(),
        " dims but the input of shape ", x.shape(), " has ", x.dim(), "; they must have the same number of dims");
  const int d = wrap_dim(dim, x.dim(), "gather");
  for (int k = 0; k < x.dim(); ++k)
    check(k == d || index.shape()[k] <= x.shape()[k], "gather", "index of shape ", index.shape(),
          " is larger than the input of shape ", x.shape(), " in dim ", k);
  const int64_t n = x.shape()[d];
  auto idx = std::make_shared<const std::vector<int64_t>>(indexing_detail::checked_indices(
      "gather", index, n, "index",
      "dim " + std::to_string(d) + " of size " + std::to_string(n) + " (input shape " + x.shape().str() + ")"));

  // Positions of index (and out) as [outer, L, inner]; x's element for (o, l, c)
  // is at x_outer[o] + idx * x.stride(d) + x_inner[c].
  const Shape lead = indexing_detail::dims_range(index.shape(), 0, d);
  const Shape trail = indexing_detail::dims_range(index.shape(), d + 1, x.dim());
  const int64_t L = index.shape()[d], inner = numel_of(trail);

  Tensor<T> out = Tensor<T>::empty(index.shape(), x.device());  // [outer, L, inner]
  if (x.device().is_cuda()) {
    const Tensor<int64_t> index_dense = dense(index);  // [outer, L, inner] on the device
    if constexpr (built_with_cuda())
      cuda::gather<T>(cuda::Context{x.device().index, "gather"}, index.shape(), d, x.data(), x.strides(),
                      index_dense.data(), out.data());
  } else {
    const std::vector<int64_t> x_outer =
        indexing_detail::offsets_of(x, lead, indexing_detail::dims_range(x.strides(), 0, d));  // [outer]
    const std::vector<int64_t> x_inner =
        indexing_detail::offsets_of(x, trail, indexing_detail::dims_range(x.strides(), d + 1, x.dim()));  // [inner]
    const int64_t xs = x.strides()[d];
    const T* xp = x.data();
    T* op = out.data();
    const int64_t* ip = idx->data();  // [outer, L, inner]
    cpu::parallel_for(out.numel(), 1, [&](int64_t begin, int64_t end) {
      for (int64_t e = begin; e < end; ++e) {
        const int64_t c = e % inner, o = e / (L * inner);
        op[e] = xp[x_outer[o] + ip[e] * xs + x_inner[c]];
      }
    });
  }

  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("GatherBackward", out, {x}, [idx, in_shape = x.shape(), d, lead, trail, L](const Tensor<T>& g) {
        const bool on_gpu = g.device().is_cuda();
        // grad: x's shape, contiguous. Zeros on the cpu, whose loop adds into it; index_add_rows zeroes its own.
        Tensor<T> grad = on_gpu ? Tensor<T>::empty(in_shape, g.device()) : Tensor<T>::zeros(in_shape, g.device());
        const Tensor<T> gc = dense(g);           // [outer, L, inner]
        const Strides gs = grad.strides();
        const std::vector<int64_t> g_outer = indexing_detail::offsets_of(grad, lead, indexing_detail::dims_range(gs, 0, d));
        const std::vector<int64_t> g_inner =
            indexing_detail::offsets_of(grad, trail, indexing_detail::dims_range(gs, d + 1, gs.size()));
        const int64_t inner = numel_of(trail), outer = numel_of(lead), stride = gs[d];
        const int64_t* ip = idx->data();
        if (on_gpu) {
          // target [outer * L * inner]: the offset in grad that each position adds to. Summing
          // gc's positions by target is index_add_rows with rows of one element (n = grad's
          // numel, outer = inner = 1): one thread per target, positions in ascending order.
          std::vector<int64_t> target(idx->size());
          for (std::size_t e = 0; e < target.size(); ++e) {
            const int64_t o = static_cast<int64_t>(e) / (L * inner), c = static_cast<int64_t>(e) % inner;
            target[e] = g_outer[o] + ip[e] * stride + g_inner[c];
          }
          indexing_detail::index_add_rows_cuda<T>("gather", g.device(), 1, grad.numel(), 1, target, gc.data(),
                                                  grad.data());
          return std::vector<Tensor<T>>{grad};
        }
        const T* gp = gc.data();
        T* out_p = grad.data();
        // One task per line (o, c): it alone writes grad's elements with those
        // outer/inner coordinates, adding over l in order.
        cpu::parallel_for(outer * inner, L, [&](int64_t begin, int64_t end) {
          for (int64_t line = begin; line < end; ++line) {
            const int64_t o = line / inner, c = line % inner;
            T* base = out_p + g_outer[o] + g_inner[c];
            for (int64_t l = 0; l < L; ++l) {
              const int64_t e = (o * L + l) * inner + c;
              base[ip[e] * stride] += gp[e];
            }
          }
        });
        return std::vector<Tensor<T>>{grad};
      });
  return out;
}

// Index tensors must hold int64: these overloads turn any other element type
// into a clear error instead of a page of template diagnostics.
template <Element T, Element I>
  requires(!std::same_as<I, int64_t>)
Tensor<T> embedding(const Tensor<T>&, const Tensor<I>&) {
  fail("embedding", "ids must be an int64 tensor, got ", dtype_name<I>());
}
template <Element T, Element I>
  requires(!std::same_as<I, int64_t>)
Tensor<T> index_select(const Tensor<T>&, int64_t, const Tensor<I>&) {
  fail("index_select", "index must be an int64 tensor, got ", dtype_name<I>());
}
template <Element T, Element I>
  requires(!std::same_as<I, int64_t>)
Tensor<T> gather(const Tensor<T>&, int64_t, const Tensor<I>&) {
  fail("gather", "index must be an int64 tensor, got ", dtype_name<I>());
}

}  // namespace chord::ops

namespace chord {
using ops::embedding;
using ops::gather;
using ops::index_select;
}  // namespace chord
