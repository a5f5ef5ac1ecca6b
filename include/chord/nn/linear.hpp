#pragma once
// nn::Linear: y = x W^T + b, as torch.nn.Linear. The weight is [out, in]
// (PyTorch's layout); checkpoints in Hugging Face's GPT-2 layout store the
// Conv1D layers transposed, [in, out] (see chord/io/gpt_checkpoint.hpp).

#include "chord/nn/init.hpp"
#include "chord/nn/module.hpp"
#include "chord/nn/weight_packs.hpp"

namespace chord::nn {

struct LinearOptions {
  bool bias = true;
  double init_std = 0.02;  // weight ~ N(0, init_std^2); bias = 0 (GPT-2's scheme)
};

template <FloatingPoint T>
class Linear : public Module<T> {
 public:
  Linear(int64_t in_features, int64_t out_features, Generator& gen, LinearOptions options = {})
      : in_features_(in_features), out_features_(out_features) {
    check(in_features > 0 && out_features > 0, "Linear", "features must be positive, got in=", in_features,
          " out=", out_features);
    check(options.init_std >= 0, "Linear", "init_std must be >= 0, got ", options.init_std);
    weight = this->register_parameter("weight", init::normal<T>({out_features, in_features}, options.init_std, gen));
    if (options.bias) bias = this->register_parameter("bias", Tensor<T>::zeros({out_features}));
  }

  // x [..., in] -> [..., out]. While the model decodes on the cpu (nn/weight_packs.hpp), through the
  // model's packed copy of the weight: the same values, faster.
  Tensor<T> forward(const Tensor<T>& x) const { return WeightPacks<T>::linear(x, weight, bias); }
  Tensor<T> operator()(const Tensor<T>& x) const { return forward(x); }

  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

  Tensor<T> weight;  // [out, in]
  Tensor<T> bias;    // [out], undefined without bias

 private:
  int64_t in_features_, out_features_;
};

}  // namespace chord::nn
