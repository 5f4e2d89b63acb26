"""PyTorch twin of runtime/model's deepcnn1d training step, driven by bench/train.

Usage: python pytorch.py CONFIG_JSON
CONFIG_JSON (written by bench/train/main.go) holds the network (deepcnn1d section, dropout,
classes, input channels/length, RR features), batch size, Adam settings, class weights,
label smoothing and the seed. The process then reads commands from stdin, one per line:

    THREADS STEPS    set torch's intra-op thread count, run STEPS training steps, and print
                     "SECONDS LOSS" (wall time of the steps alone, and the last loss)
    quit             exit

Batches are synthetic, pre-generated before any timing: standard-normal float32 samples of
the real flat layout [batch, channels*length + features] and uniform random labels, cycled.
Each step does what runtime/train's step does: tensors from host arrays, forward in train
mode, class-weighted cross-entropy (mean, ignore_index -100, label smoothing; summed over
the classifiers with rrExpert, as model.Net.Loss), zero_grad, backward, Adam step, loss.item().
"""

import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class DeepCNN1D(nn.Module):
    """Layer for layer runtime/model/deepcnn1d.go: blocks of (conv -> batch norm -> ReLU) x
    convsPerBlock then max pooling, global average (or max) pooling, RR features joined,
    hidden linear -> ReLU -> dropout -> linear head; with rrExpert, a second classifier
    (linear -> ReLU per hidden layer, linear head) on the RR features alone. forward returns
    each classifier's logits."""

    def __init__(self, c):
        super().__init__()
        d = c["deepcnn1d"]
        self.channels, self.length, self.features = c["channels"], c["length"], c["features"]
        self.global_max = d["globalPool"] == "max"
        k, bn = d["kernel"], d["batchNorm"]
        blocks, cin, length = [], self.channels, self.length
        for f in d["filters"]:
            layers = []
            for _ in range(d["convsPerBlock"]):
                layers.append(nn.Conv1d(cin, f, k, padding=k // 2, bias=not bn))
                if bn:
                    layers.append(nn.BatchNorm1d(f))
                layers.append(nn.ReLU())
                cin = f
            pool = d["pool"]
            if pool > 1 and length // pool < 1:
                pool = 1  # the signal is too short to pool further
            if pool > 1:
                layers.append(nn.MaxPool1d(pool))
                length //= pool
            blocks.append(nn.Sequential(*layers))
        self.blocks = nn.Sequential(*blocks)
        self.hidden = nn.Linear(cin + self.features, d["hidden"])
        self.dropout = nn.Dropout(c["dropout"])
        self.head = nn.Linear(d["hidden"], c["classes"])
        self.expert = None
        if d.get("rrExpert"):
            layers, cin = [], self.features
            for width in d["rrExpert"]["hidden"]:
                layers += [nn.Linear(cin, width), nn.ReLU()]
                cin = width
            self.expert = nn.Sequential(*layers, nn.Linear(cin, c["classes"]))

    def forward(self, x):
        n = self.channels * self.length
        h = x[:, :n].reshape(x.shape[0], self.channels, self.length)
        h = self.blocks(h)
        h = h.amax(2) if self.global_max else h.mean(2)
        if self.features > 0:
            h = torch.cat([h, x[:, n:]], 1)
        h = self.dropout(F.relu(self.hidden(h)))
        if self.expert is None:
            return [self.head(h)]
        return [self.head(h), self.expert(x[:, n:])]


def main():
    c = json.loads(sys.argv[1])
    torch.manual_seed(c["seed"])
    net = DeepCNN1D(c)
    net.train()
    o = c["optimizer"]
    opt = torch.optim.Adam(net.parameters(), lr=o["lr"], betas=(0.9, 0.999), weight_decay=o["weightDecay"])
    weights = torch.tensor(c["classWeights"], dtype=torch.float32)
    smoothing = c["labelSmoothing"]
    rng = np.random.default_rng(c["seed"])
    size = c["channels"] * c["length"] + c["features"]
    xs = rng.standard_normal((c["batches"], c["batch"], size), dtype=np.float32)
    ys = rng.integers(0, c["classes"], (c["batches"], c["batch"]), dtype=np.int64)
    i = 0

    def step():
        nonlocal i
        x = torch.from_numpy(xs[i % len(xs)])
        y = torch.from_numpy(ys[i % len(ys)])
        i += 1
        loss = sum(F.cross_entropy(logits, y, weight=weights, ignore_index=-100, label_smoothing=smoothing) for logits in net(x))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    print(f"ready params={params} torch {torch.__version__}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        threads, steps = int(words[0]), int(words[1])
        torch.set_num_threads(threads)
        start = time.perf_counter()
        loss = 0.0
        for _ in range(steps):
            loss = step()
        print(f"{time.perf_counter() - start:.6f} {loss:.6f}", flush=True)


if __name__ == "__main__":
    main()
