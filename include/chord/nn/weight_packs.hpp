#pragma once
// WeightPacks: a model's weights packed for the cpu's GEMM, for decoding.
//
// A decoding step multiplies a few rows by every weight W [out, in]; packing W^T for the GEMM
// (a cpu::PackedB) once and reusing the pack streams W in long contiguous runs instead of
// packing it again at every product, about 3 times faster. A model owns one WeightPacks
// (GPT::weight_packs()) and opens it for the duration of a forward with a KV cache:
//
//   Tensor<T> forward(const Tensor<int64_t>& tokens, KVCache<T>& cache) {
//     const auto decoding = weight_packs_.use();   // this thread's products may use the packs
//     ...
//   }
//
// and every product of a weight by activations goes through WeightPacks<T>::linear(x, W, b)
// (nn::Linear does; so does a head tied to an embedding), the one place that decides whether a
// product uses a pack: inside use(), when no graph is recorded and W is on the cpu. The values
// are those of the unpacked product up to rounding (for a few rows the unpacked product may sum
// in another order), and the same bits on every call: a decoding step gives the same logits
// whether its packs were just made or kept from before.
//
// A pack is made on first use and remade when its weight changes: the packs are keyed on the
// weight's storage, and a pack is valid while the weight's version (an optimizer step or an
// in-place op bumps it), shape and storage offset are those it was packed from. So the packs
// live as long as the model: they are reused by every step of a generation, by the caches that
// KVCache::index_rows makes, and by the next generation while the weights stay the same. They
// cost as much memory as the weights; clear() frees them. Packs of storages that no tensor
// refers to any more (after Module::to, say) are dropped when the next pack is made.
//
// Thread safety: several threads may decode with one model at once; the table is locked while
// a pack is looked up or made, and a pack in use stays alive while another thread replaces it.

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "chord/autograd/node.hpp"
#include "chord/backend/cpu/gemm.hpp"
#include "chord/core/error.hpp"
#include "chord/core/tensor.hpp"
#include "chord/ops/linalg.hpp"

namespace chord::nn {

template <FloatingPoint T>
class WeightPacks {
 public:
  WeightPacks() = default;
  WeightPacks(const WeightPacks&) = delete;
  WeightPacks& operator=(const WeightPacks&) = delete;

  // While the returned Use lives, WeightPacks<T>::linear on this thread uses these packs.
  // Uses nest: the innermost one is in force, and the one before it comes back when it ends.
  class Use {
   public:
    explicit Use(WeightPacks& packs) : previous_(current_) { current_ = &packs; }
    ~Use() { current_ = previous_; }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    WeightPacks* previous_;
  };
  [[nodiscard]] Use use() { return Use(*this); }

  // The packs in use on this thread (nullptr outside every use()).
  static WeightPacks* current() { return current_; }

  // y = x W^T + b (weight [out, in], bias [out] or undefined), through W's pack when this thread
  // is inside a use(), no graph is recorded (x, W and b need no gradient) and W is on the cpu (a
  // GPU reads the weight as it is); otherwise ops::linear(x, weight, bias). The same values either
  // way, up to rounding.
  static Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>()) {
    WeightPacks* packs = current_;
    if (!packs || autograd::needs_grad(x, weight, bias) || !weight.defined() || !weight.device().is_cpu())
      return ops::linear(x, weight, bias);
    const std::shared_ptr<const cpu::PackedB<T>> packed = packs->packed(weight);  // held while it is used
    return ops::linear(x, *packed, bias);
  }

  // weight [out, in] packed as W^T [in, out] for ops::linear(x, packed, bias): made on the first call
  // for this weight and again after the weight changed, kept otherwise.
  std::shared_ptr<const cpu::PackedB<T>> packed(const Tensor<T>& weight) {
    check(weight.defined() && weight.dim() == 2 && weight.device().is_cpu(), "WeightPacks::packed",
          "expected a 2-D weight on the cpu");
    const std::lock_guard<std::mutex> lock(mutex_);
    auto it = packs_.find(weight.storage().get());
    if (it == packs_.end() || it->second.version != weight.version() || it->second.source_shape != weight.shape() ||
        it->second.source_offset != weight.storage_offset()) {
      drop_unreachable();
      // W^T [in, out] is weight with its strides swapped.
      Pack pack{std::make_shared<const cpu::PackedB<T>>(weight.size(1), weight.size(0), weight.data(),
                                                         weight.stride(1), weight.stride(0)),
                weight.storage(), weight.version(), weight.shape(), weight.storage_offset()};
      it = packs_.insert_or_assign(weight.storage().get(), std::move(pack)).first;
      ++packs_made_;
    }
    return it->second.packed;
  }

  // The number of packs held, and of packs made so far (a pack remade counts again).
  std::size_t size() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return packs_.size();
  }
  uint64_t packs_made() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return packs_made_;
  }
  // Frees every pack (they are made again when needed).
  void clear() {
    const std::lock_guard<std::mutex> lock(mutex_);
    packs_.clear();
  }

 private:
  struct Pack {
    std::shared_ptr<const cpu::PackedB<T>> packed;
    // The weight's storage, held so that its address (the key) cannot be reused by another.
    std::shared_ptr<Storage<T>> source;
    uint64_t version;  // of the weight it was packed from
    Shape source_shape;
    int64_t source_offset;
  };

  // Drops the packs whose storage only this table still holds: no tensor can ask for them again.
  void drop_unreachable() {
    for (auto it = packs_.begin(); it != packs_.end();)
      it = it->second.source.use_count() == 1 ? packs_.erase(it) : std::next(it);
  }

  inline static thread_local WeightPacks* current_ = nullptr;
  mutable std::mutex mutex_;
  std::unordered_map<const void*, Pack> packs_;  // keyed by the weight's storage
  uint64_t packs_made_ = 0;
};

}  // namespace chord::nn
