"""Exports torchvision ResNets to ONNX with the given torchvision state_dict (.safetensors), so
onnxruntime runs the very network and weights we run. Debian's torch (/usr/bin/python3):

    /usr/bin/python3 bench/inference-export.py ARCH WEIGHTS.safetensors OUT.onnx
"""
import json
import struct
import sys

import numpy as np
import torch
import torchvision

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
    arch, weights, out = sys.argv[1:4]
    model = getattr(torchvision.models, arch)()
    model.load_state_dict(read_safetensors(weights))
    model.eval()
    x = torch.zeros(1, 3, 224, 224)
    torch.onnx.export(
        model,
        x,
        out,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=13,
        do_constant_folding=True,
    )


if __name__ == "__main__":
    main()
