#!/usr/bin/env python3
"""Generates packages/zoo/src/weights/torchvision-data.ts: torchvision's pretrained weight entries
for our presets with a torchvision twin, and the 1000 ImageNet category names.

Facts come from torchvision's own release files, never typed by hand:
- Debian's torchvision (python3-torchvision, 0.14.1), imported: every weights enum's URL, DEFAULT
  alias, eval transforms, num_params, min_size, recipe, ImageNet-1K acc@1/acc@5, description,
  and torchvision.models._meta._IMAGENET_CATEGORIES; the SHA-256 prefix of each file name by
  torch.hub's own HASH_REGEX.
- GFLOPS (`_ops`) and file size in MB (`_file_size`) were added to the metadata after 0.14
  (pytorch/vision#6936). They are parsed from torchvision/models/resnet.py of a later release,
  given with --upstream PATH (the file as text, never imported). Without --upstream the values
  already in the generated file are kept, so the generator runs offline.

Usage (Debian's python3, which has torch and torchvision):
  /usr/bin/python3 tools/weights/generate.py [--upstream resnet.py] [--check]
--check writes nothing and exits 1 when the committed file differs from what would be generated.
"""
import argparse
import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = os.path.join(ROOT, 'packages', 'zoo', 'src', 'weights', 'torchvision-data.ts')
PRESETS = os.path.join(ROOT, 'packages', 'zoo', 'src', 'presets.ts')

# Where --upstream was read from when the committed values were generated.
UPSTREAM = {
    'release': 'torchvision 0.16.0',
    'file': 'torchvision/models/resnet.py',
    'blob': '83c0340cef74d9cb4c1dc92c38f4b3024be1f731',
    'commit': 'a00152bda742a69c9e6304ad926dc07141ed7284',
    'note': (
        'pytorch/vision, git blob 83c0340c: last changed on main by a00152bd (pytorch/vision#7655, '
        '2023-06-06) and unchanged there through the 0.16, 0.17 and 0.18 release cuts'
    ),
}


def preset_order():
    """Our presets with a torchvision twin, in the zoo's order (packages/zoo/src/presets.ts)."""
    with open(PRESETS, encoding='utf8') as f:
        return re.findall(r"torchvision: '(\w+)'", f.read())


def upstream_metrics(path):
    """{url: (gflops, file_size_mb)} from a torchvision resnet.py that has `_ops` and `_file_size`."""
    with open(path, encoding='utf8') as f:
        text = f.read()
    out = {}
    blocks = re.split(r'(?=\burl=")', text)
    for block in blocks[1:]:
        url = re.match(r'url="([^"]+)"', block).group(1)
        ops = re.search(r'"_ops":\s*([0-9.]+)', block)
        size = re.search(r'"_file_size":\s*([0-9.]+)', block)
        if not ops or not size:
            sys.exit(f'{path}: no _ops/_file_size after url={url}; is it torchvision >= 0.15?')
        out[url] = (float(ops.group(1)), float(size.group(1)))
    return out


def committed_metrics():
    """The GFLOPS and file sizes of the committed file, by URL (one JSON entry per line)."""
    out = {}
    if not os.path.exists(OUT):
        return out
    with open(OUT, encoding='utf8') as f:
        for line in f:
            line = line.strip().rstrip(',')
            if line.startswith('{"arch"'):
                e = json.loads(line)
                out[e['url']] = (e['meta']['gflops'], e['meta']['fileSizeMB'])
    return out


