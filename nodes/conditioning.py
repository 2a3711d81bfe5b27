"""Reading a sampler's CONDITIONING and LATENT inputs, checked against the model (not a node file)."""
import torch


def conditioning_embedding(conditioning, name: str, text_dim: int | None, batch: int) -> torch.Tensor:
    """The text embedding [1 or B, L, D] inside a CONDITIONING, checked against the model (its width
    against text_dim, unless that is None: a storyboard card's is checked by the sampler)."""
    if not conditioning:
        raise ValueError(f"the {name} conditioning is empty: connect a text encode node")
    if len(conditioning) > 1:
        raise ValueError(f"the {name} conditioning holds {len(conditioning)} entries (from Conditioning Combine?); "
                         "this sampler takes one: use Conditioning Concat to join prompts instead")
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
