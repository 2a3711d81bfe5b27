"""Storyboard: prompts and keyframe images placed on a timeline, honoured per latent frame.

A storyboard is a list of cards, each starting at a frame with a prompt (and optionally a keyframe image
shown at that frame). Every latent frame attends to the prompt of its moment; around each card's start
the previous prompt gives way to the new one linearly over the card's transition. Before the first card
the sampler's own prompt applies. Keyframes are held as known frames: Wan's causal VAE holds whole latent
frames, so a keyframe fills the latent frame that contains its moment (four frames, or frame 0 alone).
Text form, one card a line: `TIME: prompt`, TIME as seconds (`2s`, `1.5s`), a clock time (`0:02`, `1:00.5`)
or a frame (`frame 12`, `12`).
"""
import math
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..video_shape import TIME_STRIDE
from .timeline import Timeline

TIME_UNITS = ("seconds", "frames")
MAX_FRAME = 10**7  # far past any clip a sampler can make
_CARD_LINE = re.compile(r"^\s*(?:(?P<frame_word>frame)\s*)?(?:(?P<minutes>\d+):(?P<clock_seconds>[0-5]\d(?:\.\d+)?)"
                        r"|(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>s|sec|f)?)\s*:(?P<prompt>.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Card:
    """frame: the output frame where the card starts; prompt: its text embedding [1, L, D];
    transition: frames over which the previous card gives way to this one, centred on `frame`;
    image: a keyframe [H, W, 3] shown at `frame`; label: how the card was written, for messages."""
    frame: int
    prompt: torch.Tensor
    transition: int = TIME_STRIDE
    image: torch.Tensor | None = None
    label: str = ""


@dataclass(frozen=True)
class Storyboard:
    cards: tuple[Card, ...] = ()

    def add(self, card: Card) -> "Storyboard":
        """This storyboard with `card` after its last one (cards must come in time order)."""
        if card.frame < 0:
            raise ValueError(f"card '{card.label}' starts before the clip (frame {card.frame}).")
        if card.transition < 0:
            raise ValueError(f"card '{card.label}': the transition is {card.transition} frames; use 0 or more.")
        if self.cards and card.frame <= self.cards[-1].frame:
            last = self.cards[-1]
            raise ValueError(f"card '{card.label}' (frame {card.frame}) is not after the card before it, "
                             f"'{last.label}' (frame {last.frame}): put the cards in time order.")
        if card.image is not None:
            clash = next((c for c in self.cards if c.image is not None and keyframe_group(c.frame) == keyframe_group(card.frame)), None)
            if clash is not None:
                raise ValueError(f"the keyframes of '{clash.label}' (frame {clash.frame}) and '{card.label}' (frame "
                                 f"{card.frame}) fall in one latent frame (4 frames): move one of them at least "
                                 f"{TIME_STRIDE} frames away.")
        return Storyboard((*self.cards, card))

    @property
    def keyframes(self) -> tuple[Card, ...]:
        return tuple(card for card in self.cards if card.image is not None)


def frame_at(time: float, unit: str, fps: float) -> int:
    """The output frame of `time` given in seconds (at `fps`) or frames."""
    if unit not in TIME_UNITS:
        raise ValueError(f"time unit '{unit}' is not one of: {', '.join(TIME_UNITS)}")
    if unit == "seconds" and not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps is {fps}: give the clip's frame rate (e.g. 16) to place times in seconds")
    frame = time * fps if unit == "seconds" else time
    if not frame <= MAX_FRAME:  # also infinity (a time of 400 digits) and NaN, which round() cannot take
        raise ValueError(f"a time of {time:g} {unit} is past the end of any clip (at most {MAX_FRAME:,} frames)")
    return round(frame)


def parse_storyboard(text: str, fps: float) -> list[tuple[int, str, str]]:
    """(frame, prompt, label) per card line of the text form; blank lines and lines starting with # skipped."""
    cards = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _CARD_LINE.match(line)
        if match is None:
            raise ValueError(f"storyboard line {number} ('{line.strip()}') is not 'TIME: prompt'; write e.g. "
                             "'0s: a red circle moves right' or 'frame 16: a blue circle moves right'.")
        prompt = match["prompt"].strip()
        if not prompt:
            raise ValueError(f"storyboard line {number} ('{line.strip()}') has no prompt after the time.")
        if match["unit"] is None and match["prompt"][:1].isdigit():  # '1:00 a blue…' would read as frame 1
            raise ValueError(f"storyboard line {number} ('{line.strip()}'): a clock time is minutes:seconds "
                             "followed by a colon, e.g. '1:00: a blue circle' (or write '60s: a blue circle').")
        if match["minutes"] is not None:
            time, in_seconds = 60 * int(match["minutes"]) + float(match["clock_seconds"]), True
        else:
            time, in_seconds = float(match["number"]), (match["unit"] or "").lower() in ("s", "sec")
            if not in_seconds and not match["number"].isdigit():
                raise ValueError(f"storyboard line {number}: frame {match['number']} is not a whole frame; "
                                 "write seconds with an 's' (e.g. '1.5s').")
        if in_seconds and match["frame_word"]:
            raise ValueError(f"storyboard line {number}: '{line.strip()}' says both 'frame' and seconds; pick one.")
        frame = frame_at(time, "seconds" if in_seconds else "frames", fps)
        cards.append((frame, prompt, f"line {number}: {line.strip()[:40]}"))
    if not cards:
        raise ValueError("the storyboard is empty: write one card a line, e.g. '0s: a red circle moves right'.")
    return cards


def latent_frame_times(latent_frames: int) -> torch.Tensor:
    """The output frame each latent frame stands for: 0 for the lone first frame, else the middle of its four."""
    index = torch.arange(latent_frames, dtype=torch.float32)
    return torch.where(index == 0, 0.0, TIME_STRIDE * index - (TIME_STRIDE - 1) / 2)


def storyboard_prompts(storyboard: Storyboard, base_prompt: torch.Tensor, latent_frames: int,
                       output_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The stacked prompts [K, L, D] and per latent frame the weights over them [T, K].

    The base prompt (the sampler's positive) covers the time before the first card; it is left out when
    the first card starts at frame 0.
    """
    if not storyboard.cards:
        raise ValueError("the storyboard has no cards.")
    late = next((card for card in storyboard.cards if card.frame >= output_frames), None)
    if late is not None:
        raise ValueError(f"card '{late.label}' starts at frame {late.frame}, past the clip's end (it has "
                         f"{output_frames} frames, 0 to {output_frames - 1}): make the clip longer or move the card.")
    cards = list(storyboard.cards)
    prompts = [card.prompt for card in cards] if cards[0].frame == 0 else [base_prompt, *(c.prompt for c in cards)]
    starts = [card for card in cards if card.frame > 0]
    first = len(prompts) - len(starts)  # index of the first card that starts after frame 0
    times = latent_frame_times(latent_frames)
    weights = F.one_hot(torch.zeros(latent_frames, dtype=torch.long), len(prompts)).float()
    for offset, card in enumerate(starts):
        if card.transition == 0:
            share = (times >= card.frame).float()
        else:
            share = ((times - (card.frame - card.transition / 2)) / card.transition).clamp(0, 1)
        weights = weights * (1 - share[:, None])
        weights[:, first + offset] += share
    return stack_prompts(prompts), weights


def stack_prompts(prompts: list[torch.Tensor]) -> torch.Tensor:
    """[K, L, D] from K embeddings [1, L_k, D]: shorter ones padded with zero rows, as Wan pads its context."""
    length = max(prompt.shape[1] for prompt in prompts)
    return torch.cat([F.pad(prompt.float(), (0, 0, 0, length - prompt.shape[1])) for prompt in prompts])


def keyframe_group(frame: int) -> range:
    """The output frames of the latent frame that holds `frame`: frame 0 alone, else a group of four."""
    if frame == 0:
        return range(0, 1)
    group = -(-frame // TIME_STRIDE)
    return range(TIME_STRIDE * group - TIME_STRIDE + 1, TIME_STRIDE * group + 1)


def keyframe_timeline(storyboard: Storyboard, length: int, height: int, width: int) -> Timeline:
    """A `length`-frame clip with each keyframe given over its latent frame's frames, the rest generated."""
    keyframes = storyboard.keyframes
    if not keyframes:
        raise ValueError("the storyboard has no keyframe images: connect an image to a card, or sample it without "
                         "this node.")
    frames = torch.zeros(length, height, width, 3)
    given = torch.zeros(length, dtype=torch.bool)
    for card in keyframes:
        if card.frame >= length:
            raise ValueError(f"the keyframe of '{card.label}' is at frame {card.frame}, past the clip's end "
                             f"({length} frames).")
        if tuple(card.image.shape) != (height, width, 3):
            raise ValueError(f"the keyframe of '{card.label}' is {card.image.shape[1]}×{card.image.shape[0]}, but "
                             f"the clip is {width}×{height}: resize the image or change the clip's size.")
        group = [f for f in keyframe_group(card.frame) if f < length]
        frames[group] = card.image.float().cpu()
        given[group] = True
    return Timeline(frames, given, (0, length), still_history=False)  # the cards' prompts are laid on its latent frames
