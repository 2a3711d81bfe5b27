"""The live preview: the shipped model's fitted latent→RGB map shows the decoded colours; sizes keep the aspect."""
import pathlib

import pytest
import torch

from spacetime.engine.models.checkpoint import load_vae, read_state_dict
from spacetime.engine.models.latent_format import WAN21, LatentFormat
from spacetime.engine.preview import (PreviewMap, channel_correlations, fit_preview_map, frames_on_latent_grid,
                                      latent_preview, latents_and_colours, load_preview_maps,
                                      map_entry_from_model_space, pca_rgb, preview_map_for, preview_size)
from spacetime.engine.shapes.dataset import ShapesClips

MODELS = pathlib.Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="module")
def heldout_pairs():
    """Raw latents and decoded colours of 4 shapes-world clips the map was not fitted on (another seed, the
    held-out split), 9 frames each to keep the VAE's work small."""
    vae = load_vae(MODELS / "vae" / "shapes_world_vae.safetensors", torch.float32)
    clips = ShapesClips(4, seed=99, split="heldout", frames=9)
    return latents_and_colours(vae, torch.stack([clips[i][0] for i in range(4)]))


def shipped_format() -> LatentFormat:
    return LatentFormat.from_metadata(read_state_dict(MODELS / "diffusion_models" / "shapes_world_t2v.safetensors")[1])


def test_the_shipped_model_has_a_map_in_the_file_wan21_has_none_there():
    assert preview_map_for(shipped_format()) is not None
    assert preview_map_for(WAN21) is None  # not in the file: the host's core brings it (or false colour)
    (wan,) = [entry for entry in load_preview_maps() if entry["name"] == "Wan 2.1"]
    assert wan["weights"] is None and "host" in wan["why"]


def test_a_model_space_map_gives_the_same_colours_from_the_raw_latent():
    factors, bias = torch.randn(16, 3) * 0.2, torch.tensor([-0.2, 0.1, 0.3])
    mean, std, scale = torch.randn(16), torch.rand(16) + 0.5, 0.7
    raw = torch.randn(16, 2, 5, 7) * 2
    model_space = (raw - mean.view(16, 1, 1, 1)) * scale / std.view(16, 1, 1, 1)
    expected = ((torch.einsum("c...,cr->r...", model_space, factors) + bias.view(3, 1, 1, 1) + 1) / 2).clamp(0, 1)
    entry = map_entry_from_model_space("test", factors, bias, mean, std, scale)
    assert preview_map_for(LatentFormat(tuple(mean.tolist()), tuple(std.tolist())), [entry]) is not None
    assert torch.allclose(PreviewMap(torch.tensor(entry["weights"]), torch.tensor(entry["bias"])).rgb(raw), expected,
                          atol=1e-5)


def test_preview_colours_correlate_with_the_decoded_frames(heldout_pairs):
    latents, colours = heldout_pairs
    fitted = channel_correlations(torch.stack([preview_map_for(shipped_format()).rgb(c) for c in latents]), colours)
    false_colour = channel_correlations(
        torch.stack([torch.stack([pca_rgb(c[:, t]) for t in range(c.shape[1])], dim=1) for c in latents]), colours)
    print(f"held-out per-channel correlation (R, G, B): fitted {fitted}, false colour {false_colour}")
    assert min(fitted) > 0.55
    assert min(fitted) > max(false_colour) + 0.3


def test_fit_recovers_a_linear_map():
    weights, bias = torch.randn(16, 3) * 0.1, torch.tensor([0.5, 0.4, 0.3])
    latents = torch.randn(2, 16, 3, 4, 4)
    targets = torch.einsum("nc...,cr->nr...", latents, weights) + bias.view(1, 3, 1, 1, 1)
    fitted = fit_preview_map(latents, targets)
    assert torch.allclose(fitted.weights, weights, atol=1e-5) and torch.allclose(fitted.bias, bias, atol=1e-5)


def test_frames_on_latent_grid_averages_each_latent_pixels_frames():
    video = torch.zeros(1, 3, 5, 16, 8)
    video[:, 0, 1:5, :8] = 1.0  # red in frames 1-4, top half
    grid = frames_on_latent_grid(video)
    assert grid.shape == (1, 3, 2, 2, 1)
    assert grid[0, 0, 0].flatten().tolist() == [0.5, 0.5] and grid[0, 0, 1].flatten().tolist() == [1.0, 0.5]


def test_latent_preview_is_on_the_latent_grid():
    latent = torch.randn(1, 16, 3, 6, 10)
    assert latent_preview(latent).shape == (6, 10, 3)
    assert latent_preview(latent, preview_map_for(shipped_format())).dtype == torch.uint8


@pytest.mark.parametrize("latent_hw, size", [((8, 8), (64, 64)), ((8, 12), (96, 64)), ((60, 104), (512, 295)),
                                             ((104, 60), (295, 512)), ((1, 1), (8, 8))])
def test_preview_size_is_the_clip_at_most_512_keeping_aspect(latent_hw, size):
    assert preview_size(*latent_hw) == size


@pytest.mark.parametrize("height, width", [(1, 1), (1, 2), (4, 4)])
def test_the_false_colour_preview_takes_nan_and_tiny_frames(height, width):
    frame = torch.randn(16, height, width)
    frame[0, 0, 0] = float("nan")
    rgb = pca_rgb(frame)
    assert rgb.shape == (3, height, width) and torch.isfinite(rgb).all()
