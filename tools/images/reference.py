"""PIL's and torchvision's view of real photos, for @resnet/images' tests.

    /usr/bin/python3 tools/images/reference.py OUT_DIR

Reads photos that Debian packages ship (python3-skimage's data, python-matplotlib-data's sample
data), derives PNG variants from them that cover every PNG colour type and bit depth PIL reads
(written by a small PNG writer below, so that 16-bit RGB, LA, 2-bit grey and Adam7 interlacing are
there too), and writes for every image what Debian's PIL 9.4 and torchvision 0.14 make of it:

    <name>.rgb.npy      uint8 [H, W, 3]  Image.open(p).convert('RGB')
    <name>.r256.npy     uint8            F.resize(img, [256])          (PIL's antialiased bilinear)
    <name>.r232.npy     uint8            F.resize(img, [232])
    <name>.v1.npy       float32 [224, 224, 3]  ResNet50_Weights.IMAGENET1K_V1.transforms()(img), HWC
    <name>.v2.npy       float32 [224, 224, 3]  ResNet50_Weights.IMAGENET1K_V2.transforms()(img), HWC
    <name>.l.npy        uint8 [H, W]     Image.open(p).convert('RGB').convert('L')  (torchvision's Grayscale())
    <name>.grey.npy     float32 [32, 32, 1]  Grayscale() → Resize(28) → CenterCrop(32) → ToTensor() →
                                         Normalize(GREY_MEAN, GREY_STD) of the RGB image, HWC
    random.rgb.npy / random.l.npy   uint8  a 512×512 image of random RGB values and its convert('L')
    resize-<i>.npy      uint8            F.resize(coffee, [h, w]) for odd sizes (up and down)
    crop-<i>.npy        uint8            F.center_crop(coordinate image, [h, w]), padding included
    manifest.json       the list of all of the above with sizes and PIL modes
"""
import json
import os
import struct
import sys
import zlib

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T
from torchvision.models import ResNet50_Weights
from torchvision.transforms import functional as F

SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
MATPLOTLIB = "/usr/share/matplotlib/mpl-data/sample_data"

# Real photos: (name, path). PNG and JPEG, landscape, portrait and square, colour and grey, alpha.
PHOTOS = [
    ("chelsea.png", f"{SKIMAGE}/chelsea.png"),  # RGB 451x300
    ("coffee.png", f"{SKIMAGE}/coffee.png"),  # RGB 600x400
    ("astronaut.png", f"{SKIMAGE}/astronaut.png"),  # RGB 512x512
    ("camera.png", f"{SKIMAGE}/camera.png"),  # L 512x512
    ("horse.png", f"{SKIMAGE}/horse.png"),  # RGBA 400x328
    ("grace_hopper.jpg", f"{MATPLOTLIB}/grace_hopper.jpg"),  # 512x600, 4:2:0
    ("rocket.jpg", f"{SKIMAGE}/rocket.jpg"),  # 640x427
    ("hubble_deep_field.jpg", f"{SKIMAGE}/hubble_deep_field.jpg"),  # 1000x872, Adobe marker
    ("retina.jpg", f"{SKIMAGE}/retina.jpg"),  # 1411x1411
]

# F.resize to these [h, w] on coffee.png: downscales by odd factors, upscales, degenerate sizes.
RESIZES = [(37, 501), (400, 17), (1, 1), (223, 225), (999, 601), (3, 1200), (401, 599)]

# F.center_crop of an (h, w) image to (ch, cw): odd differences (round half to even), smaller
# images (zero padding, uneven), and one side smaller and one larger.
CROPS = [
    (257, 300, 224, 224),
    (259, 261, 224, 224),
    (256, 256, 224, 224),
    (225, 226, 224, 224),
    (100, 60, 224, 224),
    (101, 61, 224, 224),
    (300, 100, 224, 224),
    (5, 400, 7, 9),
    (224, 224, 224, 224),
]


# A one-channel (grey) eval transform, as the shipped Fashion-MNIST model's (any mean and std do).
GREY_MEAN, GREY_STD = 0.2860405969887955, 0.35302424451492237
GREY = T.Compose([T.Grayscale(), T.Resize(28), T.CenterCrop(32), T.ToTensor(), T.Normalize([GREY_MEAN], [GREY_STD])])


