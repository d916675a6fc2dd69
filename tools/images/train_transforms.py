"""torchvision's training transforms as the oracle for @resnet/images' tests.

    /usr/bin/python3 tools/images/train_transforms.py < request.json > answer.json

The request (JSON) asks for any of:

    "structure": [{"height", "width", "scale", "ratio", "uniforms": [u0, u1, ...]}, ...]
        torchvision 0.14's own RandomResizedCrop.get_params, run with a stand-in for the `torch`
        module it calls that takes its random numbers from `uniforms` (uniform_(a, b) = a + (b - a)·u,
        randint(lo, hi) = lo + floor(u·(hi - lo)); logs and exps in float64). Everything else
        (the ten attempts, Python's rounding, the acceptance test, the fallback) is torchvision's
        code. Answers the box (i, j, h, w) and how many numbers were used.
    "fallback": [{"height", "width", "ratio"}, ...]
        get_params with a scale no box can reach (area × 5–6), so torchvision falls back: its box.
    "samples": [{"height", "width", "n", "seed"}, ...]
        n boxes from the real get_params (torch's generator, torch.manual_seed(seed)).
    "crops": [{"path", "top", "left", "height", "width", "size", "flip", "mean", "std"}, ...]
        F.resized_crop(Image.open(path).convert('RGB'), ..., [size, size]) as uint8 HWC (flattened),
        F.hflip of it when "flip", and ToTensor + Normalize(mean, std) of that as float32 HWC.
"""
import json
import math
import sys

import numpy as np
import PIL
import torch
import torchvision
import torchvision.transforms.transforms as T
from PIL import Image
from torchvision.transforms import functional as F


class _Value:
    def __init__(self, v):
        self.v = v

    def item(self):
        return self.v


class _Draws:
    """The part of the `torch` module get_params uses, drawing from a given list of uniforms."""

    def __init__(self, uniforms):
        self.uniforms = list(uniforms)
        self.used = 0

    def _next(self):
        u = self.uniforms[self.used]
        self.used += 1
        return u

    def tensor(self, values):
        return list(values)

    def log(self, values):
        return [math.log(v) for v in values]

    def exp(self, value):
        return _Value(math.exp(value.v))

    def empty(self, *size):
        draws = self

        class _Empty:
            def uniform_(self, a, b):
                return _Value(a + (b - a) * draws._next())

        return _Empty()

    def randint(self, low, high, size):
        return _Value(low + math.floor(self._next() * (high - low)))


def get_params(height, width, scale, ratio, stand_in=None):
    img = Image.new("L", (width, height))
    if stand_in is None:
        return T.RandomResizedCrop.get_params(img, scale, ratio)
    real = T.torch
    T.torch = stand_in
    try:
        return T.RandomResizedCrop.get_params(img, scale, ratio)
    finally:
        T.torch = real


def main():
    request = json.load(sys.stdin)
    answer = {"torchvision": torchvision.__version__, "pil": PIL.__version__}
    answer["structure"] = []
    for case in request.get("structure", []):
        draws = _Draws(case["uniforms"])
        i, j, h, w = get_params(case["height"], case["width"], case["scale"], case["ratio"], draws)
        answer["structure"].append({"box": [i, j, h, w], "used": draws.used})
    answer["fallback"] = []
    for case in request.get("fallback", []):
        answer["fallback"].append(list(get_params(case["height"], case["width"], [5.0, 6.0], case["ratio"])))
    answer["samples"] = []
    for case in request.get("samples", []):
        torch.manual_seed(case["seed"])
        boxes = [get_params(case["height"], case["width"], [0.08, 1.0], [3.0 / 4.0, 4.0 / 3.0]) for _ in range(case["n"])]
        answer["samples"].append([list(b) for b in boxes])
    answer["crops"] = []
    for case in request.get("crops", []):
        img = Image.open(case["path"]).convert("RGB")
        out = F.resized_crop(img, case["top"], case["left"], case["height"], case["width"], [case["size"], case["size"]])
        if case.get("flip"):
            out = F.hflip(out)
        x = F.normalize(F.to_tensor(out), case["mean"], case["std"]).permute(1, 2, 0).contiguous()
        answer["crops"].append(
            {"uint8": np.asarray(out).reshape(-1).tolist(), "normalized": x.numpy().astype(np.float64).reshape(-1).tolist()}
        )
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
