"""Memory of loading an fp8 Wan DiT (weights kept in fp8), and its output against the dequantised model.

Writes random 1.3B-sized DiT files in the real layout to a temporary folder (dim 1536, 30 blocks, 12
heads, ffn 8960): plain fp8 (matrices e4m3fn, the rest bf16) and ComfyUI's scaled fp8 (matrices
e4m3fn / per-tensor `scale_weight`, with `scale_input` and the `scaled_fp8` marker), about 1.4 GB
each. Each is loaded by `load_dit` in a fresh subprocess that touches every weight and reports its
peak resident memory (VmHWM) minus that of a subprocess that only imported torch and the pack;
the bar is 1.2x the file's size. Then the same subprocess runs one forward on a tiny latent, and
again with every fp8 layer replaced by a plain Linear holding its dequantised weight (the path of the
loader before weights stayed fp8), and reports the relative L2 distance of the two outputs.

    .host/venv/bin/python bench/fp8_memory.py [--device cuda] [--small]
"""
import argparse
import json
import pathlib
import sys
import tempfile

import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests"))
from pack_import import import_pack  # noqa: E402

from child_memory import peak_rss, run_child  # noqa: E402

GIB = 2**30
FULL = dict(dim=1536, ffn_dim=8960, num_layers=30)  # Wan 2.1 1.3B
SMALL = dict(dim=256, ffn_dim=512, num_layers=2)  # --small: a seconds-long check of the mechanics
E4M3_MAX = 448.0


def write_fp8_checkpoint(path: pathlib.Path, sizes: dict, scaled: bool) -> int:
    """A random DiT in the real layout with its matrices in fp8 (scaled: times a per-tensor scale)."""
    from tiny_models import wan_t2v_shapes

    generator = torch.Generator().manual_seed(0)
    sd = {"scaled_fp8": torch.empty(0, dtype=torch.float8_e4m3fn)} if scaled else {}
    for key, shape in wan_t2v_shapes(**sizes).items():
        values = torch.randn(shape, generator=generator) * 0.02
        if len(shape) != 2:
            sd[key] = values.to(torch.bfloat16)
            continue
        layer = key.removesuffix("weight")
        scale = values.abs().max() / E4M3_MAX if scaled else torch.tensor(1.0)
        sd[key] = (values / scale).to(torch.float8_e4m3fn)
        if scaled:
            sd[layer + "scale_weight"], sd[layer + "scale_input"] = scale.reshape(()), torch.ones(())
    from safetensors.torch import save_file

    save_file(sd, str(path))
    return path.stat().st_size


def child(checkpoint: str, device: str) -> None:
    """Runs in a fresh process: load (unless '-'), touch every weight, report the peak; then the outputs."""
    import_pack()
    report = {}
    if checkpoint != "-":
        from spacetime.engine.models.checkpoint import load_dit

        model = load_dit(checkpoint)
        with torch.no_grad():  # mapped pages count only once read, as the first forward reads them
            for tensor in model.state_dict().values():
                tensor.flatten().view(torch.uint8).max()  # max: no widened copy, unlike sum
        report["peak_after_load"] = peak_rss()
        model.to(device)
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        report.update(compare_with_dequantised(model, device))
    report["peak"] = peak_rss()
    print(json.dumps(report))


def compare_with_dequantised(model, device: str) -> dict:
    """One forward of the fp8 model and of its dequantised copy on a tiny latent: their relative L2."""
    from spacetime.engine.models.fp8_linear import Fp8Linear, weight_in

    generator = torch.Generator().manual_seed(1)
    x = torch.randn(1, 16, 2, 8, 8, generator=generator).to(device)
    context = torch.randn(1, 32, model.config.text_dim, generator=generator).to(device)
    timestep = torch.tensor([700.0], device=device)
    with torch.no_grad():
        fp8_out = model(x, timestep, context).double()
        report = {"cuda_peak_fp8_forward": torch.cuda.max_memory_allocated()} if device.startswith("cuda") else {}
        layers = [(name, m) for name, m in model.named_modules() if isinstance(m, Fp8Linear)]
        for name, layer in layers:
            plain = torch.nn.Linear(layer.in_features, layer.out_features, device="meta")
            plain.weight = torch.nn.Parameter(weight_in(layer, layer.compute_dtype), requires_grad=False)
            plain.bias = layer.bias
            model.set_submodule(name, plain)
        reference = model(x, timestep, context).double()
    report.update(fp8_layers=len(layers),
                  rel_l2=((fp8_out - reference).norm() / reference.norm()).item(),
                  finite=bool(torch.isfinite(fp8_out).all()))
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="where the forwards run (cpu, cuda)")
    parser.add_argument("--small", action="store_true", help="a 2-block dim-256 model instead of 1.3B")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: the measured subprocess
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.device)
    sizes = SMALL if args.small else FULL
    baseline = run_child(__file__, "-", "--device", args.device)["peak"]
    print(f"Random Wan DiT {sizes}, forwards on {args.device}; peak RSS above a bare child "
          f"(torch + pack: {baseline / GIB:.2f} GiB)\n")
    print("| file | file size | peak RSS after load − baseline | × file size | fp8 layers | rel L2 vs dequantised |"
          + (" CUDA peak, fp8 forward |" if args.device.startswith("cuda") else ""))
    print("|---|---|---|---|---|---|" + ("---|" if args.device.startswith("cuda") else ""))
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        for scaled in (False, True):
            name = f"wan_t2v_random_fp8_e4m3fn{'_scaled' if scaled else ''}.safetensors"
            path = pathlib.Path(folder) / name
            size = write_fp8_checkpoint(path, sizes, scaled)
            r = run_child(__file__, path, "--device", args.device)
            path.unlink()
            above = r["peak_after_load"] - baseline
            ok &= r["rel_l2"] <= 1e-3 and r["finite"] and (args.small or above <= 1.2 * size)
            cuda = f" {r['cuda_peak_fp8_forward'] / GIB:.2f} GiB |" if "cuda_peak_fp8_forward" in r else ""
            print(f"| {'scaled fp8' if scaled else 'fp8'} | {size / GIB:.2f} GiB | {above / GIB:.2f} GiB | "
                  f"{above / size:.2f} | {r['fp8_layers']} | {r['rel_l2']:.1e} |{cuda}", flush=True)
    judged = "rel L2 ≤ 1e-3, finite" + ("" if args.small else ", peak ≤ 1.2 × file")  # small: RSS noise dominates
    print(f"\nbars ({judged}): {'met' if ok else 'NOT met'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
