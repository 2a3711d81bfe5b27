"""The one shape every temporal edit takes: a clip of frames that are either given or to be generated.

Re-cut, image-to-video, Loop and Blend each say which output frames are given (source pixels, kept
pixel-identical) and which are new, and which stretch of them the model sees (the window). This module
compiles that into what the sampler needs (a raw latent with the known latent frames placed, and which
latent frames to hold) and, after decoding, assembles the output: given frames are spliced back as
they were, and generated frames are shifted in colour so that they meet the given ones without a step.

Wan's causal VAE shapes the compile. Latent frame 0 is pixel frame 0 alone; latent frame g covers pixel
frames 4g−3 … 4g. A latent frame can be held only when all its pixel frames are known, so the window is
padded at the front (`lead`, generated and dropped) to line known runs up with whole latent frames,
and at the end to whole latent frames (a known last frame is repeated there, so its latent frame can be
held); known pixels in a partly known latent frame are still spliced back. A known run that starts
after frame 0 is encoded after a still history of its first frame, whose latents are dropped, so its
latent frames are 4-frame ones with a history behind them, as they are inside a clip. A window that
begins with one given frame alone (image to video, or one kept frame) is preceded by a still history
too, held and dropped from the output, so that the first generated latent frame does not follow the
lone latent frame 0 (see `_still_history`).
"""
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..video_shape import LATENT_CHANNELS, SPACE_STRIDE, TIME_STRIDE, frame_count, latent_frames

# encode(frames [1 + 4k, H, W, 3] in 0..1) -> raw latent [1, 16, 1 + k, H/8, W/8]: the VAE, as the caller has it
Encode = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Timeline:
    """What an edit asks for, before compiling.

    frames: [N, H, W, 3] the output clip's given pixels (anything where generated); given: [N] bool.
    window: (start, stop) output frames the model sees; frames outside it must be given (passed through).
    after: given frames the model sees after the window that are not part of the output (a loop's start,
        seen again after its end); [M, H, W, 3] or None.
    sources: per output frame, the input frame it shows (counting through the edit's input clips one
        after another), −1 where generated; None when frames do not map one to one (its sound follows it).
    still_history: whether a window that begins with one given frame alone gets a still history in front
        (`_still_history`), one latent frame more than the output has; off where per-latent-frame data is
        laid on the output's own latent frames (a storyboard's prompts).
    """
    frames: torch.Tensor
    given: torch.Tensor
    window: tuple[int, int]
    after: torch.Tensor | None = None
    sources: torch.Tensor | None = None
    still_history: bool = True

    def __post_init__(self):
        start, stop = self.window
        if not 0 <= start < stop <= len(self.frames):
            raise ValueError(f"the window {self.window} is not inside the {len(self.frames)}-frame clip.")
        outside = torch.cat([self.given[:start], self.given[stop:]])
        if not bool(outside.all()):
            raise ValueError("every frame outside the model's window must be given.")
        if bool(self.given[start:stop].all()):
            raise ValueError("nothing to generate: every frame of the window is given.")


@dataclass(frozen=True)
class Edit:
    """A compiled timeline: what to sample (latent, keep) and how to assemble the output from the decode.

    Window slots are the pixel frames the model generates, 1 + 4·(T − 1) of them: `lead` padding slots,
    a still history (see `_still_history`), then the window's output frames, then `after`, then trailing
    padding.
    """
    latent: torch.Tensor  # raw [1, 16, T, h, w]; held latent frames placed, zeros (or `source`) elsewhere
    keep: torch.Tensor  # [T] 1 = held
    frames: torch.Tensor  # [N, H, W, 3] output's given pixels
    given: torch.Tensor  # [N] bool
    slot_pixels: torch.Tensor  # [S, H, W, 3] known pixels per slot
    slot_known: torch.Tensor  # [S] bool
    slot_output: torch.Tensor  # [S] long: the output frame a slot becomes, −1 for padding and `after`
    audio: dict | None = None  # core AUDIO for the output frames, when the inputs had sound

    @property
    def noise_mask(self) -> torch.Tensor:
        """Core's noise_mask for this edit's latent in its video layout [1, 1, T, h, w] (batch first, as core's
        batch nodes slice and repeat it; a mask with time first would be cut as a batch): 1 = generate."""
        t, h, w = self.latent.shape[2:]
        return (1.0 - self.keep).reshape(1, 1, t, 1, 1).expand(1, 1, t, h, w).contiguous()


