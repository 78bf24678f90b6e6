#!/usr/bin/python3
"""Drive tests/io/test_io_model over the fixtures of tools/make_fixtures.py.

check_models.py FIXTURE_DIR NP good   every good fixture read on NP ranks equals its expectation
                                      (bitwise, canonical layout) and survives a native round trip
check_models.py FIXTURE_DIR NP bad    every broken fixture fails with a non-zero exit and one message
                                      naming the file and the key or layer
"""
import os
import re
import shlex
import subprocess
import sys

BIN = os.environ.get("MC_BIN", ".")
MPIEXEC = os.environ.get("MC_MPIEXEC", "mpiexec")
MPI_FLAGS = shlex.split(os.environ.get("MC_MPI_FLAGS", "--oversubscribe"))
EXE = os.path.join(BIN, "tests", "io", "test_io_model")

GOOD = [  # (model file, sidecar or None)
    ("keras_mlp.h5", None), ("keras_mlp_weights.h5", None), ("keras_mlp_split.h5", None), ("keras_cnn.h5", None),
    ("keras_cnn_functional.h5", None), ("keras_pruned.h5", None),
    ("torch_mlp.safetensors", "torch_mlp.ini"), ("torch_mlp_flat.safetensors", "torch_mlp_flat.ini"),
    ("torch_cnn.safetensors", "torch_cnn.ini"), ("keras_layout_cnn.safetensors", "keras_layout_cnn.ini"),
]

BAD = [  # (model file, sidecar or None, substrings the error message must contain)
    ("bad_keras_nan.h5", None, ["dense_1", "weight", "NaN"]),
    ("bad_keras_mismatch.h5", None, ["dense_1", "30 inputs", "32"]),
    ("bad_keras_unsupported.h5", None, ["lstm", "LSTM", "not supported"]),
    ("bad_keras_nobias.h5", None, ["dense_1", "bias"]),
    ("bad_keras_noconfig.h5", None, ["model_config"]),
    ("bad_trunc_keras_mlp.h5", None, ["truncated"]),
    ("bad_trunc_keras_cnn.h5", None, ["truncated"]),
    ("bad_trunc_keras_mlp_weights.h5", None, ["truncated"]),
    ("bad_trunc_keras_pruned.h5", None, ["truncated"]),
    ("bad_st_truncated.safetensors", "bad_st_truncated.ini", ["truncated", "4.weight"]),
    ("bad_trunc_torch_cnn.safetensors", "bad_trunc_torch_cnn.ini", ["truncated", "classifier.0.weight"]),
    ("bad_st_size.safetensors", "bad_st_size.ini", ["2.bias", "data_offsets"]),
    ("bad_st_overlap.safetensors", "bad_st_overlap.ini", ["overlaps", "4."]),
    ("bad_st_duplicate.safetensors", "bad_st_duplicate.ini", ["0.bias", "twice"]),
    ("bad_st_hugeheader.safetensors", "bad_st_hugeheader.ini", ["header length", "100 MB"]),
    ("bad_st_nan.safetensors", "bad_st_nan.ini", ["'2'", "weight", "Inf"]),
    ("bad_st_mismatch.safetensors", "bad_st_mismatch.ini", ["classifier.0", "20 inputs", "16"]),
    ("torch_mlp.safetensors", "bad_st_missing.ini", ["3.weight", "[layer.1]"]),
    ("torch_mlp.safetensors", None, ["[layer.0]", "infer"]),
    ("bad_notamodel.bin", None, ["not a model file"]),
    ("does_not_exist.h5", None, ["does not exist"]),
]


def run(np, model, sidecar, extra=()):
    cmd = [MPIEXEC, "-n", str(np), *MPI_FLAGS, EXE, "-model", model, *extra]
    if sidecar:
        cmd += ["-sidecar", sidecar]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    return p.returncode, p.stdout, p.stderr


def main():
    fx, np, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.chdir(fx)
    failures = []
    if mode == "good":
        for model, sidecar in GOOD:
            stem = model.rsplit(".", 1)[0]
            code, out, err = run(np, model, sidecar, ["-expect", stem + ".expect.h5", "-roundtrip", "rt_%s_np%d.h5" % (stem, np)])
            if code != 0 or ("ok " + model) not in out:
                failures.append("%s: exit %d\n%s%s" % (model, code, out, err))
            else:
                print("ok", model)
    else:
        for model, sidecar, keys in BAD:
            code, out, err = run(np, model, sidecar)
            msgs = [l for l in err.splitlines() if re.match(r"[\w.-]+: error", l)]
            text = "\n".join(msgs)
            problems = []
            if code == 0:
                problems.append("exit code 0")
            if len(msgs) != 1:
                problems.append("%d error lines (expected exactly one, from rank 0)" % len(msgs))
            for k in [model] + keys:
                if k not in text:
                    problems.append("message lacks %r" % k)
            if problems:
                failures.append("%s: %s\n--- stderr\n%s" % (model, "; ".join(problems), err))
            else:
                print("ok (rejected)", model, "->", text)
    if failures:
        print("\n\n".join(failures))
        sys.exit("FAILED: %d case(s)" % len(failures))


if __name__ == "__main__":
    main()
