"""A latent format: the per-channel statistics that turn a raw VAE latent into what a DiT sees.

Wan 2.1's are fixed; a model trained on another VAE (the pack's shapes-world model) carries its own
in its DiT file's metadata (`latent_mean`, `latent_std`: JSON lists), which the DiT loader reads.
"""
import json
from dataclasses import dataclass

import torch

WAN21_MEAN = (-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
              0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921)
WAN21_STD = (2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
             3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160)


@dataclass(frozen=True)
class LatentFormat:
    mean: tuple[float, ...] = WAN21_MEAN
    std: tuple[float, ...] = WAN21_STD

    @classmethod
    def from_metadata(cls, metadata: dict | None) -> "LatentFormat":
        """The format a file's metadata names, else Wan 2.1's."""
        metadata = metadata or {}
        if "latent_mean" not in metadata and "latent_std" not in metadata:
            return cls()
        try:
            mean, std = json.loads(metadata["latent_mean"]), json.loads(metadata["latent_std"])
            mean, std = [float(v) for v in mean], [float(v) for v in std]
        except (KeyError, ValueError, TypeError) as error:
            raise ValueError("the file's metadata must hold both latent_mean and latent_std as JSON lists of 16 "
                             f"numbers: {error}") from None
        if len(mean) != len(WAN21_MEAN) or len(std) != len(WAN21_STD) or min(std) <= 0:
            raise ValueError("latent_mean and latent_std in the file's metadata must be 16 numbers each, std > 0")
        return cls(tuple(map(float, mean)), tuple(map(float, std)))

    def metadata(self) -> dict[str, str]:
        return {"latent_mean": json.dumps(list(self.mean)), "latent_std": json.dumps(list(self.std))}

    def _stats(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (1, len(self.mean), *([1] * (like.ndim - 2)))
        mean = torch.tensor(self.mean, dtype=like.dtype, device=like.device).view(shape)
        std = torch.tensor(self.std, dtype=like.dtype, device=like.device).view(shape)
        return mean, std

    def normalize(self, mu: torch.Tensor) -> torch.Tensor:
        """Raw VAE latent → what the DiT sees: (mu − mean) / std per channel."""
        mean, std = self._stats(mu)
        return (mu - mean) / std

    def denormalize(self, z: torch.Tensor) -> torch.Tensor:
        """DiT-space latent → raw VAE latent: z · std + mean per channel."""
        mean, std = self._stats(z)
        return z * std + mean


WAN21 = LatentFormat()
