"""Patch Attention: core's own Wan runs its attention on our backends with the same result.

The first tests drive the override the node installs directly (no host), with a stand-in for core's
SDPA-based attention function; the rest run core's Wan in the real host with and without the patch.
"""
import logging

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from comfy_host import PromptRefused
from tiny_models import TINY_FILES
from spacetime.kernels import BACKEND_NAMES, core_convention
from spacetime.kernels.core_convention import core_override
from numerics import relative_l2


def core_sdpa(q, k, v, heads, mask=None, attn_precision=None, skip_reshape=False, skip_output_reshape=False,
              **kwargs):
    """Core's calling convention and layouts around torch SDPA: the reference the override must match."""
    if not skip_reshape:
        q, k, v = (x.unflatten(-1, (heads, -1)).transpose(1, 2) for x in (q, k, v))
    if mask is not None and mask.ndim == 3:
        mask = mask[:, None]
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return out if skip_output_reshape else out.transpose(1, 2).flatten(2)


def must_not_be_called(*args, **kwargs):
    raise AssertionError("the override fell back to core's attention function")


def core_qkv(batch=2, queries=24, keys=24, heads=2, head_dim=64, skip_reshape=False, seed=0):
    generator = torch.Generator().manual_seed(seed)
    shapes = [(batch, heads, n, head_dim) if skip_reshape else (batch, n, heads * head_dim)
              for n in (queries, keys, keys)]
    return [torch.randn(shape, generator=generator) for shape in shapes]


@pytest.fixture
def warnings_seen(caplog, monkeypatch):
    """The spacetime.attention warnings of this test, with the once-only fallback notices reset."""
    monkeypatch.setattr(core_convention, "_fallbacks_announced", set())
    with caplog.at_level(logging.WARNING, logger="spacetime.attention"):
        yield lambda: [r.getMessage() for r in caplog.records
                       if r.name == "spacetime.attention" and r.levelno == logging.WARNING]


@pytest.mark.parametrize("skip_reshape", [False, True])
@pytest.mark.parametrize("skip_output_reshape", [False, True])
def test_override_matches_core_in_every_layout(skip_reshape, skip_output_reshape):
    q, k, v = core_qkv(queries=24, keys=40, skip_reshape=skip_reshape)  # cross-attention: Nq != Nk
    flags = dict(skip_reshape=skip_reshape, skip_output_reshape=skip_output_reshape)
    out = core_override("sdpa", "test-layouts")(must_not_be_called, q, k, v, 2, transformer_options={}, **flags)
    expected = core_sdpa(q, k, v, 2, **flags)
    assert out.shape == expected.shape
    assert relative_l2(out, expected) <= 1e-6


@pytest.mark.parametrize("shape", [(2, 1, 40), (2, 1, 1, 40), (1, 1, 40)])
def test_bool_key_masks_run_on_our_backend(shape, warnings_seen):
    q, k, v = core_qkv(queries=24, keys=40)
    mask = torch.rand(shape, generator=torch.Generator().manual_seed(1)) < 0.6
    mask[..., 0] = True  # every query attends to something (SDPA gives NaN otherwise)
    out = core_override("sdpa", "test-masks")(must_not_be_called, q, k, v, 2, mask=mask)
    assert relative_l2(out, core_sdpa(q, k, v, 2, mask=mask)) <= 1e-6
    assert warnings_seen() == []


def test_other_masks_keep_core_attention_and_say_so_once(warnings_seen):
    q, k, v = core_qkv(queries=24, keys=24)
    scores_bias = torch.randn(2, 24, 24)
    per_query = torch.rand(2, 24, 24) < 0.5
    per_query[..., 0] = True
    masks = [scores_bias, 2 * scores_bias, per_query]
    calls = []

    def core_attention(*args, **kwargs):
        calls.append(kwargs["mask"])
        return core_sdpa(*args, **kwargs)

    override = core_override("sdpa", "test-fallback")
    for mask in masks:
        out = override(core_attention, q, k, v, 2, mask=mask)
        assert torch.equal(out, core_sdpa(q, k, v, 2, mask=mask))
    assert len(calls) == 3
    seen = warnings_seen()
    assert len(seen) == 2  # one per kind of mask, not one per call
    assert seen[0].startswith("test-fallback: attention calls with a torch.float32 mask (added to the scores) "
                              "cannot use our backends, so they run on core's core_attention")
    assert "bool mask that is not one per key" in seen[1]


def test_override_takes_newer_cores_keywords_and_ignores_unknown_ones(warnings_seen):
    q, k, v = core_qkv(queries=24, keys=40)
    newer = dict(transformer_options={"patches": {}}, _inside_attn_wrapper=True, small_input=True,
                 low_precision_attention=False, enable_gqa=False, a_keyword_of_a_later_core=object())
    out = core_override("sdpa", "test-keywords")(must_not_be_called, q, k, v, heads=2, **newer)
    assert relative_l2(out, core_sdpa(q, k, v, 2)) <= 1e-6
    assert warnings_seen() == []


