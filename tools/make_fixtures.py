#!/usr/bin/python3
"""Write the model and dataset fixtures of tests/io into a directory (default: the current one).

Keras 2 .h5 files are laid out exactly as Keras 2's legacy HDF5 saver does (model.save: root attributes
model_config / keras_version / backend, /model_weights with layer_names and per-layer weight_names,
datasets at <layer>/<weight name>, e.g. dense/dense/kernel:0; save_weights: the same tree at the root),
written with h5py since Debian has no Keras. safetensors files are written with struct + json.

For every good fixture an expectation <name>.expect.h5 is written in the native modclust model format
(docs/formats.md) with the tensors converted to the canonical layout here, in numpy, independently of
the C readers. tests/io/check_models.py drives the C test program over all of them.

Usage: make_fixtures.py [OUTDIR] [--data IDX_DIR]   (--data: also write dataset fixtures from the
Fashion-MNIST test split in IDX_DIR)
"""
import gzip
import json
import os
import struct
import sys

import h5py
import numpy as np

SEED = 20240611


# ---------------------------------------------------------------------------------------------------
# The native model format (expectations), written independently of src/io/model_native.c.

def write_native(path, input_hwc, layers):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "modclust-model"
        f.attrs["version"] = np.int64(1)
        f.attrs["input_shape"] = np.array(input_hwc, dtype=np.int64)
        f.attrs["n_layers"] = np.int64(len(layers))
        f.attrs["source_format"] = "expectation"
        for i, l in enumerate(layers):
            g = f.create_group("layers/%03d" % i)
            g.attrs["type"] = l["type"]
            g.attrs["name"] = l.get("name", "")
            g.attrs["activation"] = l.get("act", "linear")
            g.attrs["alpha"] = float(l.get("alpha", 0.0))
            if l["type"] in ("conv2d", "maxpool2d", "avgpool2d"):
                g.attrs["kernel"] = np.array(l["window"], dtype=np.int64)
                g.attrs["strides"] = np.array(l["strides"], dtype=np.int64)
                g.attrs["padding"] = l.get("padding", "valid")
            if l["type"] == "batchnorm":
                g.attrs["epsilon"] = float(np.float32(l["eps"]))
            if l["type"] == "dropout":
                g.attrs["rate"] = float(l.get("rate", 0.0))
            for key in ("weight", "bias", "gamma", "beta", "moving_mean", "moving_var"):
                if l.get(key) is not None:
                    g.create_dataset(key, data=np.asarray(l[key], dtype=np.float32))


# ---------------------------------------------------------------------------------------------------
# Keras 2 legacy HDF5 layout.

HDF5_OBJECT_HEADER_LIMIT = 64512


def save_attributes(group, name, data, fixed=True, force_chunks=0):
    """Keras' save_attributes_to_hdf5_group: bytes arrays (fixed-length strings), split into name0,
    name1, ... when too large (force_chunks > 0 forces that many chunks)."""
    if fixed:
        arr = np.asarray([d.encode("utf8") for d in data]) if data else np.asarray([])
    else:
        arr = np.asarray(list(data), dtype=object) if data else np.asarray([])
    num_chunks = max(1, force_chunks)
    if fixed and arr.size:
        while arr.nbytes / num_chunks > HDF5_OBJECT_HEADER_LIMIT:
            num_chunks += 1
    if num_chunks > 1:
        for chunk_id, chunk in enumerate(np.array_split(arr, num_chunks)):
            if fixed:
                group.attrs["%s%d" % (name, chunk_id)] = chunk
            else:
                group.attrs.create("%s%d" % (name, chunk_id), list(chunk), dtype=h5py.string_dtype())
    else:
        if fixed or not arr.size:
            group.attrs[name] = arr
        else:
            group.attrs.create(name, list(arr), dtype=h5py.string_dtype())


