# shellcheck shell=bash
# Shared by tools/test.sh and tools/demo.sh (sourced, not run).

# Packages chord's build and tests need (Debian/Ubuntu names).
CHORD_PACKAGES=(cmake g++ make libeigen3-dev doctest-dev libstb-dev ca-certificates python3)

chord_log() { printf '\n==> %s\n' "$*"; }

# Installs whichever of CHORD_PACKAGES are missing, with apt-get; nothing when
# all are installed already, so repeated runs are fast.
chord_install_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    chord_log "not a Debian-based system: make sure these (or equivalents) are installed: ${CHORD_PACKAGES[*]}"
    return 0
  fi
  local missing=() p
  for p in "${CHORD_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]} == 0)); then
    chord_log "packages: all installed (${CHORD_PACKAGES[*]})"
    return 0
  fi
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "error: missing packages (${missing[*]}) and not root, and no sudo to install them" >&2
      return 1
    fi
  fi
  chord_log "installing packages: ${missing[*]}"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# The number of parallel jobs: every core.
chord_jobs() { nproc 2>/dev/null || echo 2; }

# Prints the nvcc to use (PATH, then /usr/local/cuda), or nothing.
chord_find_nvcc() {
  if [[ -n ${CUDACXX:-} && -x ${CUDACXX} ]]; then
    echo "$CUDACXX"
  elif command -v nvcc >/dev/null 2>&1; then
    command -v nvcc
  elif [[ -x /usr/local/cuda/bin/nvcc ]]; then
    echo /usr/local/cuda/bin/nvcc
  fi
}

# True when a GPU is visible to the CUDA driver (nvidia-smi lists one).
chord_gpu_visible() {
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'
}

# Configures the main build directory build/ (the same way for tests and demos, so
# one does not undo the other's configuration). With nvcc present, CUDA is
# required (-DCHORD_CUDA=ON): a broken toolkit is then an error, not a silent skip.
# CHORD_CPU_ONLY=1 builds the CPU backend only, even where nvcc is installed.
chord_configure_main_build() {
  local nvcc cuda_args=()
  nvcc=$(chord_find_nvcc)
  if [[ ${CHORD_CPU_ONLY:-0} == 1 ]]; then
    cuda_args=(-DCHORD_CUDA=OFF)
    chord_log "CUDA: off (CHORD_CPU_ONLY=1); building the CPU backend only"
  elif [[ -n $nvcc ]]; then
    export CUDACXX="$nvcc"
    cuda_args=(-DCHORD_CUDA=ON)
    chord_log "CUDA: using $nvcc (the CUDA code is compiled; GPU tests run only when a GPU is present)"
    if ! chord_gpu_visible; then
      chord_log "note: no GPU is visible here; --cpu (or CHORD_CPU_ONLY=1) skips compiling the CUDA code"
    fi
  else
    cuda_args=(-DCHORD_CUDA=OFF)
    chord_log "CUDA: no nvcc found; building the CPU backend only"
  fi
  chord_log "configure build/"
  # RelWithDebInfo with line tables only (-g1): full -g makes the -O2 test
  # build about 1.5 times slower, and doctest already reports file:line.
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" "${cuda_args[@]}"
}

# Succeeds when a program built with -fsanitize=address can run LeakSanitizer here.
chord_leak_sanitizer_works() {
  local dir ok=1
  dir=$(mktemp -d)
  echo 'int main() { return 0; }' >"$dir/probe.cpp"
  if c++ -fsanitize=address "$dir/probe.cpp" -o "$dir/probe" 2>/dev/null &&
    ASAN_OPTIONS=detect_leaks=1 "$dir/probe" >/dev/null 2>&1; then
    ok=0
  fi
  rm -rf "$dir"
  return $ok
}
