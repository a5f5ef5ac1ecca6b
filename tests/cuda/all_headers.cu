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

}  // namespace

int main() {
  if (!chord::cuda::is_available()) {
    std::printf("chord_nvcc_check: no CUDA device; the headers compiled under nvcc, nothing to run\n");
    return 0;
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
  // ... and one chord op.
  const float total = (t * 2.0f).sum().item();
  if (total != 2.0f * n) {
    std::printf("chord_nvcc_check: expected %g, got %g\n", 2.0 * n, static_cast<double>(total));
    return 1;
  }
  std::printf("chord_nvcc_check: headers compiled under nvcc; kernels ran on %d device(s)\n",
              chord::cuda::device_count());
  return 0;
}