def compile_timeline(timeline: Timeline, encode: Encode, source: torch.Tensor | None = None) -> Edit:
    """Lay the window out on latent frames, encode what is known in whole latent frames, mark it held.

    The lead (padding slots in front of the window) is the 0–3 that hold the most given frames.
    source: a raw latent for the whole slot range to start generated frames from (Blend's mix, whose
        window is the whole clip from its frame 0); with it there is no lead and no still history.
    """
    start, stop = timeline.window
    window_pixels = timeline.frames[start:stop]
    window_known = timeline.given[start:stop]
    after = timeline.after if timeline.after is not None else window_pixels[:0]
    history = window_pixels[:0]
    if timeline.still_history and source is None:
        history = _still_history(window_pixels, window_known)
    pixels = torch.cat([history, window_pixels, after])
    known = torch.cat([torch.ones(len(history), dtype=torch.bool), window_known,
                       torch.ones(len(after), dtype=torch.bool)])
    lead = 0 if source is not None else max(  # the most given frames held (repeats do not count), the shortest
        range(TIME_STRIDE), key=lambda pad: (_held_slots(_padded(known, pad))[pad:pad + len(known)].sum(), -pad))
    slot_known = _padded(known, lead)
    slots, used = len(slot_known), lead + len(pixels)
    slot_pixels = torch.zeros(slots, *pixels.shape[1:])
    slot_pixels[lead:used] = pixels
    slot_pixels[used:] = pixels[-1]  # the repeats _padded marks known after a known end
    slot_output = torch.full((slots,), -1, dtype=torch.long)
    first_output = lead + len(history)
    slot_output[first_output:first_output + stop - start] = torch.arange(start, stop)

    held = _held_slots(slot_known)
    group_held = _group_of_slots(held)
    height, width = pixels.shape[1:3]
    latent = source.clone() if source is not None else torch.zeros(
        1, LATENT_CHANNELS, latent_frames(slots), height // SPACE_STRIDE, width // SPACE_STRIDE)
    if latent.shape[2] != latent_frames(slots):
        raise ValueError(f"the source latent has {latent.shape[2]} latent frames; the edit needs {latent_frames(slots)}.")
    for first, last in _runs(group_held):
        latent[:, :, first:last + 1] = _encode_groups(encode, slot_pixels, first, last)
    if not bool(torch.isfinite(latent).all()):
        raise ValueError("encoding the given frames gave NaN or infinite values: the VAE overflowed (with fp16 "
                         "weights, load it as bf16 or fp32).")
    return Edit(latent, group_held.float(), timeline.frames, timeline.given, slot_pixels, slot_known, slot_output)


def finish(edit: Edit, decoded: torch.Tensor, anchor: bool = True) -> torch.Tensor:
    """The output clip from the decoded window [S, H, W, 3]: given frames as they were, generated frames
    colour-anchored to the given frames beside them (`anchor=False`: as decoded, for comparison)."""
    slots = len(edit.slot_known)
    if decoded.shape[0] != slots or decoded.shape[1:] != edit.slot_pixels.shape[1:]:
        batch = decoded.shape[0] // slots
        hint = (f"they are a batch of {batch} clips: pick one with core's Image From Batch (batch_index 0, 1, …; "
                f"length {slots}) before Finish Edit" if decoded.shape[1:] == edit.slot_pixels.shape[1:]
                and batch > 1 and decoded.shape[0] % slots == 0 else "decode the edit's own latent")
        raise ValueError(f"the decoded frames are {tuple(decoded.shape)}; this edit decodes to "
                         f"{tuple((slots, *edit.slot_pixels.shape[1:]))}: {hint}.")
    decoded = decoded.float().cpu()
    if not bool(torch.isfinite(decoded).all()):
        raise ValueError("the decoded frames hold NaN or infinite values: sampling or decoding failed (with fp16 "
                         "weights, try bf16 or fp32); nothing was finished.")
    anchored = anchor_colours(decoded, edit.slot_pixels, edit.slot_known) if anchor else decoded
    out = edit.frames.clone()
    emitted = edit.slot_output >= 0
    generated = emitted & ~edit.given[edit.slot_output.clamp(min=0)]
    out[edit.slot_output[generated]] = anchored[generated]
    return out


WARMUP_LATENT_FRAMES = 3  # still history the encoder sees before a known run that starts mid-clip
FEATHER = 4  # generated frames over which a seam's per-pixel decode error fades out


def anchor_colours(decoded: torch.Tensor, known_pixels: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Move each run of generated slots by the decode error on the known frames beside it.

    A known frame is spliced back as it was, but the VAE decoded it a little off (a grey level or two
    overall, more at edges and after a generated stretch: the VAE is causal), and the generated frames
    beside it carry the same error, so source and decode differ at the seam by more than the motion.
    Two corrections: the error's per-channel median over the frame (the background's, robust to an
    object the decode drew elsewhere), over the whole run and blended linearly between the errors at its
    two ends, keeps colour anchored to the given frames; the rest of the error, per pixel, is added in
    full to the frame next to the seam and faded out over FEATHER frames (the two sides' fades
    normalised where they overlap), so the seam steps by no more than the motion does. Where the decode
    drew the object elsewhere than the source, that part is a 4-frame blend towards the given frame and
    can show as a faint, fading ghost; clipping it (at 6 or 24 grey levels) removed the ghost but brought
    back the steps (loop and transition seams 100 → 50–58 %, bench/edit_seams.py).
    """
    out = decoded.clone()
    for first, last in _runs(~known):
        count = last - first + 1
        sides = [(first - 1, torch.arange(count)), (last + 1, torch.arange(count).flip(0))]
        errors = [known_pixels[slot] - decoded[slot] if 0 <= slot < len(known) and known[slot] else None
                  for slot, _ in sides]
        present = [e for e in errors if e is not None]
        if not present:
            continue
        means = [(e if e is not None else present[0]).flatten(0, 1).median(dim=0).values for e in errors]
        position = (torch.arange(count) + 1).float() / (count + 1)
        offset = means[0][None] * (1 - position[:, None]) + means[1][None] * position[:, None]
        detail, weight = torch.zeros(count, *decoded.shape[1:]), torch.zeros(count)
        for (_, distance), error, mean in zip(sides, errors, means):
            if error is not None:
                fade = (1 - distance.float() / FEATHER).clamp(min=0)
                detail += fade[:, None, None, None] * (error - mean)[None]
                weight += fade
        detail = detail / weight.clamp(min=1)[:, None, None, None]
        out[first:last + 1] = (decoded[first:last + 1] + offset[:, None, None, :] + detail).clamp(0, 1)
    return out


def _still_history(pixels: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """[TIME_STRIDE, H, W, 3] copies of the window's first frame when it is given and the next is not
    (else none): with it they make held latent frames 0 and 1 of a still image, and the generated frames
    begin at latent frame 2. Right after the lone latent frame 0 the causal decoder has not settled (a
    still clip's VAE round trip changes 1.5–2 grey levels from frame 0 to 1, 0.5 a few frames on; the
    model's frame 1 jumped by up to 4.5), so image-to-video seams there passed 80 %; with the history
    100 % (bench/edit_seams.py, 20 cases; 99 % of 120 in a probe, bench/RESULTS.md)."""
    if bool(known[0]) and not bool(known[1]):
        return pixels[:1].expand(TIME_STRIDE, *pixels.shape[1:])
    return pixels[:0]


def _padded(known: torch.Tensor, lead: int) -> torch.Tensor:
    """`lead` unknown slots in front and enough at the end for 1 + 4k slots."""
    used = lead + len(known)
    padded = torch.zeros(used + (1 - used) % TIME_STRIDE, dtype=torch.bool)
    padded[lead:used] = known
    if known[-1]:  # a known run at the very end: its last frame repeated fills its latent frame, to be held
        padded[used:] = True
    return padded


def _held_slots(known: torch.Tensor) -> torch.Tensor:
    """Slots in latent frames whose pixel frames are all known."""
    groups = _group_of_slots(known)
    return torch.cat([groups[:1], groups[1:].repeat_interleave(TIME_STRIDE)])


def _group_of_slots(known: torch.Tensor) -> torch.Tensor:
    """Per latent frame: are all its slots known? known has 1 + 4k slots."""
    return torch.cat([known[:1], known[1:].reshape(-1, TIME_STRIDE).all(dim=1)])


def _runs(flags: torch.Tensor) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    runs, start = [], None
    for i, flag in enumerate(flags.tolist() + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i - 1))
            start = None
    return runs


def _encode_groups(encode: Encode, slot_pixels: torch.Tensor, first: int, last: int) -> torch.Tensor:
    """Latent frames first..last from their pixels. A run after frame 0 is encoded after a still history
    of its first frame (the lone frame and WARMUP_LATENT_FRAMES more), whose latents are dropped: with the
    lone frame alone in front, the encoder's long causal memory gives latents the decoder cannot continue
    from a generated stretch (measured: 56–62 grey levels off on gray backgrounds, 2–5 with this)."""
    if first == 0:
        return encode(slot_pixels[:frame_count(last + 1)])
    pixels = slot_pixels[frame_count(first):frame_count(last + 1)]
    history = pixels[:1].expand(frame_count(1 + WARMUP_LATENT_FRAMES), *pixels.shape[1:])
    return encode(torch.cat([history, pixels]))[:, :, 1 + WARMUP_LATENT_FRAMES:]
