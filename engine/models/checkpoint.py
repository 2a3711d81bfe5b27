"""Reading the model files users already have: safetensors only, memory-mapped, never unpickled.

`read_state_dict` checks the file before touching its tensors (missing, pickle, truncated, corrupt),
then maps it: tensors are views of the file's pages, so a file whose dtype is already the one we
compute in is held once in memory. `classify` tells a DiT, VAE, text encoder and LoRA apart so a
wrong file gets a message that names what it is. `load_dit`, `load_vae` and `load_text_encoder`
build ready-to-run models; fp8 weights stay fp8, upcast per layer at compute (see fp8_linear).
"""
import json
import math
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors.torch import load_file

from .dit import DiTConfig, WanDiT, storage_dtype
from .fp8_linear import FP8_DTYPES, file_weights
from .latent_format import LatentFormat

DIT_PREFIXES = ("model.diffusion_model.", "diffusion_model.")  # how ComfyUI's and other exporters nest a DiT
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle")
COMPUTE_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit
MAX_TENSORS = 100_000  # Wan 2.1 14B has about 1,100; far more is no model file of ours
MAX_DIMS = 8
_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
                "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}

KINDS = {  # what classify returns -> (what it is, the ComfyUI folder it belongs in)
    "dit": ("a Wan 2.1 diffusion model (DiT)", "models/diffusion_models"),
    "vae": ("a Wan 2.1 VAE", "models/vae"),
    "text_encoder": ("a umT5 text encoder", "models/text_encoders"),
    "lora": ("a LoRA (a patch for a diffusion model, not a model on its own)", "models/loras"),
    "unknown": ("not a model file Spacetime recognises (no Wan 2.1 DiT, VAE or umT5 keys)", None),
}


class CheckpointError(ValueError):
    """A model file that cannot be used where it was given; the message says why and what to do."""


class _Truncated(ValueError):
    """The header describes more tensor data than the file holds."""