def write_keras(path, model_config, weights, layer_names, mode="save", fixed=True, colon=True, force_chunks=0):
    """weights: {layer_name: [(weight_name_without_suffix, array), ...]} in Keras' order."""
    with h5py.File(path, "w") as f:
        cfg = json.dumps(model_config)
        if fixed:
            f.attrs["keras_version"] = b"2.11.0"
            f.attrs["backend"] = b"tensorflow"
            f.attrs["model_config"] = cfg.encode("utf8")
        else:
            f.attrs["keras_version"] = "2.11.0"
            f.attrs["backend"] = "tensorflow"
            f.attrs["model_config"] = cfg
        if mode == "save":
            f.attrs["training_config"] = json.dumps({"loss": "categorical_crossentropy"}).encode("utf8")
            g = f.create_group("model_weights")
        else:
            g = f
        save_attributes(g, "layer_names", layer_names, fixed=fixed, force_chunks=force_chunks)
        g.attrs["backend"] = b"tensorflow" if fixed else "tensorflow"
        g.attrs["keras_version"] = b"2.11.0" if fixed else "2.11.0"
        for lname in sorted(layer_names):
            lg = g.create_group(lname)
            ws = weights.get(lname, [])
            names = [w[0] + (":0" if colon else "") for w in ws]
            save_attributes(lg, "weight_names", names, fixed=fixed)
            for n, (_, val) in zip(names, ws):
                val = np.asarray(val)
                d = lg.create_dataset(n, val.shape, dtype=val.dtype)
                if val.shape:
                    d[:] = val
                else:
                    d[()] = val


def dense_cfg(name, units, act="linear", use_bias=True, input_shape=None):
    c = {"name": name, "trainable": True, "dtype": "float32", "units": units, "activation": act, "use_bias": use_bias,
         "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
         "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
         "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}
    if input_shape is not None:
        c["batch_input_shape"] = [None] + list(input_shape)
    return {"class_name": "Dense", "config": c}


def conv_cfg(name, filters, k, strides=(1, 1), padding="valid", act="linear", use_bias=True):
    return {"class_name": "Conv2D", "config": {
        "name": name, "trainable": True, "dtype": "float32", "filters": filters, "kernel_size": list(k),
        "strides": list(strides), "padding": padding, "data_format": "channels_last", "dilation_rate": [1, 1],
        "groups": 1, "activation": act, "use_bias": use_bias,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}}}}


def pool_cfg(cls, name, pool, strides=None, padding="valid"):
    return {"class_name": cls, "config": {"name": name, "trainable": True, "dtype": "float32", "pool_size": list(pool),
                                          "padding": padding, "strides": list(strides) if strides else None,
                                          "data_format": "channels_last"}}


def simple_cfg(cls, name, **kw):
    c = {"name": name, "trainable": True, "dtype": "float32"}
    c.update(kw)
    return {"class_name": cls, "config": c}


def input_cfg(name, shape):
    return {"class_name": "InputLayer", "config": {"batch_input_shape": [None] + list(shape), "dtype": "float32",
                                                   "sparse": False, "ragged": False, "name": name}}


def sequential(name, layers):
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers}}


def functional(name, layers):
    """A Functional model whose layers form a chain, with Keras 2 inbound_nodes."""
    out = []
    prev = None
    for l in layers:
        l = dict(l)
        l["name"] = l["config"]["name"]
        l["inbound_nodes"] = [] if prev is None else [[[prev, 0, 0, {}]]]
        prev = l["name"]
        out.append(l)
    return {"class_name": "Functional", "config": {"name": name, "layers": out,
                                                   "input_layers": [[layers[0]["config"]["name"], 0, 0]],
                                                   "output_layers": [[prev, 0, 0]]}}


def f32(rng, *shape, scale=0.1):
    return (scale * rng.standard_normal(shape)).astype(np.float32)


# ---------------------------------------------------------------------------------------------------
# Keras fixtures.

