"""Reading users' model files: dtypes, prefixes, and a clear refusal for every wrong file (fp8: test_fp8_weights.py)."""
import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from spacetime.engine.models.checkpoint import (
    CheckpointError, classify, load_dit, load_text_encoder, load_vae, read_state_dict,
)
from spacetime.engine.models.text_encoder import UMT5Config, UMT5Encoder
from spacetime.engine.models.vae import WanVAE
from tiny_models import random_wan_state_dict, spiece_tensor

SMALL = dict(dim=256, ffn_dim=512, num_layers=1, text_dim=32)
BIG_WEIGHT = "blocks.0.ffn.0.weight"  # a large matrix: stored in the compute dtype
SENSITIVE = ("blocks.0.modulation", "head.head.weight", "time_projection.1.weight", "blocks.0.norm3.weight")


@pytest.fixture(scope="module")
def dit_sd():
    return random_wan_state_dict(**SMALL)


def save(tmp_path, sd, name="model.safetensors", metadata=None):
    path = tmp_path / name
    save_file(sd, str(path), metadata=metadata)
    return path


def refused(path, loader=load_dit, match=""):
    with pytest.raises(CheckpointError, match=match) as error:
        loader(path)
    return str(error.value)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_plain_dtypes_load_in_their_own_dtype(tmp_path, dit_sd, dtype):
    path = save(tmp_path, {key: value.to(dtype) for key, value in dit_sd.items()})
    model = load_dit(path)
    weights = model.state_dict()
    assert weights[BIG_WEIGHT].dtype == dtype
    assert all(weights[key].dtype == torch.float32 for key in SENSITIVE)
    for key in (BIG_WEIGHT, *SENSITIVE):
        assert torch.equal(weights[key].float(), dit_sd[key].to(dtype).float())
    assert not any(p.requires_grad for p in model.parameters())


def mapped_ranges(path):
    """Address ranges where this process maps `path` (Linux)."""
    ranges = []
    for line in open("/proc/self/maps"):
        fields = line.split()
        if len(fields) >= 6 and fields[5] == str(path):
            start, end = (int(address, 16) for address in fields[0].split("-"))
            ranges.append((start, end))
    return ranges


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux /proc")
def test_matching_dtype_is_not_copied(tmp_path, dit_sd):
    """bf16 weights loaded as bf16 stay in the memory-mapped file's pages: no copy in memory."""
    path = save(tmp_path, {key: value.to(torch.bfloat16) for key, value in dit_sd.items()})
    model = load_dit(path, dtype=torch.bfloat16)
    ranges = mapped_ranges(path)
    for key in ("blocks.0.ffn.0.weight", "blocks.0.self_attn.q.weight", "text_embedding.0.weight"):
        pointer = model.get_parameter(key).data_ptr()
        assert any(start <= pointer < end for start, end in ranges), key


@pytest.mark.parametrize("prefix", ["model.diffusion_model.", "diffusion_model."])
def test_requested_dtype_and_prefix(tmp_path, dit_sd, prefix):
    path = save(tmp_path, {f"{prefix}{key}": value for key, value in dit_sd.items()})
    sd, _ = read_state_dict(path)
    assert set(sd) == set(dit_sd)
    model = load_dit(path, dtype=torch.bfloat16)
    assert model.state_dict()[BIG_WEIGHT].dtype == torch.bfloat16


def test_num_heads_from_metadata(tmp_path, dit_sd):
    model = load_dit(save(tmp_path, dit_sd, metadata={"num_heads": "4"}))
    assert model.config.num_heads == 4 and model.config.head_dim == 64


def test_classify():
    dit = {"model.diffusion_model.head.modulation": 0, "model.diffusion_model.patch_embedding.weight": 0}
    assert classify(dit) == "dit"
    assert classify({"encoder.conv1.weight": 0, "decoder.conv1.weight": 0, "conv1.weight": 0,
                     "conv2.weight": 0}) == "vae"
    assert classify({"shared.weight": 0, "encoder.block.0.layer.0.SelfAttention.q.weight": 0}) == "text_encoder"
    assert classify({"diffusion_model.blocks.0.self_attn.q.lora_A.weight": 0}) == "lora"
    assert classify({"blocks.0.self_attn.q.lora_down.weight": 0, "blocks.0.self_attn.q.alpha": 0}) == "lora"
    assert classify({"weight": 0}) == "unknown"


# --- models loaded through the other engineers' classes ---------------------------------------------

def tiny_vae_sd():
    return {key: torch.randn(value.shape) * 0.1 for key, value in WanVAE(dim=8).state_dict().items()}


def tiny_text_encoder_sd():
    config = UMT5Config(vocab_size=64, d_model=32, num_heads=2, d_kv=16, d_ff=48, num_layers=2)
    sd = {key: torch.randn(value.shape) * 0.1 for key, value in UMT5Encoder(config).state_dict().items()}
    return {**sd, "spiece_model": spiece_tensor()}


def test_load_vae_and_text_encoder(tmp_path):
    vae = load_vae(save(tmp_path, tiny_vae_sd(), "vae.safetensors"), dtype=torch.float32)
    assert isinstance(vae, WanVAE)
    encoder, tokenizer = load_text_encoder(save(tmp_path, tiny_text_encoder_sd(), "te.safetensors"),
                                           dtype=torch.float32)
    assert isinstance(encoder, UMT5Encoder) and encoder.config.num_layers == 2
    assert tokenizer.encode(["a red fox"])[1].sum() > 1


