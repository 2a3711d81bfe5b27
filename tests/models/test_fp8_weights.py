"""fp8 files stay fp8 in memory: layers keep the file's fp8 weights (and scales) and upcast per call, giving
what the weights dequantised to the compute dtype at load would give."""
import os

import pytest
import torch
from safetensors.torch import save_file

from spacetime.engine.models.checkpoint import load_dit, load_text_encoder
from spacetime.engine.models.dit import storage_dtype
from spacetime.engine.models.fp8_linear import Fp8Embedding, Fp8Linear, upcast, weight_in
from numerics import relative_l2
from tiny_models import random_wan_state_dict, tiny_text_encoder_state_dict

SMALL = dict(dim=256, ffn_dim=512, num_layers=2, text_dim=32)
BIG_WEIGHT = "blocks.0.ffn.0.weight"
E4M3_MAX = 448.0


def scaled_fp8(sd: dict, scale_name="scale_weight") -> dict:
    """ComfyUI's scaled fp8 layout: every matrix as fp8 x per-tensor scale (+ input scale, marker); rest bf16."""
    out = {"scaled_fp8": torch.empty(0, dtype=torch.float8_e4m3fn)}
    for key, value in sd.items():
        if value.ndim == 2 and value.is_floating_point():
            scale = value.abs().max() / E4M3_MAX
            layer = key.removesuffix("weight")
            out[key] = (value / scale).to(torch.float8_e4m3fn)
            out[layer + scale_name], out[layer + "scale_input"] = scale.reshape(()), torch.ones(())
        else:
            out[key] = value.to(torch.bfloat16) if value.is_floating_point() else value
    return out


def all_fp8(sd: dict) -> dict:
    """Every floating tensor in plain (unscaled) fp8, norms and convolution included."""
    return {key: value.to(torch.float8_e4m3fn) if value.is_floating_point() else value for key, value in sd.items()}


def dequantised(sd: dict, dtype_of) -> dict:
    """What the file means at full width: fp8 x scale in each tensor's compute dtype (the reference)."""
    out = {}
    for key, value in sd.items():
        layer, _, name = key.rpartition(".")
        if key == "scaled_fp8" or name in ("scale_weight", "weight_scale", "scale_input"):
            continue
        scale = next((sd[f"{layer}.{n}"] for n in ("scale_weight", "weight_scale") if f"{layer}.{n}" in sd), None)
        out[key] = upcast(value, scale if name == "weight" else None, dtype_of(key)) \
            if value.is_floating_point() else value
    return out


def save(tmp_path, sd, name):
    path = tmp_path / name
    save_file(sd, str(path))
    return path


def dit_output(model):
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(1, 16, 2, 4, 6, generator=generator)
    context = torch.randn(1, 8, SMALL["text_dim"], generator=generator)
    with torch.no_grad():
        return model(x, torch.tensor([700.0]), context)


@pytest.mark.parametrize("layout", ["scaled", "scaled_newer_name", "plain_everything"])
def test_dit_keeps_fp8_and_matches_the_dequantised_model(tmp_path, layout):
    source = random_wan_state_dict(**SMALL)
    fp8 = {"scaled": lambda: scaled_fp8(source), "scaled_newer_name": lambda: scaled_fp8(source, "weight_scale"),
           "plain_everything": lambda: all_fp8(source)}[layout]()
    model = load_dit(save(tmp_path, fp8, "fp8.safetensors"))
    reference = load_dit(save(tmp_path, dequantised(fp8, lambda key: storage_dtype(key, torch.bfloat16)),
                              "dequantised.safetensors"), dtype=torch.bfloat16)
    exact = load_dit(save(tmp_path, dequantised(fp8, lambda key: torch.float32), "dequantised_f32.safetensors"),
                     dtype=torch.float32)

    layer = model.get_submodule(BIG_WEIGHT.removesuffix(".weight"))
    assert isinstance(layer, Fp8Linear) and layer.compute_dtype == torch.bfloat16
    assert torch.equal(layer.weight.view(torch.uint8), fp8[BIG_WEIGHT].view(torch.uint8))  # the file's bytes
    assert isinstance(model.head.head, Fp8Linear) and model.head.head.compute_dtype == torch.float32
    fp8_layers = [m for m in model.modules() if isinstance(m, Fp8Linear)]
    assert len(fp8_layers) == sum(1 for value in source.values() if value.ndim == 2)
    # Computing in bf16 costs about 3e-3 of the output, and two bf16 paths differ by about 1e-3 in an order
    # that depends on the CPU's bf16 kernels: so the fp8 model is held to the dequantised bf16 model's own
    # error against the same weights in float32 (a lost or doubled scale is off by the whole output).
    error, bf16_error = (relative_l2(dit_output(m), dit_output(exact)) for m in (model, reference))
    assert error <= 1.25 * bf16_error
    weight_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    reference_bytes = sum(t.numel() * t.element_size() for t in reference.state_dict().values())
    assert weight_bytes < 0.6 * reference_bytes