def keras_mlp(out, rng):
    w1, b1 = f32(rng, 784, 32), f32(rng, 32)
    w2, b2 = f32(rng, 32, 16), f32(rng, 16)
    w3, b3 = f32(rng, 16, 10), f32(rng, 10)
    layers = [input_cfg("flatten_input", [28, 28]), simple_cfg("Flatten", "flatten", data_format="channels_last"),
              dense_cfg("dense", 32, "relu"), simple_cfg("Dropout", "dropout", rate=0.5, noise_shape=None, seed=None),
              dense_cfg("dense_1", 16, "relu"), dense_cfg("dense_2", 10, "softmax")]
    weights = {"dense": [("dense/kernel", w1), ("dense/bias", b1)], "dense_1": [("dense_1/kernel", w2), ("dense_1/bias", b2)],
               "dense_2": [("dense_2/kernel", w3), ("dense_2/bias", b3)]}
    names = ["flatten", "dense", "dropout", "dense_1", "dense_2"]
    expect = [{"type": "flatten", "name": "flatten"},
              {"type": "dense", "name": "dense", "act": "relu", "weight": w1, "bias": b1},
              {"type": "dropout", "name": "dropout", "rate": 0.5},
              {"type": "dense", "name": "dense_1", "act": "relu", "weight": w2, "bias": b2},
              {"type": "dense", "name": "dense_2", "act": "softmax", "weight": w3, "bias": b3}]
    cfg = sequential("sequential", layers)
    write_keras(os.path.join(out, "keras_mlp.h5"), cfg, weights, names)
    write_native(os.path.join(out, "keras_mlp.expect.h5"), [28, 28, 1], expect)
    # save_weights layout (tree at the root) with variable-length strings and Keras 3 names (no ':0').
    write_keras(os.path.join(out, "keras_mlp_weights.h5"), cfg, weights, names, mode="weights", fixed=False, colon=False)
    write_native(os.path.join(out, "keras_mlp_weights.expect.h5"), [28, 28, 1], expect)
    # layer_names split over layer_names0, layer_names1, layer_names2.
    write_keras(os.path.join(out, "keras_mlp_split.h5"), cfg, weights, names, force_chunks=3)
    write_native(os.path.join(out, "keras_mlp_split.expect.h5"), [28, 28, 1], expect)
    # NaN in a kernel; a Dense kernel whose rows disagree with the incoming size.
    bad = np.array(w2)
    bad[3, 5] = np.nan
    write_keras(os.path.join(out, "bad_keras_nan.h5"), cfg, dict(weights, dense_1=[("dense_1/kernel", bad), ("dense_1/bias", b2)]), names)
    write_keras(os.path.join(out, "bad_keras_mismatch.h5"), cfg, dict(weights, dense_1=[("dense_1/kernel", f32(rng, 30, 16)), ("dense_1/bias", b2)]), names)
    # An unsupported layer class, and a weight missing from weight_names.
    lstm = [input_cfg("in", [28, 28]), simple_cfg("LSTM", "lstm", units=8), dense_cfg("dense", 10)]
    write_keras(os.path.join(out, "bad_keras_unsupported.h5"), sequential("s", lstm), {"dense": [("dense/kernel", f32(rng, 8, 10))]}, ["lstm", "dense"])
    write_keras(os.path.join(out, "bad_keras_nobias.h5"), cfg, dict(weights, dense_1=[("dense_1/kernel", w2)]), names)
    # Weights only (no model_config).
    with h5py.File(os.path.join(out, "bad_keras_noconfig.h5"), "w") as f:
        save_attributes(f, "layer_names", ["dense"])
        g = f.create_group("dense")
        save_attributes(g, "weight_names", ["dense/kernel:0"])
        g.create_dataset("dense/kernel:0", data=w3)