# --- refusals -----------------------------------------------------------------------------------------

def test_wrong_kind_of_model_is_named(tmp_path, dit_sd):
    vae = save(tmp_path, tiny_vae_sd(), "wan_2.1_vae.safetensors")
    message = refused(vae, match="is a Wan 2.1 VAE, but a Wan 2.1 diffusion model")
    assert "models/vae" in message and "models/diffusion_models" in message
    text = save(tmp_path, tiny_text_encoder_sd(), "umt5.safetensors")
    refused(text, match="is a umT5 text encoder, but a Wan 2.1 diffusion model")
    dit = save(tmp_path, dit_sd, "dit.safetensors")
    refused(dit, load_vae, match=r"is a Wan 2.1 diffusion model \(DiT\), but a Wan 2.1 VAE was expected")
    refused(dit, load_text_encoder, match="but a umT5 text encoder was expected")
    other = save(tmp_path, {"weight": torch.zeros(2)}, "other.safetensors")
    refused(other, match="not a model file Spacetime recognises")


def test_lora_is_refused(tmp_path):
    lora = {"diffusion_model.blocks.0.self_attn.q.lora_A.weight": torch.zeros(4, 256),
            "diffusion_model.blocks.0.self_attn.q.lora_B.weight": torch.zeros(256, 4),
            "diffusion_model.blocks.0.self_attn.q.alpha": torch.tensor(4.0)}
    message = refused(save(tmp_path, lora, "style_lora.safetensors"), match="style_lora.safetensors is a LoRA")
    assert "models/loras" in message


def test_image_to_video_model_is_refused(tmp_path, dit_sd):
    path = save(tmp_path, {**dit_sd, "img_emb.proj.0.bias": torch.zeros(1280)})
    refused(path, match=r"image-to-video \(I2V\) model.*text-to-video \(T2V\)")


@pytest.mark.parametrize("in_dim, out_dim", [(36, 16), (48, 48)])
def test_a_dit_for_other_latents_is_refused_at_load(tmp_path, in_dim, out_dim):
    sd = random_wan_state_dict(**{**SMALL, "in_dim": in_dim, "out_dim": out_dim})
    refused(save(tmp_path, sd), match=f"takes {in_dim} latent channels and gives {out_dim}; Wan 2.1 text-to-video")


def test_integer_weights_are_named(tmp_path, dit_sd):
    sd = {**dit_sd, "blocks.0.ffn.0.weight": dit_sd["blocks.0.ffn.0.weight"].to(torch.int8)}
    refused(save(tmp_path, sd), match=r"stored as integers, not weights \['blocks.0.ffn.0.weight \(torch.int8\)'\]")


def test_a_gguf_file_is_named(tmp_path):
    path = tmp_path / "wan2.1-t2v-1.3b-Q8_0.gguf"
    path.write_bytes(b"GGUF" + bytes(64))
    refused(path, match="is a GGUF file .*use the same model as .safetensors")


def test_incomplete_dit_names_the_missing_weights(tmp_path, dit_sd):
    sd = {key: value for key, value in dit_sd.items() if key != "blocks.0.cross_attn.o.bias"}
    refused(save(tmp_path, sd), match=r"1 missing \['blocks.0.cross_attn.o.bias'\]")


@pytest.mark.parametrize("suffix", [".pt", ".ckpt", ".pth", ".bin"])
def test_pickle_refused_by_extension(tmp_path, suffix):
    path = tmp_path / f"wan{suffix}"
    path.write_bytes(b"never read")
    refused(path, match=f"pickle checkpoint \\(judged by its '\\{suffix}' extension\\)")


def test_pickle_refused_by_content(tmp_path):
    zipped = tmp_path / "renamed_zip.safetensors"
    torch.save({"weight": torch.zeros(2)}, zipped)  # torch's zip format
    refused(zipped, match="pickle checkpoint \\(judged by its first bytes")
    plain = tmp_path / "renamed_pickle.safetensors"
    plain.write_bytes(pickle.dumps({"weight": [0.0]}, protocol=4))
    message = refused(plain, match="pickle checkpoint")
    assert "only .safetensors" in message and "run any code" in message


def test_truncated_and_corrupt_files(tmp_path, dit_sd):
    whole = save(tmp_path, dit_sd, "whole.safetensors").read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(whole[: len(whole) // 2])
    refused(cut, match="is truncated: its tensors need .* bytes of data but only")
    header_only = tmp_path / "header_cut.safetensors"
    header_only.write_bytes(whole[:100])
    refused(header_only, match="header claims .* bytes but the file has 100 bytes")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes((20).to_bytes(8, "little") + b"{not json at all!!!}")
    refused(garbage, match="corrupt safetensors header")
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    refused(empty, match="only 0 bytes")


def test_missing_file_and_folder(tmp_path):
    refused(tmp_path / "nowhere.safetensors", match="nowhere.safetensors is missing. Expected a .safetensors")
    refused(tmp_path, match="is a folder, not a file")


def test_unsupported_compute_dtype(tmp_path, dit_sd):
    with pytest.raises(CheckpointError, match="choose torch.float32, torch.bfloat16 or torch.float16"):
        load_dit(save(tmp_path, dit_sd), dtype=torch.float8_e4m3fn)
