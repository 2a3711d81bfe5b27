"""Training clips rendered on the fly, seeded per index: ShapesClips (clip, caption), the first
generation's; SceneClips (clip, segments), the second's."""
import torch
from torch.utils.data import Dataset

from .captions import caption
from .changes import MIN_FRAMES, Segments, render_segments, sample_change
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


class SceneClips(Dataset):
    """Second-generation training clips (train split only): (clip [3, F, H, W] in -1..1, segments).

    Segments are ((spec, first frame), ...): one segment, or with `change_prob` two, where an object
    changes colour, shape or (the only object) motion part-way (`changes`). No caption: training words each clip anew every time
    it is drawn (`wording`), so no wording is tied to one clip. Item i depends only on (seed, i).
    """

    def __init__(self, length: int, seed: int = 0, frames: int = 17, size: int = 64,
                 second_object_prob: float = 0.35, change_prob: float = 0.0):
        if change_prob > 0 and frames < MIN_FRAMES:  # said now, not at the first clip that draws a change
            raise ValueError(f"clips that change part-way need at least {MIN_FRAMES} frames; got {frames} frames "
                             f"with change_prob {change_prob}")
        self.length, self.seed, self.frames, self.size = length, seed, frames, size
        self.second_object_prob, self.change_prob = second_object_prob, change_prob

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Segments]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} clips")
        rng = spec_rng(self.seed, index)
        spec = sample_spec(rng, "train", self.second_object_prob)
        segments = ((spec, 0),)
        if rng.random() < self.change_prob:
            segments = sample_change(rng, spec, self.frames, self.size)
        clip = render_segments(segments, self.frames, self.size).permute(3, 0, 1, 2) * 2 - 1
        return clip, segments
