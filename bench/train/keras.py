"""Keras 3 / TensorFlow (CPU) twin of runtime/model's deepcnn1d training step, driven by
bench/train.

Usage: python keras.py CONFIG_JSON THREADS
Same configuration and stdin protocol as pytorch.py ("THREADS STEPS" -> "SECONDS LOSS"),
except that TensorFlow fixes its thread pools at start-up, so one process serves one thread
count (intra-op THREADS, inter-op 1) and refuses others.

The network is the same layer for layer, channels-last as Keras wants it: Conv1D
(padding "same" = k//2 for odd k) -> BatchNormalization (momentum 0.9, epsilon 1e-5 as
PyTorch's) -> ReLU per conv, MaxPooling1D per block, global average (or max) pooling,
concatenation with the RR features, Dense ReLU, Dropout, Dense head (logits); with rrExpert a
second output, Dense ReLU layers and a Dense head on the RR features alone. Loss: sparse
categorical cross-entropy from logits with each sample weighted by its class weight, summed
over the outputs; Adam.
One step is model.train_on_batch (the compiled train function Keras' fit runs; Keras'
default jit_compile="auto"), whose returned loss is a host float like PyTorch's loss.item().
"""

import json
import os
import sys
import time

# This file is keras.py: keep its folder off sys.path so that "import keras" finds Keras.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def build(c, keras):
    from keras import layers

    d = c["deepcnn1d"]
    ch, length, feats = c["channels"], c["length"], c["features"]
    n = ch * length
    inp = keras.Input((n + feats,))
    h = layers.Reshape((ch, length))(inp[:, :n])
    h = layers.Permute((2, 1))(h)  # [batch, length, channels]
    bn = d["batchNorm"]
    for f in d["filters"]:
        for _ in range(d["convsPerBlock"]):
            h = layers.Conv1D(f, d["kernel"], padding="same", use_bias=not bn)(h)
            if bn:
                h = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(h)
            h = layers.ReLU()(h)
        pool = d["pool"]
        if pool > 1 and length // pool < 1:
            pool = 1
        if pool > 1:
            h = layers.MaxPooling1D(pool)(h)
            length //= pool
    h = layers.GlobalMaxPooling1D()(h) if d["globalPool"] == "max" else layers.GlobalAveragePooling1D()(h)
    if feats > 0:
        h = layers.Concatenate()([h, inp[:, n:]])
    h = layers.Dense(d["hidden"], activation="relu")(h)
    h = layers.Dropout(c["dropout"])(h)
    outs = [layers.Dense(c["classes"])(h)]
    if d.get("rrExpert"):
        e = inp[:, n:]
        for width in d["rrExpert"]["hidden"]:
            e = layers.Dense(width, activation="relu")(e)
        outs.append(layers.Dense(c["classes"])(e))
    return keras.Model(inp, outs)


def main():
    c = json.loads(sys.argv[1])
    threads = int(sys.argv[2])
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.set_visible_devices([], "GPU")
    import keras

    keras.utils.set_random_seed(c["seed"])
    model = build(c, keras)
    o = c["optimizer"]
    opt = keras.optimizers.Adam(learning_rate=o["lr"], beta_1=0.9, beta_2=0.999, weight_decay=o["weightDecay"] or None)
    outputs = len(model.outputs)
    model.compile(optimizer=opt, loss=[keras.losses.SparseCategoricalCrossentropy(from_logits=True)] * outputs)
    w = np.asarray(c["classWeights"], dtype=np.float32)
    rng = np.random.default_rng(c["seed"])
    size = c["channels"] * c["length"] + c["features"]
    xs = rng.standard_normal((c["batches"], c["batch"], size), dtype=np.float32)
    ys = rng.integers(0, c["classes"], (c["batches"], c["batch"]), dtype=np.int64)
    sws = w[ys]
    i = 0

    def step():
        nonlocal i
        k = i % len(xs)
        i += 1
        loss = model.train_on_batch(xs[k], [ys[k]] * outputs, sample_weight=[sws[k]] * outputs)
        return float(loss[0] if isinstance(loss, (list, tuple)) else loss)  # the total

    params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    print(f"ready params={params} keras {keras.__version__} tensorflow {tf.__version__}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        t, steps = int(words[0]), int(words[1])
        if t != threads:
            print(f"error: this process runs {threads} threads, asked for {t}", flush=True)
            continue
        start = time.perf_counter()
        loss = 0.0
        for _ in range(steps):
            loss = step()
        print(f"{time.perf_counter() - start:.6f} {loss:.6f}", flush=True)


if __name__ == "__main__":
    main()
