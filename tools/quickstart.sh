#!/usr/bin/env bash
# tools/quickstart.sh: set up a fresh Debian 12 machine, build modclust-mpi, then run or test it.
#   bash tools/quickstart.sh run    install what is missing, build, run the default job on 2 ranks
#   bash tools/quickstart.sh test   install what is missing, build, run the whole CTest suite
# Environment: BUILD_DIR (default ./build), NP (ranks for `run`, default 2), CTEST_ARGS (extra ctest flags),
# SANITIZE=0 (test: skip the sanitizer pass).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
[[ $mode == run || $mode == test ]] || { echo "usage: bash tools/quickstart.sh run|test" >&2; exit 2; }
BUILD_DIR=${BUILD_DIR:-build}
NP=${NP:-2}

# 1. Debian packages: the build, the runtime, the dataset, and the test oracles (Python via /usr/bin/python3).
packages=(build-essential cmake pkg-config git petsc-dev slepc-dev libopenmpi-dev openmpi-bin
  libscalapack-openmpi-dev libhdf5-openmpi-dev hdf5-tools libcjson-dev librandom123-dev zlib1g-dev
  libopenblas0-pthread libopenblas-dev libonnx-dev protobuf-c-compiler libprotobuf-c-dev libpng-dev libjpeg62-turbo-dev dataset-fashion-mnist
  python3-numpy python3-scipy python3-sklearn python3-h5py python3-torch python3-torchvision python3-onnx)
# The tests also run jobs/ under a private single-node Slurm (tests/jobs/slurm_local.py); the daemons the
# packages install are not used (on a machine with systemd they may start and fail for want of a config).
[[ $mode == test ]] && packages+=(slurmctld slurmd slurm-client munge)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "quickstart: installing ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) == 0 ]] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Build (OpenBLAS is selected through Debian's alternatives; one BLAS thread per rank).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"

# Open MPI as root needs an explicit permission; more ranks than cores need oversubscription. On one
# machine the shared-memory point-to-point layer (ob1) starts 0.2 s faster than the default fabric probe.
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1}
mpiflags=(--oversubscribe)
[[ $(id -u) == 0 ]] && mpiflags+=(--allow-run-as-root)

# 3. Run or test.
if [[ $mode == run ]]; then
  out=${OUT_DIR:-modclust-out}
  exec mpiexec -n "$NP" "${mpiflags[@]}" "$BUILD_DIR/modclust-mpi" inputs/default.ini "output.dir=$out" output.overwrite=true
else
  # The suite, then its bad-input, fault and small MPI tests again under AddressSanitizer and UBSan
  # (tools/sanitize.sh, its own build tree; SANITIZE=0 skips it).
  status=0
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 ${CTEST_ARGS:-} || status=$?
  if [[ ${SANITIZE:-1} != 0 ]]; then bash tools/sanitize.sh || status=$?; fi
  exit $status
fi
