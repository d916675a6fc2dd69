"""Debian torch on the threads given (default 1): ResNet-20 (option-A shortcuts, as @resnet/zoo's resnet20) training
steps (SGD momentum, cross-entropy) at the batch size given (argv: batch steps [threads]); prints JSON {imagesPerSec, ...}."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "test-support"))
from resnet20_torch import ResNet20  # noqa: E402


def main():
    batch, steps = int(sys.argv[1]), int(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
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
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    median = times[len(times) // 2]
    with torch.no_grad():
        model.eval()
        model(x)
        t = time.perf_counter()
        model(x)
        infer = time.perf_counter() - t
    print(json.dumps({"torch": torch.__version__, "threads": threads, "stepSeconds": median, "imagesPerSec": batch / median,
                      "inferImagesPerSec": batch / infer, "params": sum(p.numel() for p in model.parameters())}))


main()