def keras_cnn(out, rng, kind):
    c1, cb1 = f32(rng, 3, 3, 1, 8), f32(rng, 8)
    g1, be1 = (1 + f32(rng, 8)).astype(np.float32), f32(rng, 8)
    mm1, mv1 = f32(rng, 8), (0.5 + rng.random(8)).astype(np.float32)
    c2 = f32(rng, 3, 3, 8, 4)
    be2, mm2, mv2 = f32(rng, 4), f32(rng, 4), (0.5 + rng.random(4)).astype(np.float32)
    d1, db1 = f32(rng, 2 * 2 * 4, 16), f32(rng, 16)
    d2, db2 = f32(rng, 16, 10), f32(rng, 10)
    layers = [input_cfg("input_1", [12, 12, 1]),
              conv_cfg("conv2d", 8, (3, 3), padding="same", act="relu"),
              simple_cfg("BatchNormalization", "batch_normalization", axis=[3], momentum=0.99, epsilon=0.001, center=True, scale=True),
              pool_cfg("MaxPooling2D", "max_pooling2d", (2, 2), (2, 2)),
              conv_cfg("conv2d_1", 4, (3, 3), strides=(1, 1), padding="valid", use_bias=False),
              simple_cfg("BatchNormalization", "batch_normalization_1", axis=-1, momentum=0.99, epsilon=0.0011, center=True, scale=False),
              simple_cfg("ReLU", "re_lu", max_value=None, negative_slope=0.0, threshold=0.0),
              pool_cfg("AveragePooling2D", "average_pooling2d", (3, 3), (2, 2), padding="same"),
              simple_cfg("Flatten", "flatten", data_format="channels_last"),
              dense_cfg("dense", 16),
              simple_cfg("Activation", "activation", activation="tanh"),
              simple_cfg("Dropout", "dropout", rate=0.25),
              dense_cfg("dense_1", 10),
              simple_cfg("Softmax", "softmax", axis=-1)]
    weights = {"conv2d": [("conv2d/kernel", c1), ("conv2d/bias", cb1)],
               "batch_normalization": [("batch_normalization/gamma", g1), ("batch_normalization/beta", be1),
                                       ("batch_normalization/moving_mean", mm1), ("batch_normalization/moving_variance", mv1)],
               "conv2d_1": [("conv2d_1/kernel", c2)],
               "batch_normalization_1": [("batch_normalization_1/beta", be2), ("batch_normalization_1/moving_mean", mm2),
                                         ("batch_normalization_1/moving_variance", mv2)],
               "dense": [("dense/kernel", d1), ("dense/bias", db1)], "dense_1": [("dense_1/kernel", d2), ("dense_1/bias", db2)]}
    expect = [{"type": "conv2d", "name": "conv2d", "act": "relu", "weight": c1, "bias": cb1, "window": (3, 3), "strides": (1, 1), "padding": "same"},
              {"type": "batchnorm", "name": "batch_normalization", "gamma": g1, "beta": be1, "moving_mean": mm1, "moving_var": mv1, "eps": 0.001},
              {"type": "maxpool2d", "name": "max_pooling2d", "window": (2, 2), "strides": (2, 2)},
              {"type": "conv2d", "name": "conv2d_1", "weight": c2, "window": (3, 3), "strides": (1, 1)},
              {"type": "batchnorm", "name": "batch_normalization_1", "beta": be2, "moving_mean": mm2, "moving_var": mv2, "eps": 0.0011},
              {"type": "activation", "name": "re_lu", "act": "relu"},
              {"type": "avgpool2d", "name": "average_pooling2d", "window": (3, 3), "strides": (2, 2), "padding": "same"},
              {"type": "flatten", "name": "flatten"},
              {"type": "dense", "name": "dense", "weight": d1, "bias": db1},
              {"type": "activation", "name": "activation", "act": "tanh"},
              {"type": "dropout", "name": "dropout", "rate": 0.25},
              {"type": "dense", "name": "dense_1", "weight": d2, "bias": db2},
              {"type": "softmax", "name": "softmax"}]
    names = [l["config"]["name"] for l in layers[1:]]
    if kind == "sequential":
        write_keras(os.path.join(out, "keras_cnn.h5"), sequential("sequential", layers), weights, names)
        write_native(os.path.join(out, "keras_cnn.expect.h5"), [12, 12, 1], expect)
    else:
        names = ["input_1"] + names  # a Functional model lists its InputLayer too
        write_keras(os.path.join(out, "keras_cnn_functional.h5"), functional("model", layers), weights, names)
        write_native(os.path.join(out, "keras_cnn_functional.expect.h5"), [12, 12, 1], expect)


def keras_pruned(out, rng):
    w1, b1 = f32(rng, 20, 12), f32(rng, 12)
    m1 = (rng.random((20, 12)) > 0.6).astype(np.float32)
    w1 = (w1 * m1).astype(np.float32)
    w2, b2 = f32(rng, 12, 5), f32(rng, 5)
    m2 = (rng.random((12, 5)) > 0.5).astype(np.float32)
    w2 = (w2 * m2).astype(np.float32)

    def wrap(inner):
        name = "prune_low_magnitude_" + inner["config"]["name"]
        return {"class_name": "PruneLowMagnitude", "config": {
            "name": name, "trainable": True, "dtype": "float32", "layer": inner,
            "pruning_schedule": {"class_name": "PolynomialDecay", "config": {"initial_sparsity": 0.5, "final_sparsity": 0.9,
                                                                             "begin_step": 0, "end_step": 1000, "power": 3, "frequency": 10}},
            "block_size": [1, 1], "block_pooling_type": "AVG"}}

    layers = [input_cfg("input", [20]), wrap(dense_cfg("dense", 12, "relu")), wrap(dense_cfg("dense_1", 5))]
    weights = {}
    for lname, w, b, m in (("dense", w1, b1, m1), ("dense_1", w2, b2, m2)):
        p = "prune_low_magnitude_" + lname
        weights[p] = [(lname + "/kernel", w), (lname + "/bias", b), (p + "/mask", m),
                      (p + "/threshold", np.float32(0.05)), (p + "/pruning_step", np.int64(1234))]
    names = ["prune_low_magnitude_dense", "prune_low_magnitude_dense_1"]
    write_keras(os.path.join(out, "keras_pruned.h5"), sequential("sequential", layers), weights, names)
    write_native(os.path.join(out, "keras_pruned.expect.h5"), [1, 1, 20],
                 [{"type": "dense", "name": "dense", "act": "relu", "weight": w1, "bias": b1},
                  {"type": "dense", "name": "dense_1", "weight": w2, "bias": b2}])


