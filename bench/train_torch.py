"""Debian torch's side of the training benchmark (bench/train.mjs), kept alive so its steps interleave with ours:
ResNet-20 (option-A shortcuts, as @resnet/zoo's resnet20) training steps (SGD momentum + weight decay,
cross-entropy) at the batch size and thread count given (argv: batch threads). Prints {"ready": ...}, then
answers each request line: {"cmd": "run"} -> {"ms": one step}; {"cmd": "exit"} ends."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "test-support"))
from resnet20_torch import ResNet20  # noqa: E402


def main():
    batch, threads = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = ResNet20().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    step()
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": threads,
                      "params": sum(p.numel() for p in model.parameters())}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line).get("cmd")
        if cmd == "exit":
            break
        if cmd == "run":
            t = time.perf_counter()
            step()
            print(json.dumps({"ms": (time.perf_counter() - t) * 1000}), flush=True)
        else:
            print(json.dumps({"error": f"unknown request {cmd!r}"}), flush=True)


main()
