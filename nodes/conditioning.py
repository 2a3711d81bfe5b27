"""Reading a sampler's CONDITIONING and LATENT inputs, checked against the model (not a node file)."""
import torch


# What core's conditioning nodes can set that these samplers do not do: a setting at its neutral value, or
# a key that is present at all, would otherwise be dropped without a word.
NEUTRAL_SETTINGS = {"start_percent": 0.0, "end_percent": 1.0, "strength": 1.0}
UNHONOURED_KEYS = ("area", "mask", "concat_latent_image", "concat_mask", "clip_vision_output", "control", "gligen",
                   "hooks", "reference_latents")


def unhonoured_settings(options: dict) -> list[str]:
    """The settings in a conditioning entry's options that the samplers here would ignore."""
    found = [f"{key} {options[key]}" for key, neutral in NEUTRAL_SETTINGS.items() if options.get(key, neutral) != neutral]
    return found + [key for key in UNHONOURED_KEYS if options.get(key) is not None]


def conditioning_embedding(conditioning, name: str, text_dim: int | None, batch: int) -> torch.Tensor:
    """The text embedding [1 or B, L, D] inside a CONDITIONING, checked against the model (its width
    against text_dim, unless that is None: a storyboard card's is checked by the sampler)."""
    if not conditioning:
        raise ValueError(f"the {name} conditioning is empty: connect a text encode node")
    if len(conditioning) > 1:
        timed = any("start_percent" in entry[1] or "end_percent" in entry[1] for entry in conditioning)
        join = ("for prompts that change over the clip, use a Storyboard (Spacetime)" if timed else
                "use Conditioning Concat to join prompts instead")
        raise ValueError(f"the {name} conditioning holds {len(conditioning)} entries (from Conditioning Combine?); "
                         f"this sampler takes one: {join}")
    unhonoured = unhonoured_settings(conditioning[0][1])
    if unhonoured:
        raise ValueError(f"the {name} conditioning sets {', '.join(unhonoured)} (a core node such as Conditioning "
                         "Set Timestep Range, Set Area or Set Mask, or an image-to-video node), which this sampler "
                         "does not do: remove that node, use a Storyboard for prompts over time or Image to Video "
                         "(Spacetime) for a start image, or sample with core's KSampler.")
    embedding = conditioning[0][0]
    if embedding.ndim != 3 or embedding.shape[-1] != (text_dim or embedding.shape[-1]):
        raise ValueError(f"the {name} conditioning has shape {tuple(embedding.shape)}, but this model expects "
                         f"text embeddings [1, tokens, {text_dim or 'width'}] from a umT5 text encoder")
    if embedding.shape[0] not in (1, batch):
        raise ValueError(f"the {name} conditioning holds {embedding.shape[0]} prompts but the latent batch is "
                         f"{batch}: give one prompt, or one per latent in the batch")
    return embedding


def checked_latent(latent: dict, in_channels: int) -> torch.Tensor:
    samples = latent["samples"]
    if samples.ndim != 5:
        raise ValueError(f"the latent has shape {tuple(samples.shape)}, not a video latent [B, C, T, H, W]: "
                         "use a video latent node (e.g. Empty Video Latent)")
    if samples.shape[1] != in_channels:
        raise ValueError(f"the latent has {samples.shape[1]} channels but the DiT takes {in_channels}: the VAE "
                         "that made it does not belong to this model (Wan 2.1 uses 16 latent channels)")
    return samples


def check_storyboard(storyboard, text_dim: int) -> None:
    """Each card's prompt must be text embeddings this model reads."""
    for card in storyboard.cards:
        if card.prompt.shape[-1] != text_dim:
            raise ValueError(f"the prompt of storyboard card '{card.label}' is {card.prompt.shape[-1]} wide, but this "
                             f"model reads text embeddings {text_dim} wide: encode it with this model's umT5")
