"""umT5 text encoder and tokenizer: parity with the host's native implementation on a tiny model.

The host only auto-detects the full-size umT5, so the tests build ComfyUI's T5 class (and its umT5
CLIP wrapper) directly with a tiny config, load the same random weights into both implementations
and compare in float32. The tokenizer is a tiny SentencePiece model trained here with umT5's
special ids (pad 0, EOS 1, unk 2, no BOS), stored in the checkpoint as ComfyUI does.
"""
import logging

import pytest
import safetensors.torch
import torch
from conftest import import_host_comfy
from tiny_models import corpus, spiece_model_bytes

from spacetime.engine.models.text_encoder import (
    UMT5Config,
    UMT5Encoder,
    encode_text,
    relative_position_buckets,
)
from spacetime.engine.models.tokenizer import UMT5Tokenizer
from numerics import relative_l2

TINY = dict(d_model=64, num_heads=4, d_kv=8, d_ff=96, num_layers=2)  # inner dim 32 ≠ d_model on purpose
VOCAB = 320  # a little more than the tokenizer's pieces, like the real model's padded vocabulary

PROMPTS = [
    "a red fox runs across the snowy field at dawn",
    "the old man slowly walks his dog along the quiet river",
    "",
    "café au lait, naïve façade — 東京の夜 ✨",
    "two   cats\tplay   with a ball",
]


def _host():
    """The host's modules, imported on the CPU device (ComfyUI needs --cpu without CUDA)."""
    import_host_comfy()
    import comfy.ops
    import comfy.text_encoders.t5
    import comfy.text_encoders.wan

    return comfy


@pytest.fixture(scope="module")
def spiece_bytes():
    return spiece_model_bytes()


def _host_t5_config():
    """What the host reads from umt5_config_xxl.json, at the tiny sizes."""
    return {**TINY, "vocab_size": VOCAB, "model_type": "umt5", "is_gated_act": True,
            "dense_act_fn": "gelu_pytorch_tanh"}


def _random_weights(keys_and_shapes):
    generator = torch.Generator().manual_seed(0)
    weights = {}
    for key, shape in keys_and_shapes:
        if "relative_attention_bias" in key:
            scale = 2.0  # large enough that the position bias visibly shapes attention
        elif "layer_norm" in key:
            weights[key] = 1.0 + 0.1 * torch.randn(shape, generator=generator)
            continue
        else:
            scale = shape[-1] ** -0.5 if len(shape) == 2 and "shared" not in key else 1.0
        weights[key] = scale * torch.randn(shape, generator=generator)
    return weights


@pytest.fixture(scope="module")
def checkpoint(spiece_bytes, tmp_path_factory):
    """A tiny umT5 file in ComfyUI's layout: the host T5's own keys with random values + `spiece_model`."""
    comfy = _host()
    host = comfy.text_encoders.t5.T5(_host_t5_config(), torch.float32, "cpu", comfy.ops.manual_cast)
    weights = _random_weights((key, tuple(t.shape)) for key, t in host.state_dict().items())
    weights["spiece_model"] = torch.frombuffer(bytearray(spiece_bytes), dtype=torch.uint8)
    path = tmp_path_factory.mktemp("umt5") / "umt5_tiny.safetensors"
    safetensors.torch.save_file(weights, str(path))
    return safetensors.torch.load_file(str(path))


@pytest.fixture(scope="module")
def tokenizer(checkpoint):
    return UMT5Tokenizer.from_state_dict(checkpoint)


def _host_t5(checkpoint):
    comfy = _host()
    host = comfy.text_encoders.t5.T5(_host_t5_config(), torch.float32, "cpu", comfy.ops.manual_cast)
    host.load_state_dict({k: v for k, v in checkpoint.items() if k != "spiece_model"}, strict=True)
    return host.eval()


# --- relative position buckets ---------------------------------------------------------------------

def test_buckets_follow_t5_rules():
    buckets = relative_position_buckets(600)
    query = 300
    expect = {0: 0, -1: 1, -7: 7, -8: 8, -16: 10, -127: 15, -128: 15, -299: 15,
              1: 17, 7: 23, 8: 24, 127: 31, 299: 31}
    for offset, bucket in expect.items():
        assert buckets[query, query + offset] == bucket, offset


def test_buckets_match_host_exactly():
    comfy = _host()
    position = torch.arange(512)
    host = comfy.text_encoders.t5.T5Attention._relative_position_bucket(position[None, :] - position[:, None])
    assert torch.equal(relative_position_buckets(512), host)


# --- encoder -----------------------------------------------------------------------------------------

def test_config_is_read_from_the_weights(checkpoint):
    encoder = UMT5Encoder.from_state_dict(checkpoint)
    assert encoder.config == UMT5Config(vocab_size=VOCAB, **TINY)
    assert set(encoder.state_dict()) == set(checkpoint) - {"spiece_model"}


def test_hidden_states_match_host(checkpoint, tokenizer):
    tokens, mask = tokenizer.encode(PROMPTS)
    ours = UMT5Encoder.from_state_dict(checkpoint)(tokens, mask)
    with torch.no_grad():
        host, _ = _host_t5(checkpoint)(tokens, mask.long(), dtype=torch.float32)
    assert ours.shape == (len(PROMPTS), 512, TINY["d_model"]) and ours.dtype == torch.float32
    assert relative_l2(ours, host) <= 1e-5  # every row, padding rows included