@pytest.mark.parametrize("backend, keywords, why", [
    ("sdpa", dict(enable_gqa=True), "grouped-query heads (enable_gqa"),
    ("triton-int8", dict(low_precision_attention=False), "low_precision_attention=False (the triton-int8 backend"),
])
def test_keywords_that_change_the_result_keep_core_attention(backend, keywords, why, warnings_seen):
    q, k, v = core_qkv(queries=24, keys=24)
    calls = []

    def core_attention(*args, **kwargs):
        calls.append(kwargs)
        return core_sdpa(*args, **kwargs)

    options = {"patches": {}}
    out = core_override(backend, "test-core-keywords")(core_attention, q, k, v, 2, transformer_options=options,
                                                        **keywords)
    assert torch.equal(out, core_sdpa(q, k, v, 2))
    (call,) = calls
    assert call["transformer_options"] is options and all(call[key] == value for key, value in keywords.items())
    (seen,) = warnings_seen()
    assert why in seen


# --- in the host: core's Wan, patched and not -----------------------------------------------------
SAMPLING = {"seed": 3, "steps": 3, "cfg": 4.0, "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0}


def core_wan_graph(backend="sdpa"):
    """Core's UNETLoader on the tiny Wan file sampled twice by core's KSampler: once through Patch
    Attention ("patched/...") and once as loaded ("core/..."), on the same conditioning and latent."""
    def sampler(model):
        return {"class_type": "KSampler", "inputs": {"model": model, "positive": ["4", 0], "negative": ["4", 1],
                                                     "latent_image": ["5", 0], **SAMPLING}}

    return {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": TINY_FILES["diffusion_models"],
                                                     "weight_dtype": "default"}},
        "2": {"class_type": "SpacetimeLoadTextEncoder",
              "inputs": {"text_encoder_name": TINY_FILES["text_encoders"], "dtype": "default"}},
        "3": {"class_type": "SpacetimePatchAttention", "inputs": {"model": ["1", 0], "backend": backend}},
        "4": {"class_type": "SpacetimeTextEncode", "inputs": {"text_encoder": ["2", 0],
                                                               "prompt": "a red fox runs across the snowy field",
                                                               "negative_prompt": "the old man at night"}},
        "5": {"class_type": "SpacetimeEmptyVideoLatent", "inputs": {"width": 64, "height": 48, "length": 9,
                                                                      "batch_size": 1}},
        "6": sampler(["3", 0]),
        "7": sampler(["1", 0]),
        "8": {"class_type": "SaveLatent", "inputs": {"samples": ["6", 0], "filename_prefix": "patch/patched"}},
        "9": {"class_type": "SaveLatent", "inputs": {"samples": ["7", 0], "filename_prefix": "patch/core"}},
    }


def patched_only(graph):
    """The graph without its unpatched branch, so that an error at the patch ends the whole prompt."""
    del graph["7"], graph["9"]
    return graph


def test_node_offers_every_backend(object_info):
    node = object_info["SpacetimePatchAttention"]
    assert node["category"] == "Spacetime" and node["display_name"] == "Patch Attention (Spacetime)"
    assert node["input_order"]["required"] == ["model", "backend"]
    kind, spec = node["input"]["required"]["backend"]
    assert kind == "COMBO" and spec["options"] == list(BACKEND_NAMES) and spec["default"] == "auto"
    assert node["output"] == ["MODEL"]


def test_patched_core_wan_matches_unpatched_and_logs_its_backend(host):
    result = host.run(core_wan_graph("sdpa"))
    assert result.status == "success", result.error
    files = {path.name.split("_")[0]: path for path in host.files_of(result)}
    patched, core = (load_file(str(files[name]))["latent_tensor"] for name in ("patched", "core"))
    assert patched.shape == core.shape == (1, 16, 3, 6, 8)
    assert patched.dtype == core.dtype == torch.float32
    assert relative_l2(patched, core) <= 1e-4
    # The one line `attention` logs per caller shows the patch ran inside core's model.
    log = host.log_path.read_text(errors="replace")
    assert "core-WanModel uses attention backend 'sdpa' (requested 'sdpa'" in log


def test_backend_that_cannot_run_here_fails_at_the_node_with_the_reason(host):
    # The host runs on CPU, where flash_attn never runs: not installed, or installed but CUDA-only.
    result = host.run(patched_only(core_wan_graph("flash_attn")))
    assert result.status == "error"
    error = result.error
    assert error["node_type"] == "SpacetimePatchAttention"
    assert error["exception_type"].endswith("BackendUnavailable")
    assert error["exception_message"].startswith("attention backend 'flash_attn' cannot run core-WanModel "
                                                 "(torch.float32, head_dim 128) on cpu: flash_attn ")


def test_unknown_backend_is_refused_with_the_choices(host):
    with pytest.raises(PromptRefused) as refused:
        host.run(patched_only(core_wan_graph("flash")))
    (error, *_) = refused.value.body["node_errors"]["3"]["errors"]
    assert error["type"] == "custom_validation_failed"
    assert f"backend 'flash' is not one of: {', '.join(BACKEND_NAMES)}" in error["details"]
