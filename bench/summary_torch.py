"""The peer of bench/summary.mjs: what torchinfo does for a summary, timed with Debian's torch.

torchinfo is not packaged by Debian, so this runs its method directly: forward pre- and post-hooks
on every module, one forward pass under no_grad on a random input, and per-call statistics
(shapes, parameter counts, mult-adds). Prints JSON: {"torch", "arch", "shape", "runs_ms": [...]}.

    /usr/bin/python3 bench/summary_torch.py resnet152 1,3,224,224 RUNS
"""
import json
import math
import sys
import time

import torch
import torchvision


def hooked_forward(model, x):
    rows, handles = [], []

    def pre(module, inputs):
        rows.append({"module": module, "input": list(inputs[0].shape)})

    def post(module, inputs, output):
        params = sum(p.numel() for p in module.parameters())
        out = list(output.shape)
        macs = 0
        for name, p in module.named_parameters():
            if name in ("weight", "bias"):
                macs += p.numel() * (math.prod(out[:1] + out[2:]) if "Conv" in module._get_name() else out[0])
        rows.append({"output": out, "params": params, "macs": macs})

    for m in model.modules():
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return rows


def main():
    arch = sys.argv[1]
    shape = [int(v) for v in sys.argv[2].split(",")]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    model = getattr(torchvision.models, arch)(weights=None).eval()
    x = torch.rand(*shape)
    hooked_forward(model, x)  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        hooked_forward(model, x)
        times.append((time.perf_counter() - t) * 1000)
    json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__, "arch": arch, "shape": shape,
               "threads": torch.get_num_threads(), "runs_ms": times}, sys.stdout)


if __name__ == "__main__":
    main()
