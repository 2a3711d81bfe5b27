"""Compile the kernels for NVIDIA GPUs without one, and report what ptxas says they use.

    python tests/kernels/gpu_compile.py     # one line per variant; exit status 1 if one does not fit

Triton cross-compiles to PTX and runs the ptxas it ships, which needs no driver: this catches what only
the compiler rejects (the interpreter accepts tile shapes and operand types a GPU does not) and tile
sizes that spill registers or overflow shared memory. It runs in its own process because the test
session runs the kernels interpreted (TRITON_INTERPRET=1 is fixed when they are decorated).
"""
import os
import pathlib
import re
import subprocess
import sys
import tempfile

os.environ.pop("TRITON_INTERPRET", None)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import conftest  # noqa: E402,F401  (imports the pack as `spacetime`)

import torch  # noqa: E402
import triton  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.backends.nvidia.compiler import get_ptxas  # noqa: E402
from triton.compiler import ASTSource  # noqa: E402

from spacetime.kernels.flash.forward import flash_forward  # noqa: E402
from spacetime.kernels.flash.launch import tile_config  # noqa: E402
from spacetime.kernels.flash.prepass import quantize_int8  # noqa: E402
from spacetime.kernels.rope import axis_dims  # noqa: E402

SHARED_MEMORY = {80: 163 * 1024, 89: 99 * 1024, 90: 227 * 1024}  # bytes a block may use
SPILL_BUDGET = 256  # bytes of register spill stores tolerated in the 16-bit and 8-bit kernels
POINTER = {torch.bfloat16: "*bf16", torch.float16: "*fp16", torch.float32: "*fp32"}
# (arch, dtype, head_dim, rope, key mask, int8, fp8[, lse]): what the models and tests launch
VARIANTS = [
    (90, torch.bfloat16, 128, True, False, False, False),
    (90, torch.bfloat16, 128, False, True, False, False),
    (90, torch.bfloat16, 128, False, True, False, False, True),  # ring attention's blocks
    (90, torch.float16, 64, True, False, False, False),
    (90, torch.bfloat16, 128, False, False, True, True),
    (90, torch.float32, 128, True, True, False, False),
    (89, torch.float16, 128, False, True, True, True),
    (80, torch.bfloat16, 128, True, False, False, False),
    (80, torch.bfloat16, 64, True, False, True, False),
]


def compile_forward(arch, dtype, head_dim, rope, key_mask, int8, fp8, lse=False):
    element = POINTER[dtype]
    types = dict(q_ptr="*i8" if int8 else element, k_ptr="*i8" if int8 else element,
                 v_ptr="*fp8e4nv" if fp8 else element, out_ptr=element, lse_ptr="*fp32", key_mask_ptr="*u8",
                 q_scale_ptr="*fp32", k_scale_ptr="*fp32", v_scale_ptr="*fp32", cos_ptr="*fp32", sin_ptr="*fp32",
                 qk_scale="fp32")
    block_m, block_n, warps, stages = tile_config(head_dim, dtype, (arch // 10, arch % 10))
    t_dim, h_dim, _ = axis_dims(head_dim)
    constants = dict(HEAD_DIM=head_dim, BLOCK_M=block_m, BLOCK_N=block_n, T_PAIRS=t_dim // 2, H_PAIRS=h_dim // 2,
                     HAS_ROPE=rope, HAS_KEY_MASK=key_mask, QK_INT8=int8, PV_FP8=fp8, HAS_LSE=lse,
                     INTERPRETED=False)
    return _compile(flash_forward, types, constants, arch, warps, stages)


def compile_quantize(arch, dtype, head_dim, block):
    types = dict(x_ptr=POINTER[dtype], shift_ptr="*fp32", codes_ptr="*i8", scale_ptr="*fp32", cos_ptr="*fp32",
                 sin_ptr="*fp32")
    t_dim, h_dim, _ = axis_dims(head_dim)
    constants = dict(HEAD_DIM=head_dim, BLOCK=block, T_PAIRS=t_dim // 2, H_PAIRS=h_dim // 2, HAS_ROPE=True,
                     HAS_SHIFT=True)
    return _compile(quantize_int8, types, constants, arch, 4, 1)


def _compile(kernel, types, constants, arch, warps, stages):
    signature = {name: "constexpr" if name in constants else types.get(name, "i32") for name in kernel.arg_names}
    compiled = triton.compile(ASTSource(kernel, signature, constants), target=GPUTarget("cuda", arch, 32),
                              options=dict(num_warps=warps, num_stages=stages))
    return compiled.metadata.shared, _spilled_bytes(compiled.asm["ptx"], arch)


def _spilled_bytes(ptx: str, arch: int) -> int:
    with tempfile.NamedTemporaryFile("w", suffix=".ptx") as source:
        source.write(ptx)
        source.flush()
        gpu = "sm_90a" if arch == 90 else f"sm_{arch}"
        log = subprocess.run([get_ptxas(arch).path, "-v", f"--gpu-name={gpu}", source.name, "-o", os.devnull],
                             capture_output=True, text=True, check=True).stderr
    return sum(int(n) for n in re.findall(r"(\d+) bytes spill stores", log))


def main() -> int:
    problems = []
    for arch, dtype, *switches in VARIANTS:
        shared, spilled = compile_forward(arch, dtype, *switches)
        line = f"flash_forward sm_{arch} {dtype} {switches}: shared {shared} B, spill stores {spilled} B"
        print(line)
        if shared > SHARED_MEMORY[arch] or (dtype != torch.float32 and spilled > SPILL_BUDGET):
            problems.append(line)
    for block in (32, 64):
        shared, spilled = compile_quantize(90, torch.bfloat16, 128, block)
        print(f"quantize_int8 sm_90 block {block}: shared {shared} B, spill stores {spilled} B")
    if problems:
        print("over the shared-memory limit or the spill budget:", *problems, sep="\n  ")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
