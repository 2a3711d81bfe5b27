"""Latent formats: Wan 2.1's statistics, or a model's own from its file's metadata."""
import json

import pytest
import torch

from spacetime.engine.models.latent_format import WAN21, WAN21_MEAN, WAN21_STD, LatentFormat


def test_wan21_normalisation_round_trip():
    mu = torch.randn(1, 16, 2, 3, 4)
    z = WAN21.normalize(mu)
    assert torch.allclose(z[0, 2, 0, 0, 0], (mu[0, 2, 0, 0, 0] - WAN21_MEAN[2]) / WAN21_STD[2])
    assert torch.allclose(WAN21.denormalize(z), mu, atol=1e-6)


def test_metadata_round_trip_and_default():
    own = LatentFormat(tuple(float(i) for i in range(16)), tuple(1.0 + i for i in range(16)))
    assert LatentFormat.from_metadata(own.metadata()) == own
    assert LatentFormat.from_metadata({"num_heads": "2"}) == WAN21


@pytest.mark.parametrize("metadata", [
    {"latent_mean": json.dumps([0.0] * 16)},
    {"latent_mean": json.dumps([0.0] * 15), "latent_std": json.dumps([1.0] * 15)},
    {"latent_mean": json.dumps([0.0] * 16), "latent_std": json.dumps([0.0] * 16)},
    {"latent_mean": "not json", "latent_std": "[]"},
])
def test_bad_metadata_is_explained(metadata):
    with pytest.raises(ValueError, match="latent_mean and latent_std"):
        LatentFormat.from_metadata(metadata)
