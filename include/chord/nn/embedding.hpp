#pragma once
// nn::Embedding: a [num_embeddings, dim] table looked up by int64 ids, as torch.nn.Embedding.

#include "chord/nn/init.hpp"
#include "chord/nn/module.hpp"
#include "chord/ops/indexing.hpp"

namespace chord::nn {

template <FloatingPoint T>
class Embedding : public Module<T> {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, Generator& gen, double init_std = 0.02) {
    check(num_embeddings > 0 && dim > 0, "Embedding", "sizes must be positive, got num_embeddings=",
          num_embeddings, " dim=", dim);
    weight = this->register_parameter("weight", init::normal<T>({num_embeddings, dim}, init_std, gen));
  }

  // ids [...] -> [..., dim]; an id outside [0, num_embeddings) is a chord::Error.
  Tensor<T> forward(const Tensor<int64_t>& ids) const { return embedding(weight, ids); }
  Tensor<T> operator()(const Tensor<int64_t>& ids) const { return forward(ids); }

  int64_t num_embeddings() const { return weight.size(0); }
  int64_t embedding_dim() const { return weight.size(1); }

  Tensor<T> weight;  // [num_embeddings, dim]
};

}  // namespace chord::nn
