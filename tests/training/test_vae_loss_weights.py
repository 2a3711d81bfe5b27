"""The VAE trainer's loss weights: background 1, on and near objects more, and with an edge weight their
outlines more again (a blurred outline is what turns a decoded diamond into a circle)."""
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "training"))
from train_vae import OBJECT_WEIGHT, object_weights  # noqa: E402


def square_clip():
    """[1, 3, 1, 32, 32] a grey frame in −1..1 with a white 10×10 square at rows and columns 11..20."""
    clip = torch.zeros(1, 3, 1, 32, 32)
    clip[..., 11:21, 11:21] = 1.0
    return clip


def test_without_an_edge_weight_objects_and_their_surroundings_weigh_more():
    weights = object_weights(square_clip())[0, 0, 0]
    assert weights[0, 0] == 1 and weights[15, 15] == 1 + OBJECT_WEIGHT and weights[9, 15] == 1 + OBJECT_WEIGHT
    assert weights[8, 15] == 1  # 3 px outside the square


def test_the_edge_weight_goes_on_the_outline_only():
    plain, edged = object_weights(square_clip())[0, 0, 0], object_weights(square_clip(), 8.0)[0, 0, 0]
    outline = (edged - plain) == 8.0
    assert outline[10, 15] and outline[11, 15] and outline[20, 20] and outline[21, 21]  # either side of the edge
    assert not outline[15, 15] and not outline[9, 15] and not outline[0, 0]  # inside, beyond, far away
    assert torch.equal(outline, (edged - plain) != 0)
