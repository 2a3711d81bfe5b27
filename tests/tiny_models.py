"""Tiny random checkpoints in the real Wan 2.1 key layouts, shared by unit and host tests."""
import io
import random
from functools import lru_cache

import torch

TINY_DIT = dict(dim=256, ffn_dim=512, num_layers=2, in_dim=16, out_dim=16, text_dim=4096, freq_dim=256)


def wan_t2v_shapes(dim, ffn_dim, num_layers, in_dim=16, out_dim=16, text_dim=4096, freq_dim=256):
    """Every key and shape of a Wan 2.1 T2V checkpoint, written from the table in wan21.md."""
    shapes = {
        "patch_embedding.weight": (dim, in_dim, 1, 2, 2), "patch_embedding.bias": (dim,),
        "text_embedding.0.weight": (dim, text_dim), "text_embedding.0.bias": (dim,),
        "text_embedding.2.weight": (dim, dim), "text_embedding.2.bias": (dim,),
        "time_embedding.0.weight": (dim, freq_dim), "time_embedding.0.bias": (dim,),
        "time_embedding.2.weight": (dim, dim), "time_embedding.2.bias": (dim,),
        "time_projection.1.weight": (6 * dim, dim), "time_projection.1.bias": (6 * dim,),
        "head.head.weight": (4 * out_dim, dim), "head.head.bias": (4 * out_dim,),
        "head.modulation": (1, 2, dim),
    }
    for i in range(num_layers):
        block = {"modulation": (1, 6, dim), "norm3.weight": (dim,), "norm3.bias": (dim,),
                 "ffn.0.weight": (ffn_dim, dim), "ffn.0.bias": (ffn_dim,),
                 "ffn.2.weight": (dim, ffn_dim), "ffn.2.bias": (dim,)}
        for attn in ("self_attn", "cross_attn"):
            for proj in "qkvo":
                block[f"{attn}.{proj}.weight"], block[f"{attn}.{proj}.bias"] = (dim, dim), (dim,)
            block[f"{attn}.norm_q.weight"] = block[f"{attn}.norm_k.weight"] = (dim,)
        shapes.update({f"blocks.{i}.{key}": shape for key, shape in block.items()})
    return shapes


def random_wan_state_dict(seed=0, **config):
    """A random T2V checkpoint in the real layout: small weights, norms near 1, nonzero modulation."""
    generator = torch.Generator().manual_seed(seed)
    sd = {}
    for key, shape in wan_t2v_shapes(**config).items():
        values = torch.randn(shape, generator=generator)
        if "norm" in key and key.endswith("weight"):
            sd[key] = 1 + 0.1 * values
        elif "modulation" in key:
            sd[key] = 0.2 * values
        elif key.endswith("bias"):
            sd[key] = 0.02 * values
        else:  # weights scaled so activations keep unit size through the layer
            sd[key] = values / torch.tensor(shape[1:]).prod().sqrt()
    return sd


def corpus(count=300):
    rng = random.Random(0)
    subjects = ["a red fox", "the old man", "two cats", "a small girl", "the robot", "a horse", "der Hund",
                "le chat"]
    verbs = ["runs across", "walks along", "jumps over", "looks at", "sleeps near", "plays with", "dances in"]
    places = ["the snowy field", "the quiet river", "a busy street", "the forest", "a ball", "the café",
              "東京の夜"]
    times = ["at dawn", "at night", "in the rain", "slowly", "with joy", "naïve façade", "✨", "au lait"]
    parts = (subjects, verbs, places, times)
    return [" ".join(rng.choice(words) for words in parts) for _ in range(count)]


@lru_cache(maxsize=1)
def spiece_model_bytes() -> bytes:
    """A tiny SentencePiece model with umT5's special ids (pad 0, EOS 1, unk 2, no BOS)."""
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_writer=model, model_type="unigram", vocab_size=300,
        hard_vocab_limit=False, character_coverage=1.0, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        num_threads=1, minloglevel=2,
    )
    return model.getvalue()


def spiece_tensor() -> torch.Tensor:
    return torch.frombuffer(bytearray(spiece_model_bytes()), dtype=torch.uint8)


def random_like(state_dict: dict, seed: int, scale: float = 0.1) -> dict:
    """Random weights with the keys and shapes of `state_dict`: norms near 1, the rest small."""
    generator = torch.Generator().manual_seed(seed)
    weights = {}
    for key, value in state_dict.items():
        noise = torch.randn(value.shape, generator=generator)
        is_norm = any(part in key for part in ("norm", "gamma")) and value.ndim <= 4 and "conv" not in key
        weights[key] = 1 + 0.1 * noise if is_norm else scale * noise
    return weights


def tiny_text_encoder_state_dict(d_model: int = 4096, seed: int = 0) -> dict:
    """A 2-layer umT5 in ComfyUI's layout, its width matching the DiT's text_dim, with `spiece_model`."""
    from spacetime.engine.models.text_encoder import UMT5Config, UMT5Encoder

    config = UMT5Config(vocab_size=320, d_model=d_model, num_heads=2, d_kv=16, d_ff=64, num_layers=2)
    with torch.device("meta"):
        shapes = UMT5Encoder(config).state_dict()
    return {**random_like(shapes, seed), "spiece_model": spiece_tensor()}


def tiny_vae_state_dict(dim: int = 8, seed: int = 0) -> dict:
    from spacetime.engine.models.vae import WanVAE

    with torch.device("meta"):
        shapes = WanVAE(dim=dim).state_dict()
    return random_like(shapes, seed)


TINY_FILES = {
    "diffusion_models": "tiny_wan_t2v.safetensors",
    "text_encoders": "tiny_umt5.safetensors",
    "vae": "tiny_wan_vae.safetensors",
}


def write_tiny_models(models_dir) -> dict:
    """Tiny DiT, text encoder and VAE files in ComfyUI's model folders under `models_dir`."""
    from pathlib import Path

    from safetensors.torch import save_file

    builders = {"diffusion_models": lambda: random_wan_state_dict(**TINY_DIT),
                "text_encoders": tiny_text_encoder_state_dict, "vae": tiny_vae_state_dict}
    paths = {}
    for folder, name in TINY_FILES.items():
        path = Path(models_dir) / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            save_file(builders[folder](), str(path))
        paths[folder] = path
    return paths
