"""Write IMAGE frames to mp4 / webm / webp / gif, never overwriting a file.

Which formats carry metadata, and how (every key/value round-trips through `reader.read_metadata`):
- mp4:  container tags (the muxer runs with movflags=use_metadata_tags, else it drops unknown keys).
- webm: Matroska tags (stored upper-case; the reader gives them back lower-case).
- webp: an EXIF chunk, one "key:value" text entry per key (at most 16 keys).
- gif:  one Comment Extension per key, "key:value".
"""
import itertools
import os
import re
from collections.abc import Iterable, Iterator
from fractions import Fraction

import av
import numpy as np
import torch

from ..finite import check_finite
from ..part_files import link_new, new_part, remove_stale_parts
from . import gif, webp
from .audio import CODECS as AUDIO_CODECS, AudioEncoder, check_audio
from .formats import FORMATS, FrameEncoder, muxer_options
from .metadata import check_metadata
from .output_files import name_problem

_COUNTER = re.compile(r"_(\d{5,})$")


class VideoWriteError(RuntimeError):
    """The encoder refused the frames; the message says which format and what FFmpeg reported."""


def next_free_path(folder: str, prefix: str, ext: str) -> str:
    """folder/prefix_NNNNN.ext, one past the highest counter already there in any format (ComfyUI's scheme).

    Counting on from the highest rather than filling gaps keeps name order equal to save order; counting
    every extension gives each save a stem of its own, so a webm's sidecar NAME.c2pa (or a stale one) is
    never beside an mp4 of the same name. This only proposes a name: `write_video` claims it atomically and
    moves on if it was taken.
    """
    if os.sep in prefix or "/" in prefix:
        raise ValueError(f"file name prefix {prefix!r} contains a folder separator: pass the folder separately")
    pattern = re.compile(re.escape(prefix) + r"_(\d{5,})\.")
    highest = 0
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            match = pattern.match(name)
            if match:
                highest = max(highest, int(match.group(1)))
    return os.path.join(folder, f"{prefix}_{highest + 1:05d}.{ext}")


