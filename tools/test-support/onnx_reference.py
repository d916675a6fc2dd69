"""References for the ONNX export tests (packages/onnx/test), with Debian's python3-onnx and torch:

    /usr/bin/python3 tools/test-support/onnx_reference.py check FILE.onnx...
        onnx.checker.check_model(full_check=True) on each file, then ONNX's shape inference on the
        graph without its value_info (strict mode); prints JSON per file: the declared and the
        inferred shape of every value, the inputs, outputs, nodes, initializers and metadata.
    /usr/bin/python3 tools/test-support/onnx_reference.py torchvision OUT_DIR FIXTURES ARCH...
        for each ARCH: FIXTURES/ARCH/weights.safetensors in torchvision's model, a seeded batch of 3
        images of 160x192 (OUT_DIR/ARCH/input_b3.npy) and torchvision's output (output_b3.npy).
    /usr/bin/python3 tools/test-support/onnx_reference.py ours OUT_DIR NAME...
        NAME is resnet20 (tools/test-support/resnet20_torch.py) or resnet50_keras
        (resnet50_keras_torch.py): seeded weights with random BatchNorm statistics
        (OUT_DIR/NAME/weights.safetensors), inputs of batch 1 and 3 and the torch model's outputs.
"""
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))


def load_script(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dims(value_info):
    """Sizes, symbolic names, and None for unknown sizes (which shape inference names unk__N)."""
    out = []
    for d in value_info.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        elif d.HasField("dim_param") and not d.dim_param.startswith("unk__"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def check(paths):
    import onnx
    from onnx import shape_inference

    report = {}
    for path in paths:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        declared = {vi.name: dims(vi) for vi in model.graph.value_info}
        del model.graph.value_info[:]
        inferred_model = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
        report[path] = {
            "ir_version": model.ir_version,
            "opset": [[o.domain, o.version] for o in model.opset_import],
            "producer": [model.producer_name, model.producer_version],
            "metadata": {p.key: p.value for p in model.metadata_props},
            "inputs": {vi.name: dims(vi) for vi in model.graph.input},
            "outputs": {vi.name: dims(vi) for vi in inferred_model.graph.output},
            "declared": declared,
            "inferred": {vi.name: dims(vi) for vi in inferred_model.graph.value_info},
            "nodes": [[n.name, n.op_type] for n in model.graph.node],
            "initializers": [t.name for t in model.graph.initializer],
        }
        del model, inferred_model
    json.dump(report, sys.stdout)


def torchvision_outputs(out_dir, fixtures, archs):
    import torch
    import torchvision
    from generate import save_npy

    export = load_script("inference_export", os.path.join(ROOT, "bench", "inference-export.py"))
    for i, arch in enumerate(archs):
        model = getattr(torchvision.models, arch)()
        model.load_state_dict(export.read_safetensors(os.path.join(fixtures, arch, "weights.safetensors")))
        model.eval()
        g = torch.Generator().manual_seed(2000 + i)
        x = torch.randn((3, 3, 160, 192), generator=g)
        with torch.no_grad():
            y = model(x)
        d = os.path.join(out_dir, arch)
        os.makedirs(d, exist_ok=True)
        save_npy(os.path.join(d, "input_b3.npy"), x.numpy())
        save_npy(os.path.join(d, "output_b3.npy"), y.numpy())


def our_presets(out_dir, names):
    import torch
    from generate import randomise, save_npy, write_safetensors

    for i, name in enumerate(names):
        if name == "resnet20":
            from resnet20_torch import ResNet20

            model, sizes = ResNet20(), [(1, 32, 32), (3, 33, 35)]
        elif name == "resnet50_keras":
            from resnet50_keras_torch import KerasResNet50

            model, sizes = KerasResNet50(), [(1, 224, 224), (3, 160, 192)]
        else:
            raise SystemExit(f"unknown preset {name}: resnet20 or resnet50_keras")
        randomise(model, 3000 + i)
        model.eval()
        d = os.path.join(out_dir, name)
        os.makedirs(d, exist_ok=True)
        write_safetensors(os.path.join(d, "weights.safetensors"), model.state_dict())
        g = torch.Generator().manual_seed(4000 + i)
        for n, h, w in sizes:
            x = torch.randn((n, 3, h, w), generator=g)
            with torch.no_grad():
                y = model(x)
            save_npy(os.path.join(d, f"input_b{n}.npy"), x.numpy())
            save_npy(os.path.join(d, f"output_b{n}.npy"), y.numpy())


def main():
    command, *args = sys.argv[1:]
    if command == "check":
        check(args)
    elif command == "torchvision":
        torchvision_outputs(args[0], args[1], args[2:])
    elif command == "ours":
        our_presets(args[0], args[1:])
    else:
        raise SystemExit(f"unknown command {command}: check, torchvision or ours")


if __name__ == "__main__":
    main()