def test_fp8_dit_computes_in_a_requested_dtype(tmp_path):
    fp8 = scaled_fp8(random_wan_state_dict(**SMALL))
    model = load_dit(save(tmp_path, fp8, "fp8.safetensors"), dtype=torch.float32)
    reference = load_dit(save(tmp_path, dequantised(fp8, lambda key: torch.float32), "ref.safetensors"))
    assert model.get_submodule("blocks.1.self_attn.q").compute_dtype == torch.float32
    assert relative_l2(dit_output(model), dit_output(reference)) <= 1e-6


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux /proc")
def test_fp8_weights_are_the_mapped_file_pages(tmp_path):
    """No copy at load: the fp8 weights are views of the memory-mapped file."""
    path = save(tmp_path, scaled_fp8(random_wan_state_dict(**SMALL)), "fp8.safetensors")
    model = load_dit(path)
    ranges = [tuple(int(a, 16) for a in line.split()[0].split("-")) for line in open("/proc/self/maps")
              if line.split()[-1] == str(path)]
    for key in (BIG_WEIGHT, "blocks.1.cross_attn.k.weight", "text_embedding.0.weight"):
        pointer = model.get_parameter(key).data_ptr()
        assert any(start <= pointer < end for start, end in ranges), key


def test_text_encoder_keeps_fp8_and_matches_the_dequantised_encoder(tmp_path):
    source = tiny_text_encoder_state_dict(d_model=64)
    fp8 = scaled_fp8(source)
    encoder, tokenizer = load_text_encoder(save(tmp_path, fp8, "umt5_fp8.safetensors"))
    reference, _ = load_text_encoder(save(tmp_path, dequantised(fp8, lambda key: torch.bfloat16), "umt5.safetensors"))

    assert isinstance(encoder.shared, Fp8Embedding) and encoder.shared.weight.dtype == torch.float8_e4m3fn
    q = encoder.encoder.block[1].layer[0].SelfAttention.q
    assert isinstance(q, Fp8Linear) and q.weight.dtype == torch.float8_e4m3fn and q.compute_dtype == torch.bfloat16
    tokens, mask = tokenizer.encode(["a red fox runs across the snowy field", "two cats"])
    with torch.no_grad():
        assert relative_l2(encoder(tokens, mask), reference(tokens, mask)) <= 1e-3


def test_fp8_text_encoder_weights_are_close_to_the_full_width_ones(tmp_path):
    """The scales are applied: fp8 keeps about two significant digits of the original weights."""
    source = tiny_text_encoder_state_dict(d_model=64)
    encoder, _ = load_text_encoder(save(tmp_path, scaled_fp8(source), "umt5_fp8.safetensors"), dtype=torch.float32)
    for key in ("shared.weight", "encoder.block.1.layer.0.SelfAttention.q.weight",
                "encoder.block.0.layer.1.DenseReluDense.wo.weight"):
        layer = encoder.get_submodule(key.removesuffix(".weight"))
        assert relative_l2(weight_in(layer, torch.float32), source[key]) < 0.1, key
