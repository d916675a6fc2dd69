"""torchvision's `resnet50(weights=...)` with the file already in torch's cache, timed: what it does
is build the model (random initialisation), torch.load the .pth and load_state_dict it (torch.hub
does not check the hash of a cached file).

    /usr/bin/python3 bench/pretrained_torch.py <file.pth> <runs>  → JSON on stdout
"""
import json
import sys
import time

import torch
import torchvision


def main():
    path, runs = sys.argv[1], int(sys.argv[2])
    load = lambda: torchvision.models.resnet50(weights=None).load_state_dict(torch.load(path)) and None
    load()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        model = torchvision.models.resnet50(weights=None)
        model.load_state_dict(torch.load(path))
        model.eval()
        times.append((time.perf_counter() - t) * 1000)
    print(json.dumps({"runs_ms": times, "threads": torch.get_num_threads(), "torch": torch.__version__, "torchvision": torchvision.__version__}))


if __name__ == "__main__":
    main()
