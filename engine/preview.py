"""A cheap preview of a latent for progress display: no VAE, just a projection of its channels to RGB."""
import torch


def latent_preview(latent: torch.Tensor) -> torch.Tensor:
    """uint8 [H, W, 3] for the middle frame of a latent [B, C, T, H, W] (first sample).

    Projects the channels on their three main directions of variation in this frame (a per-image PCA),
    so shapes and motion are visible without knowing the VAE; colours are not the decoded colours.
    """
    frame = latent[0, :, latent.shape[2] // 2].float()
    channels, height, width = frame.shape
    pixels = frame.reshape(channels, -1).T
    pixels = pixels - pixels.mean(dim=0)
    _, _, directions = torch.linalg.svd(pixels, full_matrices=False)
    rgb = pixels @ directions[:3].T
    rgb = rgb / (rgb.abs().amax(dim=0) + 1e-6)
    return ((rgb * 0.5 + 0.5) * 255).clamp(0, 255).to(torch.uint8).reshape(height, width, 3)
