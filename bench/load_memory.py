"""Peak memory of loading a 1.3B Wan DiT with `load_dit`.

Writes a random bf16 checkpoint of the real 1.3B layout to a temporary folder (about 2.8 GB), then
loads it in fresh subprocesses and reports their peak resident memory (VmHWM), which counts both
private copies and mapped file pages. Loading in the file's dtype should peak near one copy of the
weights plus the interpreter; a dtype conversion adds the converted copy.

    .host/venv/bin/python bench/load_memory.py [--dtype bfloat16|float16|float32]
"""
import argparse
import json
import pathlib
import sys
import tempfile

import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from pack_import import import_pack  # noqa: E402

from child_memory import peak_rss, resident_bytes, run_child  # noqa: E402

GIB = 2**30


def child(checkpoint: str, dtype: str):
    """Runs in a fresh process: load (unless checkpoint is '-'), touch every weight, print RSS figures."""
    import_pack()
    from spacetime.engine.models.checkpoint import load_dit

    report = {}
    if checkpoint != "-":
        model = load_dit(checkpoint, dtype=getattr(torch, dtype))
        report["after_load"] = resident_bytes()
        with torch.no_grad():  # mapped pages count only once read, as the first forward would
            for parameter in model.parameters():
                parameter.sum()
        report["after_touching_weights"] = resident_bytes()
    report["peak"] = peak_rss()
    print(json.dumps(report))


def write_random_checkpoint(path: pathlib.Path) -> int:
    """Stream a random bf16 1.3B checkpoint to `path` tensor by tensor; return its size in bytes."""
    import_pack()
    from spacetime.engine.models.dit import DiTConfig, WanDiT

    with torch.device("meta"):
        shapes = {key: tuple(value.shape) for key, value in WanDiT(DiTConfig()).state_dict().items()}
    header, offset = {}, 0
    for key, shape in shapes.items():
        size = 2 * torch.Size(shape).numel()
        header[key] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)  # safetensors aligns the data to 8 bytes
    generator = torch.Generator().manual_seed(0)
    with path.open("wb") as file:
        file.write(len(encoded).to_bytes(8, "little") + encoded)
        for shape in shapes.values():
            values = (torch.randn(shape, generator=generator) * 0.02).to(torch.bfloat16)
            file.write(values.view(torch.int16).numpy().tobytes())
    return path.stat().st_size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: the measured subprocess
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.dtype)
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = pathlib.Path(folder) / "wan2.1_t2v_1.3B_random_bf16.safetensors"
        size = write_random_checkpoint(checkpoint)
        empty = run_child(__file__, "-", "--dtype", args.dtype)
        loaded = run_child(__file__, checkpoint, "--dtype", args.dtype)
    rows = [
        ("checkpoint file (bf16)", size),
        ("peak RSS, child with torch + pack only", empty["peak"]),
        (f"RSS after load_dit(dtype={args.dtype})", loaded["after_load"]),
        ("RSS after touching every weight", loaded["after_touching_weights"]),
        ("peak RSS of the loading child", loaded["peak"]),
        ("  of which above the bare interpreter", loaded["peak"] - empty["peak"]),
    ]
    for label, value in rows:
        print(f"{label:<42} {value / GIB:6.2f} GiB")


if __name__ == "__main__":
    main()
