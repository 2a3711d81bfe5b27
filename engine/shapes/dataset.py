"""Training clips rendered on the fly: (clip [3, F, H, W] in -1..1, caption), seeded per index."""
import torch
from torch.utils.data import Dataset

from .captions import caption
from .render import render_clip
from .world import ClipSpec, sample_spec, spec_rng


class ShapesClips(Dataset):
    """`length` clips of one split. Item i depends only on (seed, i): the same in any worker, any order.

    Item i shows `sample_specs(length, seed, split, second_object_prob)[i]`. With `paraphrase` the
    caption is drawn from the grammar (same draw for the same item); without, it is canonical.
    """

    def __init__(self, length: int, seed: int = 0, split: str = "train", frames: int = 17, size: int = 64,
                 second_object_prob: float = 0.2, paraphrase: bool = True):
        self.length, self.seed, self.split = length, seed, split
        self.frames, self.size = frames, size
        self.second_object_prob, self.paraphrase = second_object_prob, paraphrase

    def __len__(self) -> int:
        return self.length

    def spec(self, index: int) -> ClipSpec:
        return sample_spec(spec_rng(self.seed, index), self.split, self.second_object_prob)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} clips")
        rng = spec_rng(self.seed, index)
        spec = sample_spec(rng, self.split, self.second_object_prob)
        clip = render_clip(spec, self.frames, self.size).permute(3, 0, 1, 2) * 2 - 1
        return clip, caption(spec, rng if self.paraphrase else None)