def describe(docs):
    """torchvision's `_docs` (reStructuredText) as one line of plain text with the link kept."""
    text = ' '.join(docs.split())
    return re.sub(r'`([^`<]+?)\s*<([^>]+)>`_', r'\1 (\2)', text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--upstream', help="a later torchvision's torchvision/models/resnet.py (text)")
    parser.add_argument('--check', action='store_true', help='compare with the committed file, write nothing')
    args = parser.parse_args()

    import torch
    import torch.hub
    import torchvision
    from torchvision.models import get_model_weights
    from torchvision.models import resnet as tv_resnet
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    archs = preset_order()
    builders = [n for n in tv_resnet.__all__ if n.islower()]
    if sorted(archs) != sorted(builders):
        sys.exit(f'presets with a torchvision twin {archs} differ from torchvision.models.resnet {builders}')
    extra = upstream_metrics(args.upstream) if args.upstream else committed_metrics()

    lines = []
    for arch in archs:
        enum = get_model_weights(arch)
        default = enum.DEFAULT.name
        for w in enum:
            meta = w.meta
            t = w.transforms()
            file_name = os.path.basename(w.url)
            match = torch.hub.HASH_REGEX.search(file_name)
            if not match:
                sys.exit(f'{w.url}: no hash prefix in the file name')
            metrics = meta['_metrics']['ImageNet-1K']
            if w.url not in extra:
                sys.exit(f'no GFLOPS/file size for {w.url}: run with --upstream <torchvision >= 0.15 resnet.py>')
            gflops, size = extra[w.url]
            if len(meta['categories']) != len(_IMAGENET_CATEGORIES) or list(meta['categories']) != _IMAGENET_CATEGORIES:
                sys.exit(f'{enum.__name__}.{w.name}: categories are not _IMAGENET_CATEGORIES')
            entry = {
                'arch': arch,
                'name': w.name,
                'torchvision': f'{enum.__name__}.{w.name}',
                'isDefault': w.name == default,
                'url': w.url,
                'fileName': file_name,
                'sha256Prefix': match.group(1),
                'transforms': {
                    'resizeSize': t.resize_size[0],
                    'cropSize': t.crop_size[0],
                    'mean': list(t.mean),
                    'std': list(t.std),
                    'interpolation': t.interpolation.value,
                },
                'meta': {
                    'dataset': 'ImageNet-1K',
                    'acc1': metrics['acc@1'],
                    'acc5': metrics['acc@5'],
                    'numParams': meta['num_params'],
                    'gflops': gflops,
                    'fileSizeMB': size,
                    'minSize': list(meta['min_size']),
                    'recipe': meta['recipe'],
                    'description': describe(meta['_docs']),
                },
            }
            lines.append('  ' + json.dumps(entry, ensure_ascii=False) + ',')

    source = {
        'torchvision': torchvision.__version__,
        'torch': torch.__version__,
        'files': [
            'torchvision/models/resnet.py',
            'torchvision/models/_meta.py',
            'torchvision/transforms/_presets.py',
        ],
        'gflopsAndFileSize': UPSTREAM,
    }
    if any('\n' in c for c in _IMAGENET_CATEGORIES):
        sys.exit('a category name has a line break')
    archs_union = ' | '.join(json.dumps(a) for a in archs)
    names = sorted({json.loads(line.strip().rstrip(','))['name'] for line in lines})
    text = '\n'.join(
        [
            '// Generated by tools/weights/generate.py from torchvision\'s release files; do not edit.',
            f'// URLs, transforms, metrics and categories: Debian\'s torchvision {torchvision.__version__}',
            '// (torchvision/models/resnet.py, _meta.py, transforms/_presets.py).',
            f'// GFLOPS and file sizes: {UPSTREAM["file"]} of {UPSTREAM["release"]} ({UPSTREAM["note"]}).',
            '// Regenerate: /usr/bin/python3 tools/weights/generate.py [--upstream <resnet.py>]',
            "import type { WeightsRow } from './registry.js';",
            '',
            '/** The presets with torchvision weights. */',
            f'export type TorchvisionArch = {archs_union};',
            '/** The names of torchvision\'s weight entries. */',
            f'export type TorchvisionWeightsName = {" | ".join(json.dumps(n) for n in names)};',
            '',
            '/** Where these facts come from. */',
            f'export const TORCHVISION_SOURCE = {json.dumps(source, indent=2)} as const;',
            '',
            '/** torchvision\'s weight entries for its ResNet builders, one per line. */',
            'export const TORCHVISION_WEIGHTS_DATA: readonly WeightsRow[] = [',
            *lines,
            '];',
            '',
            '/** torchvision\'s 1000 ImageNet-1K category names (`_IMAGENET_CATEGORIES`), in its order, one a line. */',
            f'export const IMAGENET_CATEGORIES_TEXT = {json.dumps(chr(10).join(_IMAGENET_CATEGORIES), ensure_ascii=False)};',
            '',
        ]
    )
    if args.check:
        current = open(OUT, encoding='utf8').read() if os.path.exists(OUT) else ''
        if current != text:
            sys.exit(f'{os.path.relpath(OUT, ROOT)} is stale: run /usr/bin/python3 tools/weights/generate.py')
        print(f'{os.path.relpath(OUT, ROOT)} is current')
        return
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w', encoding='utf8') as f:
        f.write(text)
    print(f'wrote {os.path.relpath(OUT, ROOT)}: {len(lines)} weight entries, {len(_IMAGENET_CATEGORIES)} categories')


if __name__ == '__main__':
    main()
