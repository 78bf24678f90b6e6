"""Which BLAS kernels ran, for the benchmark records: ours (modclust-mpi --version) and the peers' (the
OpenBLAS this Python process loaded for NumPy, SciPy and PyTorch; Debian's builds share it)."""
import ctypes
import os
import subprocess


def ours(build):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    out = subprocess.run([os.path.join(build, "modclust-mpi"), "--version"], capture_output=True, text=True, env=env).stdout
    lines = [l.strip() for l in out.splitlines() if l.strip().startswith("BLAS:")]
    return lines[0][len("BLAS:"):].strip() if lines else "unknown"


def peers():
    import numpy  # noqa: F401  (loads the BLAS the peers use)
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return "OpenBLAS, kernels " + lib.openblas_get_corename().decode() + (" (OPENBLAS_CORETYPE=" + os.environ["OPENBLAS_CORETYPE"] + ")" if os.environ.get("OPENBLAS_CORETYPE") else " (the library's choice)")
        except (OSError, AttributeError):
            continue
    return "not OpenBLAS"


def line(build):
    return f"kernels: modclust-mpi {ours(build)}; peers {peers()}"
