#!/usr/bin/env python3
"""torchvision's classification of real photos with a checkpoint made here, for `classify` tests.

    /usr/bin/python3 tools/weights/classify_reference.py OUT_DIR

No ImageNet weights exist offline, so the checkpoint is made here by Debian's torch, and made to
behave as a trained network does in the two ways the tests rely on (a freshly initialised
ResNet-50 gives every photo the same near-uniform top-5, which would test nothing):
- its answer depends on the photo, and does not flip under the few levels by which two JPEG
  decoders differ: seeded random convolutions and BatchNorm affine parameters
  (tools/fixtures/generate.py's `randomise`), each block's last BatchNorm scaled by 0.3 (a
  random ResNet at full residual scale is chaotic: one level of decoder noise moves its pooled
  features by 25–40%; at 0.3, by 1–4%, as in SkipInit/Fixup-style initialisations), and
  BatchNorm running statistics measured on the photos and their mirror images in train mode
  (cumulative averages, as a network's statistics are after training);
- it is confident: the head gives each photo five classes of its own, drawn at random, with
  logits 8, 7, 6, 5, 4 (a linear probe solved on the photos' centred pooled features with their
  pseudo-inverse) over random logits of standard deviation 0.5 for every other class, so that
  top-1 probabilities are about 0.5 and the top-5 are a logit apart. A probability compared within
  1e-4 is then a real check, and a top-5 order a well-defined one.
Nothing here is ImageNet: the labels of these classes are names only.

Written to OUT_DIR:
    resnet50-<sha256[:8]>.pth   torch.save(model.state_dict()), named as torch.hub names checkpoints
    <photo>.input.npy           float32 [1, 3, 224, 224]  ResNet50_Weights.DEFAULT.transforms()(img)
    <photo>.logits.npy          float32 [1, 1000]         the model's output
    <photo>.pooled.npy          float32 [1, 2048]         avgpool's output, flattened (the embedding)
    manifest.json               versions, the checkpoint (file, sha256, size), and per photo its
                                path, PIL mode and torchvision's top-5 (index, label, probability)
"""
import hashlib
import io
import json
import os
import sys

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
sys.path.insert(0, os.path.join(HERE, "..", "images"))
from generate import randomise  # noqa: E402
from reference import PHOTOS  # noqa: E402

CLASSIFY_VERSION = 1  # bump when the output changes, so that stale fixtures are regenerated
ARCH = "resnet50"
SEED = 2024
RESIDUAL_SCALE = 0.3  # of each block's last BatchNorm (weight and bias)
PHOTO_LOGITS = (8.0, 7.0, 6.0, 5.0, 4.0)  # each photo's own five classes
OTHER_LOGITS_STD = 0.5


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    torch.manual_seed(SEED)
    weights = torchvision.models.get_model_weights(ARCH).DEFAULT
    transforms = weights.transforms()
    model = getattr(torchvision.models, ARCH)(weights=None)
    randomise(model, SEED)

    inputs = torch.stack([transforms(Image.open(path).convert("RGB")) for _, path in PHOTOS])
    calibration = torch.cat([inputs, inputs.flip(3)])
    pooled = {}
    model.avgpool.register_forward_hook(lambda _m, _i, o: pooled.__setitem__("value", torch.flatten(o, 1)))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batch
            if isinstance(m, torchvision.models.resnet.Bottleneck):
                m.bn3.weight.mul_(RESIDUAL_SCALE)
                m.bn3.bias.mul_(RESIDUAL_SCALE)
        model.train()
        model(calibration)
        model.eval()
        model(calibration)
        features = pooled["value"]
        mean = features.mean(0)
        spread = (features - mean).pow(2).sum(1).mean().sqrt()
        g = torch.Generator().manual_seed(SEED + 1)
        w = torch.randn(model.fc.out_features, model.fc.in_features, generator=g) * OTHER_LOGITS_STD / spread
        # Column j of the pseudo-inverse has a dot product of 1 with photo j's centred features, 0 with the others'.
        dual = torch.linalg.pinv(features[: len(PHOTOS)] - mean)
        own = torch.randperm(model.fc.out_features, generator=g)[: len(PHOTO_LOGITS) * len(PHOTOS)]
        for j in range(len(PHOTOS)):
            for k, logit in enumerate(PHOTO_LOGITS):
                w[own[j * len(PHOTO_LOGITS) + k]] = logit * dual[:, j]
        model.fc.weight.copy_(w)
        model.fc.bias.copy_(-w @ mean)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = 0.1  # torchvision's default, as the state_dict does not record it

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    file = f"{ARCH}-{digest[:8]}.pth"
    for name in os.listdir(out):
        if name.startswith(f"{ARCH}-") and name.endswith(".pth"):
            os.remove(os.path.join(out, name))
    with open(os.path.join(out, file), "wb") as f:
        f.write(data)

    categories = weights.meta["categories"]
    photos = []
    with torch.no_grad():
        logits = model(inputs)
        embeddings = pooled["value"]
    for k, (name, path) in enumerate(PHOTOS):
        probabilities = torch.softmax(logits[k], 0)
        top = torch.topk(probabilities, 5)
        np.save(os.path.join(out, f"{name}.input.npy"), inputs[k : k + 1].numpy())
        np.save(os.path.join(out, f"{name}.logits.npy"), logits[k : k + 1].numpy())
        np.save(os.path.join(out, f"{name}.pooled.npy"), embeddings[k : k + 1].numpy())
        photos.append(
            {
                "name": name,
                "path": path,
                "mode": Image.open(path).mode,
                "top5": [
                    {"index": int(i), "label": categories[int(i)], "probability": float(p)}
                    for p, i in zip(top.values.tolist(), top.indices.tolist())
                ],
            }
        )
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(
            {
                "version": CLASSIFY_VERSION,
                "torch": torch.__version__,
                "torchvision": torchvision.__version__,
                "pil": PIL.__version__,
                "arch": ARCH,
                "transforms": str(weights),
                "checkpoint": {"file": file, "sha256": digest, "size": len(data)},
                "photos": photos,
            },
            f,
            indent=1,
        )
    print(f"classify fixtures: {file} and {len(photos)} photos in {out}")


if __name__ == "__main__":
    main()
