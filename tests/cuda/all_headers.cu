// Compile check: every chord header, with the CUDA implementation switched on,
// compiles under nvcc. Built as chord_nvcc_check when CHORD_CUDA is ON; run as
// the CTest test nvcc_all_headers. Without a GPU it only prints a notice.
#define CHORD_CUDA_IMPLEMENTATION
#include <chord/chord.hpp>

#include <cuda_runtime.h>

#include <cstdio>

namespace {

// out: [blockDim.x]
__global__ void fill_ones(float* out) { out[threadIdx.x] = 1.0f; }

}  // namespace

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("chord_nvcc_check: no CUDA device; the headers compiled under nvcc, nothing to run\n");
    return 0;
  }
  // A GPU is present: launch one trivial kernel, which fails when the build's
  // CMAKE_CUDA_ARCHITECTURES do not cover this device.
  constexpr int n = 32;
  float* device_out = nullptr;  // [n]
  if (cudaMalloc(&device_out, n * sizeof(float)) != cudaSuccess) {
    std::printf("chord_nvcc_check: cudaMalloc failed\n");
    return 1;
  }
  fill_ones<<<1, n>>>(device_out);
  cudaError_t status = cudaGetLastError();
  if (status == cudaSuccess) status = cudaDeviceSynchronize();
  float host_out[n] = {};
  if (status == cudaSuccess) status = cudaMemcpy(host_out, device_out, sizeof(host_out), cudaMemcpyDeviceToHost);
  cudaFree(device_out);
  if (status != cudaSuccess) {
    std::printf("chord_nvcc_check: kernel launch failed: %s (is CMAKE_CUDA_ARCHITECTURES right for this GPU?)\n",
                cudaGetErrorString(status));
    return 1;
  }
  for (float v : host_out) {
    if (v != 1.0f) {
      std::printf("chord_nvcc_check: kernel wrote %g, expected 1\n", static_cast<double>(v));
      return 1;
    }
  }
  std::printf("chord_nvcc_check: headers compiled under nvcc; a kernel ran on %d device(s) present\n", devices);
  return 0;
}
