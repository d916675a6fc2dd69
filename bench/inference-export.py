"""Exports a ResNet to ONNX with Debian's torch (/usr/bin/python3), so onnxruntime runs the very network and
weights we run.

    /usr/bin/python3 bench/inference-export.py ARCH WEIGHTS.safetensors OUT.onnx [--opset N]

torchvision architectures read their state_dict from WEIGHTS (the fixtures'); `resnet20` (the CIFAR net of
tools/test-support/resnet20_torch.py, which torchvision does not have) gets seeded random weights and BatchNorm
statistics, which this script WRITES to WEIGHTS for our side of the benchmark. The export runs in eval mode with
constant folding, so torch folds every BatchNorm into its convolution (the graph holds Conv, Relu, Add, pooling
and Gemm); the batch axis is dynamic (onnxruntime can fix it at load with freeDimensionOverrides).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "fixtures"))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "test-support"))
from generate import randomise, write_safetensors  # noqa: E402
from resnet20_torch import ResNet20  # noqa: E402

DTYPES = {"F32": np.float32, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        array = np.frombuffer(blob[start:end], dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
        out[name] = torch.from_numpy(array.copy())
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("arch")
    p.add_argument("weights")
    p.add_argument("out")
    p.add_argument("--opset", type=int, default=13)
    a = p.parse_args()
    if a.arch == "resnet20":
        torch.manual_seed(20)
        model = ResNet20()
        randomise(model, 20)
        write_safetensors(a.weights, model.state_dict(), {"arch": "resnet20", "seed": "20"})
        size = 32
    else:
        model = getattr(torchvision.models, a.arch)()
        model.load_state_dict(read_safetensors(a.weights))
        size = 224
    model.eval()
    torch.onnx.export(
        model,
        torch.zeros(1, 3, size, size),
        a.out,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=a.opset,
        do_constant_folding=True,
    )


if __name__ == "__main__":
    main()