# ---------------------------------------------------------------------------------------------------
# safetensors.

ST_DTYPES = {"F32": ("<f4", 4), "F64": ("<f8", 8), "F16": ("<f2", 2), "BF16": (None, 2), "I64": ("<i8", 8)}


def bf16_bytes(a):
    """Round-to-nearest-even bfloat16 bytes of float32 array a; returns (bytes, float32 values)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    back = (r.astype(np.uint32) << 16).view(np.float32)
    return r.astype("<u2").tobytes(), back


def write_safetensors(path, tensors, metadata=None, header_override=None, pad_header=0):
    """tensors: list of (name, dtype, array). Returns {name: float32 array as the reader must see it}."""
    header, blobs, seen, off = {}, [], {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dt, a in tensors:
        if dt == "BF16":
            raw, val = bf16_bytes(a)
        else:
            arr = np.ascontiguousarray(np.asarray(a).astype(ST_DTYPES[dt][0]))
            raw, val = arr.tobytes(), arr.astype(np.float32)
        header[name] = {"dtype": dt, "shape": list(np.shape(a)), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        seen[name] = val.reshape(np.shape(a))
        off += len(raw)
    text = header_override if header_override is not None else json.dumps(header)
    hb = text.encode("utf8") + b" " * pad_header
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    return seen


def torch_mlp(out, rng):
    # nn.Sequential(Flatten, Linear(784, 24), ReLU, Linear(24, 12), ReLU, Linear(12, 10)): infer = mlp.
    t = [("0.weight", "F32", f32(rng, 24, 784)), ("0.bias", "F32", f32(rng, 24)),
         ("2.weight", "F32", f32(rng, 12, 24)), ("2.bias", "F32", f32(rng, 12)),
         ("4.weight", "F32", f32(rng, 10, 12)), ("4.bias", "F32", f32(rng, 10))]
    v = write_safetensors(os.path.join(out, "torch_mlp.safetensors"), t, metadata={"format": "pt"})
    with open(os.path.join(out, "torch_mlp.ini"), "w") as f:
        f.write("[model]\npath = torch_mlp.safetensors\nlayout = torch\ninput_shape = 1,28,28\ninfer = mlp\n")
    # 1 x 28 x 28 input: the reader puts a Flatten first; with one channel C,H,W and H,W,C agree.
    expect = [{"type": "flatten", "name": "flatten"},
              {"type": "dense", "name": "0", "act": "relu", "weight": v["0.weight"].T, "bias": v["0.bias"]},
              {"type": "dense", "name": "2", "act": "relu", "weight": v["2.weight"].T, "bias": v["2.bias"]},
              {"type": "dense", "name": "4", "weight": v["4.weight"].T, "bias": v["4.bias"]}]
    write_native(os.path.join(out, "torch_mlp.expect.h5"), [28, 28, 1], expect)
    # Flat input, no bias on the middle layer, dtypes F64 and F16 (columns scaled into the f16 subnormals).
    t2 = [("fc1.weight", "F64", f32(rng, 8, 6)), ("fc1.bias", "F64", f32(rng, 8)),
          ("fc2.weight", "F16", f32(rng, 5, 8) * np.array([1, 1, 1e-4, 1e-5, 1, 1, 1e-6, 1], dtype=np.float32)), ("fc3.weight", "F32", f32(rng, 3, 5)), ("fc3.bias", "F32", f32(rng, 3))]
    v2 = write_safetensors(os.path.join(out, "torch_mlp_flat.safetensors"), t2)
    with open(os.path.join(out, "torch_mlp_flat.ini"), "w") as f:
        f.write("[model]\nlayout = torch\ninfer = mlp\n")
    write_native(os.path.join(out, "torch_mlp_flat.expect.h5"), [1, 1, 6],
                 [{"type": "dense", "name": "fc1", "act": "relu", "weight": v2["fc1.weight"].T, "bias": v2["fc1.bias"]},
                  {"type": "dense", "name": "fc2", "act": "relu", "weight": v2["fc2.weight"].T},
                  {"type": "dense", "name": "fc3", "weight": v2["fc3.weight"].T, "bias": v2["fc3.bias"]}])
    # Broken variants.
    data = open(os.path.join(out, "torch_mlp.safetensors"), "rb").read()
    with open(os.path.join(out, "bad_st_truncated.safetensors"), "wb") as f:
        f.write(data[: len(data) - 100])
    hdr = json.loads(data[8: 8 + struct.unpack("<Q", data[:8])[0]])
    h2 = dict(hdr)
    h2["2.bias"] = dict(hdr["2.bias"], data_offsets=[hdr["2.bias"]["data_offsets"][0], hdr["2.bias"]["data_offsets"][1] + 4])
    write_safetensors(os.path.join(out, "bad_st_size.safetensors"), t, header_override=json.dumps(h2))
    h3 = dict(hdr)
    h3["4.bias"] = dict(hdr["4.bias"], data_offsets=[hdr["4.weight"]["data_offsets"][0], hdr["4.weight"]["data_offsets"][0] + 40])
    write_safetensors(os.path.join(out, "bad_st_overlap.safetensors"), t, header_override=json.dumps(h3))
    text = json.dumps(hdr)
    dup = text[:-1] + ', "0.bias": ' + json.dumps(hdr["0.bias"]) + "}"
    write_safetensors(os.path.join(out, "bad_st_duplicate.safetensors"), t, header_override=dup)
    with open(os.path.join(out, "bad_st_hugeheader.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 200 * 1000 * 1000) + b'{"a": 1}')
    nan = [(n, d, a.copy()) for n, d, a in t]
    nan[2][2][1, 1] = np.inf
    write_safetensors(os.path.join(out, "bad_st_nan.safetensors"), nan)
    for name in ("bad_st_truncated", "bad_st_size", "bad_st_overlap", "bad_st_duplicate", "bad_st_hugeheader", "bad_st_nan"):
        with open(os.path.join(out, name + ".ini"), "w") as f:
            f.write("[model]\nlayout = torch\ninput_shape = 1,28,28\ninfer = mlp\n")
    # A sidecar naming a tensor the file does not have.
    with open(os.path.join(out, "bad_st_missing.ini"), "w") as f:
        f.write("[model]\nlayout = torch\ninput_shape = 784\n[layer.0]\ntype = dense\nweight = 0.weight\nbias = 0.bias\n"
                "[layer.1]\ntype = dense\nweight = 3.weight\n")


def torch_cnn(out, rng):
    # Conv(2->6, 3x3, stride 1, same) BN ReLU MaxPool2 Conv(6->4, 3x3, stride 2, valid) ReLU Flatten
    # Linear(4*2*2 -> 7) ReLU Linear(7 -> 3); input 2 x 10 x 10 (C, H, W).
    c1, cb1 = f32(rng, 6, 2, 3, 3), f32(rng, 6)
    g, b, rm, rv = (1 + f32(rng, 6)), f32(rng, 6), f32(rng, 6), (0.5 + rng.random(6)).astype(np.float32)
    c2, cb2 = f32(rng, 4, 6, 3, 3), f32(rng, 4)
    l1, lb1 = f32(rng, 7, 16), f32(rng, 7)
    l2, lb2 = f32(rng, 3, 7), f32(rng, 3)
    t = [("features.0.weight", "F32", c1), ("features.0.bias", "BF16", cb1),
         ("features.1.weight", "F32", g), ("features.1.bias", "F32", b), ("features.1.running_mean", "F32", rm),
         ("features.1.running_var", "F32", rv), ("features.1.num_batches_tracked", "I64", np.array(100, dtype=np.int64)),
         ("features.4.weight", "F16", c2), ("features.4.bias", "F32", cb2),
         ("classifier.0.weight", "F32", l1), ("classifier.0.bias", "F32", lb1),
         ("classifier.2.weight", "F32", l2), ("classifier.2.bias", "F32", lb2)]
    v = write_safetensors(os.path.join(out, "torch_cnn.safetensors"), t)
    with open(os.path.join(out, "torch_cnn.ini"), "w") as f:
        f.write("""[model]