def png_chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_rows(samples, depth):
    """[h, w*c] unsigned samples -> raw scanlines (bytes per row) at the given bit depth."""
    rows = []
    for row in samples:
        if depth == 16:
            rows.append(row.astype(">u2").tobytes())
        elif depth == 8:
            rows.append(row.astype(np.uint8).tobytes())
        else:
            per_byte = 8 // depth
            padded = np.zeros(-(-len(row) // per_byte) * per_byte, dtype=np.uint8)
            padded[: len(row)] = row
            groups = padded.reshape(-1, per_byte)
            packed = np.zeros(len(groups), dtype=np.uint8)
            for i in range(per_byte):
                packed |= (groups[:, i] << (8 - depth * (i + 1))).astype(np.uint8)
            rows.append(packed.tobytes())
    return rows


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path, pixels, depth, color_type, palette=None, trns=None, interlace=False):
    """A PNG with exactly the given samples ([h, w, c] unsigned ints), filter type 0 on every row."""
    h, w = pixels.shape[:2]
    c = 1 if pixels.ndim == 2 else pixels.shape[2]
    flat = pixels.reshape(h, w * c)
    raw = b""
    if interlace:
        for x0, y0, dx, dy in ADAM7:
            sub = pixels[y0::dy, x0::dx]
            if sub.size == 0:
                continue
            sub = sub.reshape(sub.shape[0], -1)
            raw += b"".join(b"\x00" + r for r in pack_rows(sub, depth))
    else:
        raw = b"".join(b"\x00" + r for r in pack_rows(flat, depth))
    data = b"\x89PNG\r\n\x1a\n"
    data += png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        data += png_chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        data += png_chunk(b"tRNS", trns)
    data += png_chunk(b"IDAT", zlib.compress(raw, 9))
    data += png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def derive(out):
    """PNG and JPEG variants of the photos; returns [(name, path)]."""
    d = os.path.join(out, "derived")
    os.makedirs(d, exist_ok=True)
    chelsea = np.asarray(Image.open(f"{SKIMAGE}/chelsea.png").convert("RGB"))
    coffee = np.asarray(Image.open(f"{SKIMAGE}/coffee.png").convert("RGB"))
    camera = np.asarray(Image.open(f"{SKIMAGE}/camera.png"))
    h, w = chelsea.shape[:2]
    # Alpha from 0 (fully transparent: PIL keeps the colour under it) to 255 across the picture.
    alpha = ((np.arange(w)[None, :] + np.arange(h)[:, None]) * 255 // (w + h - 2)).astype(np.uint8)
    variants = []

    def add(name, writer):
        path = os.path.join(d, name)
        writer(path)
        variants.append((name, path))

    add("chelsea-rgba.png", lambda p: write_png(p, np.dstack([chelsea, alpha]), 8, 6))
    cam_alpha = ((np.arange(camera.shape[1])[None, :] * 255) // (camera.shape[1] - 1)).repeat(camera.shape[0], 0)
    add("camera-la.png", lambda p: write_png(p, np.dstack([camera, cam_alpha]), 8, 4))
    # Palette images: PIL's own quantiser, saved by PIL (8-bit, with tRNS) and by us at 4 bits.
    quant = Image.fromarray(coffee).quantize(256)
    add("coffee-p.png", lambda p: quant.save(p, transparency=0))
    quant16 = Image.fromarray(coffee).quantize(16)
    pal16 = np.asarray(quant16.getpalette()[: 16 * 3]).reshape(16, 3)
    add("coffee-p4.png", lambda p: write_png(p, np.asarray(quant16), 4, 3, palette=pal16))
    # 16 bits per sample: RGB, RGBA, grey+alpha (PIL keeps the high byte) and grey (PIL reads it as
    # mode I and clips to 255 when converting to RGB: values below 256 survive, the rest saturate).
    rand = np.random.default_rng(0)
    wide = lambda a: a.astype(np.uint16) * 256 + rand.integers(0, 256, a.shape, dtype=np.uint16)
    add("astronaut-rgb16.png", lambda p: write_png(p, wide(np.asarray(Image.open(f"{SKIMAGE}/astronaut.png"))), 16, 2))
    add("chelsea-rgba16.png", lambda p: write_png(p, wide(np.dstack([chelsea, alpha])), 16, 6))
    add("camera-la16.png", lambda p: write_png(p, wide(np.dstack([camera, cam_alpha])), 16, 4))
    add("camera-i16.png", lambda p: write_png(p, camera.astype(np.uint16) * 2, 16, 0))
    # Low bit depths of grey: 1 (PIL mode "1"), 2 and 4 bits (scaled to 0..255 by PIL).
    add("camera-1bit.png", lambda p: Image.fromarray(camera).convert("1").save(p))
    add("camera-l2.png", lambda p: write_png(p, camera >> 6, 2, 0))
    add("camera-l4.png", lambda p: write_png(p, camera >> 4, 4, 0, interlace=True))
    # Adam7 interlacing, and grey with a tRNS colour key (ignored by convert('RGB')).
    add("coffee-adam7.png", lambda p: write_png(p, coffee, 8, 2, interlace=True))
    add("coffee-p2-adam7.png", lambda p: write_png(p, np.asarray(quant16) & 3, 2, 3, palette=pal16[:4], interlace=True))
    add("chelsea-rgba16-adam7.png", lambda p: write_png(p, wide(np.dstack([chelsea, alpha])), 16, 6, interlace=True))
    add("camera-trns.png", lambda p: write_png(p, camera, 8, 0, trns=struct.pack(">H", 0)))
    # Small and extreme shapes: smaller than the crop, one pixel, very wide, very tall.
    add("coffee-tiny.png", lambda p: Image.fromarray(coffee[100:105, 200:207]).save(p))
    add("coffee-1x1.png", lambda p: Image.fromarray(coffee[200:201, 300:301]).save(p))
    add("coffee-wide.png", lambda p: Image.fromarray(coffee[190:210, :]).save(p))
    add("chelsea-tall.png", lambda p: Image.fromarray(np.ascontiguousarray(chelsea[:, 200:212])).save(p))
    # JPEGs written by PIL (libjpeg-turbo): grey, and 4:4:4 (no chroma subsampling: the
    # difference left is the IDCT's and the colour conversion's).
    add("camera-gray.jpg", lambda p: Image.fromarray(camera).save(p, quality=90))
    add("coffee-444.jpg", lambda p: Image.fromarray(coffee).save(p, quality=90, subsampling=0))
    return variants


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    v1 = ResNet50_Weights.IMAGENET1K_V1.transforms()
    v2 = ResNet50_Weights.IMAGENET1K_V2.transforms()
    images = []
    for name, path in PHOTOS + derive(out):
        img = Image.open(path)
        mode = img.mode
        rgb = img.convert("RGB")
        np.save(os.path.join(out, f"{name}.rgb.npy"), np.asarray(rgb))
        for size in (256, 232):
            np.save(os.path.join(out, f"{name}.r{size}.npy"), np.asarray(F.resize(rgb, [size])))
        for tag, t in (("v1", v1), ("v2", v2)):
            np.save(os.path.join(out, f"{name}.{tag}.npy"), t(rgb).permute(1, 2, 0).contiguous().numpy())
        np.save(os.path.join(out, f"{name}.l.npy"), np.asarray(rgb.convert("L")))
        np.save(os.path.join(out, f"{name}.grey.npy"), GREY(rgb).permute(1, 2, 0).contiguous().numpy())
        images.append({"name": name, "path": path, "mode": mode, "width": rgb.width, "height": rgb.height})
    noise = np.random.default_rng(1).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    np.save(os.path.join(out, "random.rgb.npy"), noise)
    np.save(os.path.join(out, "random.l.npy"), np.asarray(Image.fromarray(noise).convert("L")))
    coffee = Image.open(f"{SKIMAGE}/coffee.png").convert("RGB")
    resizes = []
    for i, (h, w) in enumerate(RESIZES):
        np.save(os.path.join(out, f"resize-{i}.npy"), np.asarray(F.resize(coffee, [h, w])))
        resizes.append({"file": f"resize-{i}.npy", "size": [h, w]})
    crops = []
    for i, (h, w, ch, cw) in enumerate(CROPS):
        y, x = np.mgrid[0:h, 0:w]
        coords = np.dstack([x % 256, y % 256, (x // 256) + 16 * (y // 256) + 1]).astype(np.uint8)
        np.save(os.path.join(out, f"crop-{i}.npy"), np.asarray(F.center_crop(Image.fromarray(coords), [ch, cw])))
        crops.append({"file": f"crop-{i}.npy", "image": [h, w], "crop": [ch, cw]})
    manifest = {
        "pil": PIL.__version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "transforms": {"v1": repr(v1), "v2": repr(v2), "grey": repr(GREY)},
        "grey": {"mean": GREY_MEAN, "std": GREY_STD},
        "coffee": f"{SKIMAGE}/coffee.png",
        "images": images,
        "resizes": resizes,
        "crops": crops,
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
