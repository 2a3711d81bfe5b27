"""Windows: a plan longer than the model's comfortable length, sampled as overlapping windows.

Fused: at every model call each window of latent frames is run on its own (its own timestep and prompt
weights, positions from 0 as in training) and the velocities are averaged where windows overlap,
weighted by a ramp that falls towards each window's ends, so neighbouring windows agree at every step
instead of being cut apart afterwards (the idea of core's context windows, written here for our velocity
layer). With `wrap`, time is circular: windows run on past the last frame into the first.
Chained: the windows are sampled one after another, each holding the frames it shares with the one
before as known frames (as Re-cut extends a clip), so what the first window settled — the object's
colour and shape — is what the next one continues (the idea of LTX's looping sampler).
"""
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class FramePrompts:
    """K prompt embeddings [K, L, D] and per latent frame the weights over them [T, K]."""
    embeddings: torch.Tensor
    weights: torch.Tensor

    def for_frames(self, index: torch.Tensor) -> "FramePrompts":
        return FramePrompts(self.embeddings, self.weights[index])


@dataclass(frozen=True)
class Windows:
    """The latent frame indices of each window, and over how many frames their fusing weights ramp."""
    frames: list[torch.Tensor]
    overlap: int


def window_frames(frames: int, window: int, overlap: int, wrap: bool = False) -> Windows:
    """Windows of `window` latent frames covering all `frames`.

    Without wrap: from the first frame to the last, spread evenly so that neighbours share at least
    `overlap` frames. With wrap: at a stride of window − overlap around the circle; a window as long as
    the clip is run twice, the second rolled by half, so the last→first seam lies inside a window (and
    each frame's weight ramps over half the clip).
    """
    if not 0 <= overlap < window:
        raise ValueError(f"the window overlap ({overlap} latent frames) must be at least 0 and less than the "
                         f"window ({window}).")
    window = min(window, frames)
    if wrap:
        if window == frames:
            return Windows([torch.arange(frames), torch.arange(frames).roll(-(frames // 2))], frames // 2)
        stride = window - overlap
        count = -(-frames // stride)
        return Windows([(start + torch.arange(window)) % frames for start in range(0, count * stride, stride)],
                       overlap)
    count = 1 + -(-(frames - window) // (window - overlap))
    starts = torch.linspace(0, frames - window, count).round().long() if count > 1 else torch.zeros(1).long()
    return Windows([start + torch.arange(window) for start in starts.tolist()], overlap)


def ramp(length: int, overlap: int) -> torch.Tensor:
    """A window's fusing weight per frame: rising over the first overlap + 1 frames, falling over the last."""
    position = torch.arange(length, dtype=torch.float32)
    return torch.minimum(position + 1, length - position).clamp(max=overlap + 1)


def windowed(velocity, windows: Windows):
    """Wrap velocity(x, t, context) so it runs per window and fuses the results.

    t is [B] or per frame [B, T]; a FramePrompts context is cut to each window's frames.
    """
    def fused(x, t, context):
        total = torch.zeros_like(x, dtype=torch.float32)
        weight_sum = torch.zeros(x.shape[2], device=x.device)
        for index in windows.frames:
            index = index.to(x.device)
            t_window = t[:, index] if t.ndim == 2 else t
            context_window = context.for_frames(index) if isinstance(context, FramePrompts) else context
            weight = ramp(len(index), windows.overlap).to(x.device)
            v = velocity(x[:, :, index], t_window, context_window).float()
            total.index_add_(2, index, v * weight.reshape(1, 1, -1, 1, 1))
            weight_sum.index_add_(0, index, weight)
        return (total / weight_sum.reshape(1, 1, -1, 1, 1)).to(x.dtype)

    return fused


def sample_in_turn(run_window, windows: Windows, latent: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Chained windows: `run_window(k, index, latent, keep)` samples window k's frames `index` from their
    latent with `keep` [len(index)] marking frames to hold, and returns them; frames an earlier window
    made are held. Returns the whole latent."""
    out = latent.clone()
    made = torch.zeros(latent.shape[2], dtype=torch.bool)
    held = torch.zeros(latent.shape[2]) if keep is None else keep.float().cpu()
    for k, index in enumerate(windows.frames):
        window_keep = torch.where(made[index], 1.0, held[index])
        out[:, :, index.to(out.device)] = run_window(k, index, out[:, :, index.to(out.device)], window_keep)
        made[index] = True
    return out