def write_video(frames: torch.Tensor | Iterable[torch.Tensor], path: str, fps: float, format: str,
                quality: float = 80, metadata: dict[str, str] | None = None, audio: dict | None = None,
                sign=None) -> str:
    """Encode frames to `path` and return the path actually written.

    frames: IMAGE [N, H, W, 3] float 0..1, or an iterable of such chunks (all the same H and W), so a
    long clip can be streamed. The file is encoded under a hidden temporary name in the same folder
    and only then given its name; if `path` exists by then (or appears meanwhile), the next free
    counter name for its prefix is used instead (clip.mp4 -> clip_00001.mp4). On any failure the
    temporary file is removed and nothing else is touched.
    audio: core AUDIO muxed beside the frames (AAC in mp4, Opus in webm), cut to the video's length.
    sign(temp_path, format): called on the finished file before it gets its name, so that a file
    signed in place (C2PA) only ever appears whole.
    """
    fmt = FORMATS.get(format)
    if fmt is None:
        raise ValueError(f"unknown video format {format!r}: choose one of {', '.join(FORMATS)}")
    if not path.lower().endswith("." + fmt.name):
        raise ValueError(f"path {path!r} should end in .{fmt.name} for format {fmt.name!r}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if fps > fmt.max_fps:
        raise ValueError(f"{fmt.name} plays at most {fmt.max_fps:g} fps (its frame delays are too coarse for "
                         f"{fps:g}): save at {fmt.max_fps:g} fps or less, or as mp4, webm or webp")
    if not 0 <= quality <= 100:
        raise ValueError(f"quality must be between 0 and 100, got {quality}")
    metadata = check_metadata(metadata)
    if audio is not None and fmt.name not in AUDIO_CODECS:
        raise ValueError(f"{fmt.name} has no audio track: save as {' or '.join(AUDIO_CODECS)} to keep the sound")
    sound = check_audio(audio) if audio is not None else None
    if sound is not None and sound[0].shape[1] == 0:
        sound = None  # an AUDIO of no samples (e.g. core's Empty Audio of 0 s) is no sound, not a broken track

    problem = name_problem(os.path.basename(path))
    if problem:
        raise ValueError(problem)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    remove_stale_parts(folder)
    temp = new_part(folder)
    try:
        _encode(_rgb_frames(frames, fmt), temp, fmt, frame_rate(fps), quality, metadata, sound)
        if sign is not None:
            sign(temp, fmt.name)
        return _claim(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def frame_rate(fps: float) -> Fraction:
    # 1001 keeps NTSC rates exact (23.976... -> 24000/1001) while whole rates stay whole.
    return Fraction(fps).limit_denominator(1001)


def _encode(frames, temp: str, fmt, fps: Fraction, quality: float, metadata: dict[str, str], sound=None) -> None:
    first = next(frames, None)
    if first is None:
        raise ValueError("no frames to write: the clip is empty")
    height, width = first.shape[:2]
    try:
        with av.open(temp, "w", format=fmt.muxer, options=muxer_options(fmt)) as container:
            if fmt.carries_container_tags:
                container.metadata.update(metadata)
            encoder = FrameEncoder(container, fmt, width, height, fps, quality)
            audio = AudioEncoder(container, fmt.name, *sound) if sound else None
            for rgb in itertools.chain([first], frames):
                container.mux(encoder.encode(rgb))
            container.mux(encoder.flush())
            if audio:
                container.mux(audio.packets(encoder.count / fps))
    except av.FFmpegError as e:
        raise VideoWriteError(f"could not encode the {fmt.name} video ({fmt.codec}): {e}") from e
    if fmt.name == "webp":
        webp.as_animation(temp, encoder.count, fps)
        webp.add_metadata(temp, metadata)
    elif fmt.name == "gif":
        gif.add_metadata(temp, metadata)


def _rgb_frames(frames, fmt) -> Iterator[np.ndarray]:
    """Yield RGB uint8 [H, W, 3] arrays one at a time, checking every chunk's shape on the way."""
    chunks = [frames] if isinstance(frames, torch.Tensor) else frames
    size = None
    for chunk in chunks:
        if not isinstance(chunk, torch.Tensor) or chunk.ndim != 4 or chunk.shape[-1] != 3:
            shape = tuple(chunk.shape) if isinstance(chunk, torch.Tensor) else type(chunk).__name__
            raise ValueError(f"frames must be IMAGE tensors [N, H, W, 3]; got {shape}")
        if size is None:
            size = _check_size(chunk.shape[1], chunk.shape[2], fmt)
        elif tuple(chunk.shape[1:3]) != size:
            raise ValueError(f"all frames must be the same size: got {chunk.shape[2]}x{chunk.shape[1]} "
                             f"after {size[1]}x{size[0]}")
        # Clamped to 0..1 a NaN is black: refuse it rather than save a black video as a success.
        check_finite(chunk, "the frame batch to save", "The node that made these frames produced them (a decoder "
                     "in float16, a broken image operation): fix that node's inputs or settings.")
        for frame in chunk:
            yield frame.detach().mul(255).round_().clamp_(0, 255).to(torch.uint8).cpu().numpy()


def _check_size(height: int, width: int, fmt) -> tuple[int, int]:
    if fmt.even_size and (width % 2 or height % 2):
        even = f"{width - width % 2}x{height - height % 2}"
        raise ValueError(
            f"{fmt.name} stores colour at half resolution, so width and height must be even; got "
            f"{width}x{height}. Crop or resize to {even}, or save as webp or gif, which take any size."
        )
    if max(width, height) > fmt.max_size:
        raise ValueError(f"{fmt.name} can store at most {fmt.max_size} pixels a side; got {width}x{height}")
    return height, width


def _claim(temp: str, path: str) -> str:
    """Give the finished temp file its final name, or the next free counter name when that is taken
    meanwhile (another save, another process): never replacing a file."""
    folder = os.path.dirname(os.path.abspath(path))
    stem, ext = os.path.splitext(os.path.basename(path))
    prefix = _COUNTER.sub("", stem)
    for _ in range(1000):
        if link_new(temp, path):
            return path
        path = next_free_path(folder, prefix, ext[1:])
    raise FileExistsError(f"could not find a free file name for {prefix} in {folder}")