path = torch_cnn.safetensors
layout = torch
input_shape = 2,10,10
[layer.0]
type = conv2d
weight = features.0.weight
bias = features.0.bias
padding = same
[layer.1]
type = batchnorm
gamma = features.1.weight
beta = features.1.bias
mean = features.1.running_mean
var = features.1.running_var
[layer.2]
type = activation
activation = relu
[layer.3]
type = maxpool2d
pool = 2
[layer.4]
type = conv2d
weight = features.4.weight
bias = features.4.bias
stride = 2
activation = relu
[layer.5]
type = flatten
[layer.6]
type = dense
weight = classifier.0.weight
bias = classifier.0.bias
activation = relu
[layer.7]
type = dropout
rate = 0.5
[layer.8]
type = dense
weight = classifier.2.weight
bias = classifier.2.bias
""")
    # Shapes: 10x10x2 -> conv same 10x10x6 -> pool 5x5x6 -> conv 3x3 s2 valid: (5-3)/2+1 = 2 -> 2x2x4.
    lin = v["classifier.0.weight"]  # [7, 16], columns in torch's C, H, W order
    hwc = lin.reshape(7, 4, 2, 2).transpose(0, 2, 3, 1).reshape(7, 16)  # -> H, W, C order
    expect = [{"type": "conv2d", "name": "features.0", "weight": v["features.0.weight"].transpose(2, 3, 1, 0), "bias": v["features.0.bias"],
               "window": (3, 3), "strides": (1, 1), "padding": "same"},
              {"type": "batchnorm", "name": "features.1", "gamma": v["features.1.weight"], "beta": v["features.1.bias"],
               "moving_mean": v["features.1.running_mean"], "moving_var": v["features.1.running_var"], "eps": 1e-5},
              {"type": "activation", "name": "layer.2", "act": "relu"},
              {"type": "maxpool2d", "name": "layer.3", "window": (2, 2), "strides": (2, 2)},
              {"type": "conv2d", "name": "features.4", "act": "relu", "weight": v["features.4.weight"].transpose(2, 3, 1, 0), "bias": v["features.4.bias"],
               "window": (3, 3), "strides": (2, 2)},
              {"type": "flatten", "name": "layer.5"},
              {"type": "dense", "name": "classifier.0", "act": "relu", "weight": hwc.T, "bias": v["classifier.0.bias"]},
              {"type": "dropout", "name": "layer.7", "rate": 0.5},
              {"type": "dense", "name": "classifier.2", "weight": v["classifier.2.weight"].T, "bias": v["classifier.2.bias"]}]
    write_native(os.path.join(out, "torch_cnn.expect.h5"), [10, 10, 2], expect)
    # The same network in keras layout (tensors already canonical, H, W, C input).
    tk = [("c1", "F32", v["features.0.weight"].transpose(2, 3, 1, 0)), ("c1b", "F32", v["features.0.bias"]),
          ("bn_g", "F32", v["features.1.weight"]), ("bn_b", "F32", v["features.1.bias"]),
          ("bn_m", "F32", v["features.1.running_mean"]), ("bn_v", "F32", v["features.1.running_var"]),
          ("c2", "F32", v["features.4.weight"].transpose(2, 3, 1, 0)), ("c2b", "F32", v["features.4.bias"]),
          ("d1", "F32", hwc.T), ("d1b", "F32", v["classifier.0.bias"]),
          ("d2", "F32", v["classifier.2.weight"].T), ("d2b", "F32", v["classifier.2.bias"])]
    write_safetensors(os.path.join(out, "keras_layout_cnn.safetensors"), tk)
    ini = open(os.path.join(out, "torch_cnn.ini")).read()
    for a, bb in (("features.0.weight", "c1"), ("features.0.bias", "c1b"), ("features.1.weight", "bn_g"), ("features.1.bias", "bn_b"),
                  ("features.1.running_mean", "bn_m"), ("features.1.running_var", "bn_v"), ("features.4.weight", "c2"),
                  ("features.4.bias", "c2b"), ("classifier.0.weight", "d1"), ("classifier.0.bias", "d1b"),
                  ("classifier.2.weight", "d2"), ("classifier.2.bias", "d2b")):
        ini = ini.replace("= " + a + "\n", "= " + bb + "\n")
    ini = ini.replace("layout = torch", "layout = keras").replace("input_shape = 2,10,10", "input_shape = 10,10,2")
    ini = ini.replace("path = torch_cnn.safetensors", "path = keras_layout_cnn.safetensors")
    ini = ini.replace("type = batchnorm\n", "type = batchnorm\neps = 0.00001\n")
    with open(os.path.join(out, "keras_layout_cnn.ini"), "w") as f:
        f.write(ini)
    ek = [dict(e) for e in expect]
    for e, n in zip(ek, ("c1", "bn_g", None, None, "c2", None, "d1", None, "d2")):
        if n:
            e["name"] = n
    write_native(os.path.join(out, "keras_layout_cnn.expect.h5"), [10, 10, 2], ek)
    # A shape mismatch: the first Linear expects 20 inputs after a 16-wide flatten.
    tb = [x for x in t if not x[0].startswith("classifier.0")] + [("classifier.0.weight", "F32", f32(rng, 7, 20)), ("classifier.0.bias", "F32", lb1)]
    write_safetensors(os.path.join(out, "bad_st_mismatch.safetensors"), tb)
    with open(os.path.join(out, "bad_st_mismatch.ini"), "w") as f:
        f.write(open(os.path.join(out, "torch_cnn.ini")).read().replace("torch_cnn.safetensors", "bad_st_mismatch.safetensors"))


def truncate(path, dst, frac=0.5):
    data = open(path, "rb").read()
    with open(dst, "wb") as f:
        f.write(data[: int(len(data) * frac)])


# ---------------------------------------------------------------------------------------------------
# Datasets.

def datasets(out, idx_dir):
    def load(name, off):
        with gzip.open(os.path.join(idx_dir, name + ".gz")) as f:
            return f.read()[off:]
    x = np.frombuffer(load("t10k-images-idx3-ubyte", 16), np.uint8).reshape(-1, 28, 28)
    y = np.frombuffer(load("t10k-labels-idx1-ubyte", 8), np.uint8)
    d = os.path.join(out, "data")
    os.makedirs(d, exist_ok=True)
    with h5py.File(os.path.join(d, "fashion_test.h5"), "w") as f:
        f["test/images"] = x
        f["test/labels"] = y.astype(np.int64)
        f["train/images"] = x[:100]
        f["train/labels"] = y[:100].astype(np.int64)
    with h5py.File(os.path.join(d, "float_nhwc.h5"), "w") as f:
        f["test/images"] = (x[:50, :, :, None].astype(np.float32) / 255.0)
        f["test/labels"] = y[:50].astype(np.int32)
    with h5py.File(os.path.join(d, "bad_count.h5"), "w") as f:
        f["test/images"] = x[:50]
        f["test/labels"] = y[:49]
    # Plain (uncompressed) IDX copy of the test split, and truncated copies (plain and gzipped).
    for sub in ("idx_plain", "idx_trunc_plain", "idx_trunc_gz", "idx_badmagic"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    img = load("t10k-images-idx3-ubyte", 0)
    lab = load("t10k-labels-idx1-ubyte", 0)
    open(os.path.join(d, "idx_plain", "t10k-images-idx3-ubyte"), "wb").write(img)
    open(os.path.join(d, "idx_plain", "t10k-labels-idx1-ubyte"), "wb").write(lab)
    open(os.path.join(d, "idx_trunc_plain", "t10k-images-idx3-ubyte"), "wb").write(img[: len(img) // 2])
    open(os.path.join(d, "idx_trunc_plain", "t10k-labels-idx1-ubyte"), "wb").write(lab)
    gz = open(os.path.join(idx_dir, "t10k-images-idx3-ubyte.gz"), "rb").read()
    open(os.path.join(d, "idx_trunc_gz", "t10k-images-idx3-ubyte.gz"), "wb").write(gz[: len(gz) // 2])
    open(os.path.join(d, "idx_trunc_gz", "t10k-labels-idx1-ubyte.gz"), "wb").write(open(os.path.join(idx_dir, "t10k-labels-idx1-ubyte.gz"), "rb").read())
    open(os.path.join(d, "idx_badmagic", "t10k-images-idx3-ubyte"), "wb").write(b"\x00\x00\x08\x01" + img[4:])
    open(os.path.join(d, "idx_badmagic", "t10k-labels-idx1-ubyte"), "wb").write(lab)


def main():
    args = sys.argv[1:]
    idx_dir = None
    if "--data" in args:
        i = args.index("--data")
        idx_dir = args[i + 1]
        del args[i: i + 2]
    out = args[0] if args else "."
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(SEED)
    keras_mlp(out, rng)
    keras_cnn(out, rng, "sequential")
    keras_cnn(out, rng, "functional")
    keras_pruned(out, rng)
    torch_mlp(out, rng)
    torch_cnn(out, rng)
    for name in ("keras_mlp.h5", "keras_cnn.h5", "keras_mlp_weights.h5", "keras_pruned.h5"):
        truncate(os.path.join(out, name), os.path.join(out, "bad_trunc_" + name))
    truncate(os.path.join(out, "torch_cnn.safetensors"), os.path.join(out, "bad_trunc_torch_cnn.safetensors"), 0.8)
    with open(os.path.join(out, "bad_trunc_torch_cnn.ini"), "w") as f:
        f.write(open(os.path.join(out, "torch_cnn.ini")).read().replace("torch_cnn.safetensors", "bad_trunc_torch_cnn.safetensors"))
    # A file that is neither format.
    with open(os.path.join(out, "bad_notamodel.bin"), "wb") as f:
        f.write(b"this is not a model file at all\n")
    if idx_dir:
        datasets(out, idx_dir)


if __name__ == "__main__":
    main()