def test_encode_text_matches_host_pipeline(checkpoint, tokenizer):
    """Tokenizer + encoder + zeroed padding against ComfyUI's umT5 CLIP model for Wan."""
    comfy = _host()
    options = {"model_name": "umt5xxl", "umt5xxl_model_config": _host_t5_config()}
    wan = comfy.text_encoders.wan
    host_model = wan.UMT5XXlModel(device="cpu", dtype=torch.float32, model_options=options)
    host_model.load_sd({k: v for k, v in checkpoint.items() if k != "spiece_model"})
    host_tokenizer = wan.UMT5XXlTokenizer(tokenizer_data={"spiece_model": checkpoint["spiece_model"]})
    encoder = UMT5Encoder.from_state_dict(checkpoint)
    for prompt in PROMPTS[:3]:
        with torch.no_grad():
            host, _ = host_model.encode_token_weights(host_tokenizer.tokenize_with_weights(prompt))
        ours = encode_text(encoder, tokenizer, [prompt])
        assert relative_l2(ours, host) <= 1e-5
        assert ours[0, len(tokenizer.token_ids(prompt)) + 1:].abs().max() == 0  # padding rows zeroed


@pytest.mark.parametrize("dtype, tolerance", [(torch.bfloat16, 3e-2), (torch.float16, 3e-3)])
def test_half_precision_stays_close(checkpoint, tokenizer, dtype, tolerance):
    tokens, mask = tokenizer.encode(PROMPTS[:2])
    reference = UMT5Encoder.from_state_dict(checkpoint)(tokens, mask)
    encoder = UMT5Encoder.from_state_dict(checkpoint, dtype=dtype)
    assert encoder.shared.weight.dtype == dtype
    assert relative_l2(encoder(tokens, mask), reference) <= tolerance


def test_float16_overflow_is_clamped_not_inf(checkpoint, tokenizer):
    """An FFN output beyond float16's range must not turn the hidden states into NaN."""
    key = "encoder.block.0.layer.1.DenseReluDense.wo.weight"
    loud = dict(checkpoint)
    loud[key] = checkpoint[key] * (6e4 / checkpoint[key].abs().max())  # weights finite, their sums not
    tokens, mask = tokenizer.encode(PROMPTS[:1])
    out = UMT5Encoder.from_state_dict(loud, dtype=torch.float16)(tokens, mask)
    assert torch.isfinite(out).all()


def test_wrong_files_are_explained(checkpoint):
    with pytest.raises(ValueError, match="not a umT5 text encoder"):
        UMT5Encoder.from_state_dict({"patch_embedding.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="1 unexpected"):
        UMT5Encoder.from_state_dict(dict(checkpoint, **{"model.extra.weight": torch.zeros(1)}))
    with pytest.raises(ValueError, match="float32, float16 or bfloat16"):
        UMT5Encoder.from_state_dict(checkpoint, dtype=torch.float8_e4m3fn)
    tokens = torch.full((1, 512), VOCAB)
    with pytest.raises(ValueError, match="outside the encoder's vocabulary"):
        UMT5Encoder.from_state_dict(checkpoint)(tokens, torch.ones(1, 512, dtype=torch.bool))


# --- tokenizer ---------------------------------------------------------------------------------------

def test_token_ids_match_host(checkpoint, tokenizer):
    comfy = _host()
    spiece = {"spiece_model": checkpoint["spiece_model"]}
    host = comfy.text_encoders.wan.UMT5XXlTokenizer(tokenizer_data=spiece)
    tokens, mask = tokenizer.encode(PROMPTS)
    for row, prompt in enumerate(PROMPTS):
        (host_row,) = host.tokenize_with_weights(prompt)
        assert tokens[row].tolist() == [token for token, _ in host_row], prompt
        assert mask[row].sum() == tokens[row].tolist().index(1) + 1  # text and its EOS


def test_empty_prompt_is_just_eos(tokenizer):
    tokens, mask = tokenizer.encode([""])
    assert tokens.shape == mask.shape == (1, 512)
    assert tokens.dtype == torch.long and mask.dtype == torch.bool
    assert tokens[0, 0] == 1 and tokens[0, 1:].eq(0).all()
    assert mask[0, 0] and not mask[0, 1:].any()


def test_long_prompt_is_cut_keeping_eos(tokenizer, caplog):
    prompt = " ".join(corpus(120))
    full = tokenizer.token_ids(prompt)
    assert len(full) > 511
    with caplog.at_level(logging.WARNING):
        tokens, mask = tokenizer.encode(["a horse", prompt])
    assert tokens[1, :511].tolist() == full[:511] and tokens[1, 511] == 1
    assert mask[1].all()
    assert f"Prompt 1 is {len(full)} tokens long" in caplog.text
    assert "Prompt 0" not in caplog.text


def test_unicode_round_trips_and_unknown_characters_are_unk(tokenizer):
    text = "le chat dances in 東京の夜, naïve façade ✨"  # "," never appeared in the training corpus
    assert tokenizer.processor.decode(tokenizer.token_ids(text)) == text.replace(",", " ⁇ ")
    assert 2 in tokenizer.token_ids("Ωmega")  # unknown → unk id 2, no error


def test_bad_tokenizer_inputs_are_explained(tokenizer):
    with pytest.raises(TypeError, match="list of prompts"):
        tokenizer.encode("a fox")
    with pytest.raises(ValueError, match="not a valid SentencePiece model"):
        UMT5Tokenizer.from_bytes(b"not a model")
    with pytest.raises(ValueError, match="no `spiece_model`"):
        UMT5Tokenizer.from_state_dict({"shared.weight": torch.zeros(1)})
