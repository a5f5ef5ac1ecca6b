// Compile check: every chord header compiles under nvcc too, in a .cu file of a
// user's project (the CUDA implementation itself is the library chord_cuda,
// compiled from src/cuda/chord_cuda.cu). Built as chord_nvcc_check when
// CHORD_CUDA is ON; run as the CTest test nvcc_all_headers. With a GPU it also
// runs one chord op there and one kernel of its own; without one it only prints
// a notice.
#include <chord/chord.hpp>

#include <cuda_runtime.h>

#include <cstdio>

namespace {

// out: [blockDim.x]
__global__ void fill_ones(float* out) { out[threadIdx.x] = 1.0f; }

// The main paths of chord, instantiated in a .cu file (nvcc's front end parses some C++ that
// g++ accepts differently): a GPT training step, generation, the RL objective. Runs on `device`.
float train_and_sample(chord::Device device) {
  using namespace chord;
  nn::GPT<float> model(nn::GPTConfig{.vocab_size = 11, .context_length = 8, .n_layer = 1, .n_head = 2, .n_embd = 8});
  model.to(device);
  optim::AdamW<float> opt(model.named_parameters(), {.lr = 1e-3});
  const auto tokens = Tensor<int64_t>::from_vector({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4});
  auto loss = nn::lm_loss(model.forward(tokens), tokens.to(device));
  loss.backward();
  optim::clip_grad_norm(model.parameters(), 1.0);
  opt.step();
  const auto out = generate(model, std::vector<std::vector<int64_t>>{{1, 2}}, {.max_new_tokens = 3}, 2);
  const auto lp = token_log_probs(model.forward(tokens), tokens.to(device), 0.7);
  const Tensor<float> mask = Tensor<float>::ones({2, 4});
  const std::vector<rl::RowKind> kinds(2, rl::RowKind::Expert);
  const auto objective = rl::mixed_objective(rl::ObjectiveBatch<float>{.log_probs = lp, .mask = mask, .kinds = kinds},
                                             1.0, rl::StepNormalizer::of(mask, kinds));
  return loss.item() + objective.loss.item() + static_cast<float>(out.num_new_tokens());
}

}  // namespace

int main() {
  if (!chord::cuda::is_available()) {
    // Exit 77: CTest's SKIP_RETURN_CODE (tests/CMakeLists.txt), so the run shows as skipped.
    std::printf("chord_nvcc_check: no CUDA device; the headers compiled under nvcc, the run is SKIPPED\n");
    return 77;
  }
  // A GPU is present: one kernel of this file, on chord's stream and memory, which fails when
  // the build's CMAKE_CUDA_ARCHITECTURES do not cover this device ...
  constexpr int n = 32;
  auto t = chord::Tensor<float>::zeros({n}, chord::Device::cuda());
  fill_ones<<<1, n, 0, static_cast<cudaStream_t>(chord::cuda::stream_handle(0))>>>(t.data());
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) {
    std::printf("chord_nvcc_check: kernel launch failed: %s (is CMAKE_CUDA_ARCHITECTURES right for this GPU?)\n",
                cudaGetErrorString(status));
    return 1;
  }
  // ... and chord's ops.
  const float total = (t * 2.0f).sum().item();
  if (total != 2.0f * n) {
    std::printf("chord_nvcc_check: expected %g, got %g\n", 2.0 * n, static_cast<double>(total));
    return 1;
  }
  try {
    const float value = train_and_sample(chord::Device::cuda());
    if (!(value == value)) throw chord::Error("chord_nvcc_check: a NaN loss");
  } catch (const chord::Error& e) {
    std::printf("chord_nvcc_check: %s\n", e.what());
    return 1;
  }
  std::printf("chord_nvcc_check: headers compiled under nvcc; kernels ran on %d device(s)\n",
              chord::cuda::device_count());
  return 0;
}
