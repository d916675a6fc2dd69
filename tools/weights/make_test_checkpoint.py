#!/usr/bin/env python3
"""Writes a torchvision checkpoint as torch.hub names them, for the download tests: resnet18 with
seeded random weights, `torch.save(model.state_dict())`, saved as `<arch>-<sha256[:8]>.pth` with the
prefix computed from the bytes. Prints {"file", "path", "sha256", "size"} as JSON.

Usage: /usr/bin/python3 tools/weights/make_test_checkpoint.py <out-dir> [arch] [seed]
"""
import hashlib
import io
import json
import os
import sys

import torch
import torchvision


def main():
    out = sys.argv[1]
    arch = sys.argv[2] if len(sys.argv) > 2 else 'resnet18'
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None).eval()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    name = f'{arch}-{digest[:8]}.pth'
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, name)
    with open(path, 'wb') as f:
        f.write(data)
    print(json.dumps({'file': name, 'path': path, 'sha256': digest, 'size': len(data)}))


if __name__ == '__main__':
    main()
