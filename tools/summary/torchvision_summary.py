"""torchinfo's summary figures for torchvision models at any batch and input size (test oracle).
Also the paper's CIFAR-10 ResNets (resnet20, 32, 44, 56, 110: tools/test-support/resnet20_torch.py
with n = (depth - 2) / 6), which torchvision does not have.

torchinfo is not packaged by Debian, so this script applies its definitions (written down in
reference/TORCHINFO_DEFINITIONS.md) to a real torch forward pass with forward hooks, using
Debian's python3-torch / python3-torchvision. The @resnet/summary tests first check this oracle
against torchinfo's own printed tables (reference/torchinfo_summary_224.json), then compare our
shape-inference summaries with it at other sizes.

    /usr/bin/python3 tools/summary/torchvision_summary.py '[{"arch": "resnet50", "shape": [2, 3, 97, 131]}]'

prints a JSON list, one entry per case:
  {"arch", "shape", "totals": {total_params, trainable_params, non_trainable_params, total_mult_adds,
   raw_input_bytes, total_output_bytes, total_param_bytes}, "rows": [{label, depth, path, type,
   input_shape, output_shape, num_params, trainable_params, mult_adds, is_leaf}]}
Shapes are torch's (NCHW). Row mult_adds: a leaf's own, a container's sum over its leaf calls.

A case with "receptive_fields": ["layer1", ...] also measures, for each named module, the receptive
field of the centre position of its output empirically: all weights positive, BatchNorm the
identity, max pooling replaced by average pooling of the same window (so that every input in the
window gets gradient), input all ones; the receptive field is the extent [height, width] of the
non-zero input gradient. The input must be larger than the field for the measurement to be whole.
"""
import json
import math
import os
import re
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test-support"))
from resnet20_torch import ResNet20  # noqa: E402


def no_init(tensor, *args, **kwargs):
    """Weight values never enter the figures; skipping initialisation makes big models build fast."""
    return tensor


for _name in ("kaiming_normal_", "kaiming_uniform_", "uniform_", "normal_", "constant_", "zeros_", "ones_"):
    setattr(torch.nn.init, _name, no_init)


def build(arch):
    """torchvision's model of that name, or the paper's CIFAR-10 ResNet of that depth (6n + 2)."""
    if hasattr(torchvision.models, arch):
        return getattr(torchvision.models, arch)(weights=None).eval()
    m = re.fullmatch(r"resnet(\d+)", arch)
    if m and (int(m.group(1)) - 2) % 6 == 0:
        return ResNet20(n=(int(m.group(1)) - 2) // 6).eval()
    raise SystemExit(f"unknown architecture {arch}: a torchvision model or a CIFAR resnet of depth 6n + 2")


def prod(values):
    return math.prod(int(v) for v in values)


def module_macs(module, output_shape):
    """torchinfo's mult-adds of one call of a module, from its parameter names (definition (a))."""
    class_name = module._get_name()
    macs = 0
    for name, p in module.named_parameters():
        if name in ("weight", "bias"):
            if "Conv" in class_name:
                macs += p.numel() * prod(output_shape[:1] + output_shape[2:])
            elif "Linear" in class_name:
                macs += p.numel() * prod(output_shape[:-1])
            else:
                macs += output_shape[0] * p.numel()
        elif "weight" in name or "bias" in name:
            macs += prod(output_shape[:2]) * p.numel()
    return macs


def summarise(arch, shape):
    model = build(arch)
    names = {}
    for name, module in model.named_modules():
        names.setdefault(id(module), name)
    rows, stack, handles = [], [], []

    def pre_hook(module, inputs):
        path = names[id(module)]
        rows.append({
            "module": module,
            "path": path,
            "depth": 0 if path == "" else path.count(".") + 1,
            "type": module._get_name(),
            "input_shape": list(inputs[0].shape),
        })
        stack.append(len(rows) - 1)

    def post_hook(module, inputs, output):
        index = stack.pop()
        rows[index]["output_shape"] = list(output.shape)
        rows[index]["end"] = len(rows)

    for module in model.modules():
        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(post_hook))
    with torch.no_grad():
        model(torch.zeros(*shape))
    for h in handles:
        h.remove()

    counters = {}
    for row in rows:
        module = row["module"]
        depth = row["depth"]
        counters[depth] = counters.get(depth, 0) + 1
        row["label"] = row["type"] if depth == 0 else f'{row["type"]}: {depth}-{counters[depth]}'
        row["is_leaf"] = not any(True for _ in module.children())
        row["num_params"] = sum(p.numel() for p in module.parameters())
        row["trainable_params"] = sum(p.numel() for p in module.parameters() if p.requires_grad)
        row["own_macs"] = module_macs(module, row["output_shape"])
    for i, row in enumerate(rows):
        if row["is_leaf"]:
            row["mult_adds"] = row["own_macs"]
        else:
            row["mult_adds"] = sum(r["own_macs"] for r in rows[i + 1 : row["end"]] if r["is_leaf"])

    leaves = [r for r in rows if r["is_leaf"]]
    total_params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    totals = {
        "total_params": total_params,
        "trainable_params": trainable,
        "non_trainable_params": total_params - trainable,
        "total_mult_adds": sum(r["own_macs"] for r in leaves),
        "raw_input_bytes": prod(shape) * 4,
        "total_output_bytes": sum(2 * prod(r["output_shape"]) * 4 for r in leaves if r["num_params"] > 0),
        "total_param_bytes": sum(p.numel() * p.element_size() for p in model.parameters()),
    }
    keys = ("label", "depth", "path", "type", "input_shape", "output_shape", "num_params", "trainable_params",
            "mult_adds", "is_leaf")
    return {"arch": arch, "shape": list(shape), "totals": totals, "rows": [{k: r[k] for k in keys} for r in rows]}


def measure_receptive_fields(arch, shape, paths):
    model = build(arch)
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.MaxPool2d):
                parent, _, child = name.rpartition(".")
                owner = model.get_submodule(parent) if parent else model
                pool = torch.nn.AvgPool2d(module.kernel_size, module.stride, module.padding)
                setattr(owner, child, pool)
            elif isinstance(module, torch.nn.BatchNorm2d):
                module.weight.fill_(1.0)
                module.bias.fill_(0.0)
                module.running_mean.fill_(0.0)
                module.running_var.fill_(1.0)
        for p in model.parameters():
            if p.dim() > 1:
                p.fill_(1.0 / p[0].numel())
    captured, handles = {}, []
    for path in paths:
        hook = lambda m, i, o, path=path: captured.update({path: o})  # noqa: E731
        handles.append(model.get_submodule(path).register_forward_hook(hook))
    x = torch.ones(*shape, requires_grad=True)
    model(x)
    for h in handles:
        h.remove()
    fields = {}
    for path in paths:
        out = captured[path]
        (grad,) = torch.autograd.grad(out[0, 0, out.shape[2] // 2, out.shape[3] // 2], x, retain_graph=True)
        nonzero = (grad[0, 0] != 0).nonzero()
        fields[path] = [int(nonzero[:, k].max() - nonzero[:, k].min() + 1) for k in (0, 1)]
    return fields


def run_case(case):
    result = summarise(case["arch"], case["shape"])
    if case.get("receptive_fields"):
        result["receptive_fields"] = measure_receptive_fields(case["arch"], case["shape"], case["receptive_fields"])
    return result


def main():
    cases = json.loads(sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read())
    json.dump([run_case(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
