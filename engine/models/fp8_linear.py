"""fp8 weights kept in fp8: layers that hold a file's fp8 matrix (and its per-tensor scale) and upcast it
per call, so an fp8 model takes about half the memory of its bf16 copy.

ComfyUI's fp8 files store a layer's `X.weight` in float8 (e4m3fn or e5m2); "scaled fp8" files add a
per-tensor `X.scale_weight` (older name) or `X.weight_scale` (newer): weight = fp8 x scale. `upcast` is
the pack's one fp8 dequantiser: `Fp8Linear` and `Fp8Embedding` run it at compute time, and the loader
runs it once for the few small fp8 tensors that are not such layers (norms, convolutions, modulation).
A plain upcast, not an fp8 matmul: every device runs it, and it is exactly the dequantised model's maths.
"""
import torch
import torch.nn.functional as F
from torch import nn

FP8_DTYPES = (torch.float8_e4m3fn, torch.float8_e5m2)
SCALE_KEYS = ("scale_weight", "weight_scale")
# Bookkeeping of fp8 matmuls (activation scales) and the file-level marker: not weights of ours.
FP8_ONLY_KEYS = ("scale_input", "input_scale")
FP8_MARKER = "scaled_fp8"
SCALE = "scale_weight"  # what our fp8 layers call their scale, whichever name the file used


def upcast(weight: torch.Tensor, scale: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """`weight` in `dtype`, times its per-tensor `scale` (in float32, before rounding to `dtype`) when given."""
    if scale is None:
        return weight.to(dtype)
    return (weight.float() * scale.to(device=weight.device, dtype=torch.float32)).to(dtype)


def compute_dtype(layer: nn.Module) -> torch.dtype:
    """The dtype a linear or embedding layer computes in: its weight's, or the upcast dtype of fp8 storage."""
    return getattr(layer, "compute_dtype", layer.weight.dtype)


def weight_in(layer: nn.Module, dtype: torch.dtype) -> torch.Tensor:
    """The layer's weight in `dtype`, scale applied for fp8 storage."""
    return upcast(layer.weight, getattr(layer, SCALE, None), dtype)


class Fp8Linear(nn.Linear):
    """A Linear whose weight stays in its stored fp8 dtype, upcast (times its scale) at each call."""

    def __init__(self, linear: nn.Linear, fp8_dtype: torch.dtype, dtype: torch.dtype, scaled: bool):
        nn.Module.__init__(self)  # not nn.Linear's: it would allocate and initialise weights we replace
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.compute_dtype = dtype
        _fp8_parameters(self, linear, fp8_dtype, scaled)

    def forward(self, x):
        bias = None if self.bias is None else self.bias.to(self.compute_dtype)
        return F.linear(x.to(self.compute_dtype), weight_in(self, self.compute_dtype), bias)


class Fp8Embedding(nn.Embedding):
    """An Embedding kept in fp8: only the looked-up rows are upcast."""

    def __init__(self, embedding: nn.Embedding, fp8_dtype: torch.dtype, dtype: torch.dtype, scaled: bool):
        nn.Module.__init__(self)
        self.num_embeddings, self.embedding_dim = embedding.num_embeddings, embedding.embedding_dim
        self.padding_idx, self.max_norm, self.norm_type = None, None, 2.0  # what nn.Embedding's repr reads
        self.scale_grad_by_freq, self.sparse = False, False
        self.compute_dtype = dtype
        _fp8_parameters(self, embedding, fp8_dtype, scaled)

    def forward(self, ids):
        return upcast(F.embedding(ids, self.weight), getattr(self, SCALE, None), self.compute_dtype)


def _fp8_parameters(layer, original, fp8_dtype, scaled):
    """Meta placeholders with the original layer's shapes: the fp8 weight, its bias, its scale."""
    layer.weight = nn.Parameter(torch.empty(original.weight.shape, dtype=fp8_dtype, device="meta"),
                                requires_grad=False)
    bias = getattr(original, "bias", None)
    layer.bias = None if bias is None else nn.Parameter(torch.empty_like(bias, device="meta"), requires_grad=False)
    if scaled:
        layer.register_buffer(SCALE, torch.empty((), dtype=torch.float32, device="meta"))


def file_weights(sd: dict, dtype_of, device=None, model: nn.Module | None = None) -> dict[str, torch.Tensor]:
    """The tensors to load into `model` (built on the meta device) from a file's `sd`, without a wide copy.

    Every Linear and Embedding of `model` (if given) whose weight is fp8 in the file is replaced by its fp8
    layer, which gets the file's fp8 tensor as it is and its scale as `scale_weight`. Other floating tensors
    go to `device` (None: where they are) in `dtype_of(key)`: passed through when already so (mapped file
    pages are not copied), upcast by `upcast` when fp8. The file's fp8 bookkeeping is dropped."""
    kept = set() if model is None else _keep_in_fp8(model, sd, dtype_of)
    weights = {}
    for key, tensor in sd.items():
        layer, _, name = key.rpartition(".")
        if key == FP8_MARKER or name in SCALE_KEYS or name in FP8_ONLY_KEYS:
            continue
        if key in kept:
            weights[key] = tensor.to(device=device)
            scale = _scale(sd, key)
            if scale is not None:
                weights[f"{layer}.{SCALE}"] = scale.to(device=device, dtype=torch.float32).reshape(())
        elif tensor.is_floating_point():
            weights[key] = upcast(tensor.to(device=device), _scale(sd, key), dtype_of(key))
        else:
            weights[key] = tensor
    return weights


def _keep_in_fp8(model: nn.Module, sd: dict, dtype_of) -> set[str]:
    """Swap the fp8 Linear/Embedding layers of `model` for their fp8 kind; return their weight keys."""
    kept = set()
    for name, module in list(model.named_modules()):
        key = f"{name}.weight"
        kind = Fp8Linear if type(module) is nn.Linear else Fp8Embedding if type(module) is nn.Embedding else None
        if kind is None or key not in sd or sd[key].dtype not in FP8_DTYPES:
            continue
        scaled = _scale(sd, key) is not None
        model.set_submodule(name, kind(module, sd[key].dtype, dtype_of(key), scaled))
        kept.add(key)
    return kept


def _scale(sd: dict, key: str):
    if not key.endswith(".weight"):
        return None
    layer = key.removesuffix("weight")
    return next((sd[layer + name] for name in SCALE_KEYS if layer + name in sd), None)