def read_state_dict(path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The file's tensors (memory-mapped, a DiT's `model.diffusion_model.` or `diffusion_model.` stripped) and
    its metadata."""
    path = Path(path)
    metadata = _check_safetensors_file(path)
    try:
        tensors = load_file(str(path))
    except Exception as error:  # safetensors' own checks (dtypes, overlapping offsets, ...)
        raise CheckpointError(f"{path} is a damaged safetensors file ({error}). Download it again.") from error
    return {unprefixed(key): tensor for key, tensor in tensors.items()}, metadata


def unprefixed(key: str) -> str:
    for prefix in DIT_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def classify(sd: dict) -> str:
    """'dit', 'vae', 'text_encoder', 'lora' or 'unknown', judged by the key names."""
    keys = {unprefixed(key) for key in sd}
    if any(part in key for key in keys for part in ("lora_up", "lora_down", "lora_A", "lora_B")) or any(
        key.endswith(".alpha") for key in keys
    ):
        return "lora"  # checked first: LoRA keys also contain DiT layer names
    if {"head.modulation", "patch_embedding.weight"} <= keys:
        return "dit"
    if {"encoder.conv1.weight", "decoder.conv1.weight", "conv1.weight", "conv2.weight"} <= keys:
        return "vae"
    if "shared.weight" in keys and any(key.startswith("encoder.block.0.layer.0.SelfAttention.") for key in keys):
        return "text_encoder"
    return "unknown"


def default_compute_dtype(sd: dict) -> torch.dtype:
    """The dtype holding most of the weights; fp8 storage computes in bfloat16."""
    sizes = Counter()
    for tensor in sd.values():
        if tensor.is_floating_point():
            sizes[tensor.dtype] += tensor.numel()
    if not sizes:
        return torch.float32
    dtype = sizes.most_common(1)[0][0]
    return torch.bfloat16 if dtype in FP8_DTYPES else dtype


def load_dit(path, dtype: torch.dtype | None = None, device="cpu") -> WanDiT:
    """A Wan 2.1 T2V DiT from a safetensors file, computing in `dtype` (default: the file's own,
    bfloat16 for fp8 files, whose layers keep their fp8 weights). Small sensitive weights are kept in
    float32 (see dit.storage_dtype)."""
    sd, metadata = read_state_dict(path)
    _expect(sd, "dit", path)
    with _naming_the_file(path):
        config = DiTConfig.from_state_dict(sd, metadata)
    dtype = _compute_dtype(dtype, sd)
    with torch.device("meta"):  # no memory for parameters that are replaced at once
        model = WanDiT(config)
    weights = file_weights(sd, lambda key: storage_dtype(key, dtype), device, model)
    del sd
    _check_layout(model, weights, path)
    model.load_state_dict(weights, strict=True, assign=True)
    with _naming_the_file(path):
        model.latent_format = LatentFormat.from_metadata(metadata)
    model.per_frame_timesteps = trained_for_per_frame_timesteps(metadata)
    return model.eval().requires_grad_(False)


def trained_for_per_frame_timesteps(metadata: dict) -> bool:
    """Whether the file says its DiT was trained with per-frame noise levels (diffusion forcing), so known
    frames can be held clean at timestep 0. The shapes-world files before the key existed all were."""
    return metadata.get("per_frame_timesteps") == "true" or metadata.get("spacetime_model") == "shapes_world"


def load_vae(path, dtype: torch.dtype | None = None):
    """The Wan 2.1 VAE in a safetensors file, in `dtype` (default: the file's own)."""
    from .vae import WanVAE

    sd, _ = read_state_dict(path)
    _expect(sd, "vae", path)
    dtype = _compute_dtype(dtype, sd)
    with _naming_the_file(path):
        return WanVAE.from_state_dict(file_weights(sd, lambda key: dtype), dtype=dtype)


def load_text_encoder(path, dtype: torch.dtype | None = None):
    """The umT5-XXL encoder and its tokenizer (the file's `spiece_model`) from one safetensors file,
    the encoder in `dtype` (default: the file's own, bfloat16 for fp8, whose layers keep their fp8 weights)."""
    from .text_encoder import UMT5Encoder
    from .tokenizer import UMT5Tokenizer

    sd, _ = read_state_dict(path)
    _expect(sd, "text_encoder", path)
    dtype = _compute_dtype(dtype, sd)
    with _naming_the_file(path):
        tokenizer = UMT5Tokenizer.from_state_dict(sd)
        return UMT5Encoder.from_state_dict(sd, dtype=dtype), tokenizer


def _check_safetensors_file(path: Path) -> dict[str, str]:
    """Refuse what is not a whole safetensors file, before mapping it; return its metadata."""
    if not path.is_file():
        where = "a folder, not a file" if path.exists() else "missing"
        raise CheckpointError(f"{path} is {where}. Expected a .safetensors model file: check the name and folder.")
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(_pickle_message(path, f"its '{path.suffix}' extension"))
    size = path.stat().st_size
    with path.open("rb") as file:
        start = file.read(8)
        if start.startswith(b"GGUF"):
            raise CheckpointError(f"{path} is a GGUF file (a quantised model for GGUF loaders); Spacetime loads "
                                  "safetensors: use the same model as .safetensors (bf16, fp16 or fp8).")
        if start.startswith(b"PK\x03\x04") or (start[:1] == b"\x80" and start[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")):
            raise CheckpointError(_pickle_message(path, "its first bytes (a pickle/zip archive)"))
        if size < 8:
            raise CheckpointError(f"{path} is only {size} bytes: it is empty or cut short. Download it again.")
        header_size = int.from_bytes(start, "little")
        if header_size > min(size - 8, MAX_HEADER_BYTES):
            raise CheckpointError(
                f"{path} is not a complete safetensors file: its header claims {header_size:,} bytes but the "
                f"file has {size:,} bytes in all. It is truncated (an interrupted download?) or not a "
                "safetensors file. Download it again."
            )
        raw = file.read(header_size)
    data_size = size - 8 - header_size
    try:
        return parse_header(raw, data_size)
    except _Truncated as error:
        raise CheckpointError(f"{path} is truncated: {error} (an interrupted download or copy?). "
                              "Download it again.") from None
    except ValueError as error:
        raise CheckpointError(f"{path} has a corrupt safetensors header ({error}). Download it again.") from None


def parse_header(raw: bytes, data_size: int) -> dict[str, str]:
    """Check a safetensors header (the JSON after the 8-byte size) against `data_size` bytes of tensor data;
    return its metadata. Raises ValueError saying what is wrong: every field is checked here, so the
    model builders and safetensors itself only ever see a well-formed header of bounded size."""
    try:
        header = json.loads(raw)
    except RecursionError:
        raise ValueError("the header nests too deeply to be a tensor list") from None
    except ValueError as error:  # also not UTF-8
        raise ValueError(f"the header is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise ValueError(f"the header is a JSON {type(header).__name__}, not an object of tensors")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError("__metadata__ must map names to text")
    if len(header) > MAX_TENSORS:
        raise ValueError(f"it lists {len(header):,} tensors; model files hold at most {MAX_TENSORS:,}")
    needed = 0
    for name, entry in header.items():
        needed = max(needed, _tensor_extent(name, entry))
    if needed > data_size:
        raise _Truncated(f"its tensors need {needed:,} bytes of data but only {data_size:,} are there")
    return metadata


def _tensor_extent(name: str, entry) -> int:
    """Where tensor `name`'s bytes end in the data, after checking its dtype, shape and offsets agree."""
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
        raise ValueError(f"tensor {name[:80]!r} needs dtype, shape and data_offsets")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in _DTYPE_BYTES:
        raise ValueError(f"tensor {name[:80]!r} has an unknown dtype {str(dtype)[:20]!r}")
    if not (isinstance(shape, list) and len(shape) <= MAX_DIMS and all(_natural(d) for d in shape)):
        raise ValueError(f"tensor {name[:80]!r} has a shape that is not a list of at most {MAX_DIMS} sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_natural(o) for o in offsets)
            and offsets[0] <= offsets[1]):
        raise ValueError(f"tensor {name[:80]!r} has data_offsets that are not two increasing whole numbers")
    if offsets[1] - offsets[0] != math.prod(shape) * _DTYPE_BYTES[dtype]:
        raise ValueError(f"tensor {name[:80]!r}: its shape {shape} in {dtype} does not fill its "
                         f"{offsets[1] - offsets[0]:,} bytes")
    return offsets[1]


def _natural(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _pickle_message(path: Path, evidence: str) -> str:
    return (
        f"{path} is a PyTorch pickle checkpoint (judged by {evidence}). Spacetime reads only .safetensors "
        "files, because loading a pickle can run any code hidden in it. Use the .safetensors release of "
        "the model (e.g. wan2.1_t2v_1.3B_bf16.safetensors from ComfyUI's Wan 2.1 repackage)."
    )


def _expect(sd: dict, kind: str, path) -> None:
    found = classify(sd)
    if found == kind:
        return
    what, folder = KINDS[found]
    hint = f" It belongs in {folder}." if folder else ""
    raise CheckpointError(f"{Path(path).name} is {what}, but {KINDS[kind][0]} was expected here.{hint} "
                          f"Pick a file from {KINDS[kind][1]}.")


@contextmanager
def _naming_the_file(path):
    """Model builders raise ValueError about weights; say which file they came from."""
    try:
        yield
    except CheckpointError:
        raise
    except ValueError as error:
        raise CheckpointError(f"{Path(path).name}: {error}") from None


def _compute_dtype(dtype, sd: dict) -> torch.dtype:
    dtype = dtype or default_compute_dtype(sd)
    if dtype not in COMPUTE_DTYPES:
        raise CheckpointError(f"Cannot compute in {dtype}; choose torch.float32, torch.bfloat16 or torch.float16.")
    return dtype


def _check_layout(model: torch.nn.Module, weights: dict, path) -> None:
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    missing = sorted(expected.keys() - weights.keys())
    unexpected = sorted(weights.keys() - expected.keys())
    wrong = [f"{key} {tuple(weights[key].shape)} (expected {expected[key]})"
             for key in expected.keys() & weights.keys() if tuple(weights[key].shape) != expected[key]]
    not_float = [f"{key} ({value.dtype})" for key, value in weights.items() if not value.is_floating_point()]
    problems = [f"{len(found)} {label} {found[:3]}" for label, found in
                (("missing", missing), ("unexpected", unexpected), ("with the wrong shape", wrong),
                 ("stored as integers, not weights", not_float)) if found]
    if problems:
        config = model.config
        raise CheckpointError(
            f"{Path(path).name} does not match the Wan 2.1 T2V layout its weights suggest (dim {config.dim}, "
            f"{config.num_layers} blocks): {'; '.join(problems)}. The file is damaged or a variant Spacetime "
            "does not support."
        )
