"""Read videos back as IMAGE frames, and read the metadata `writer.write_video` stored.

mp4, webm and gif are decoded by FFmpeg; animated WebP by `webp.py` (FFmpeg decodes only stills).
Other containers FFmpeg knows (mov, mkv, avi...) are read too; the four above are the ones tested.
"""
import os
import struct
from collections.abc import Iterator

import av
import numpy as np
import torch

from . import gif, webp

SUPPORTED = "mp4, webm, webp and gif (and most other formats FFmpeg reads: mov, mkv, avi...)"


class VideoReadError(ValueError):
    """The file exists but is not a video we can decode."""


def read_video(path: str, max_frames: int | None = None, skip_first: int = 0,
               every_nth: int = 1) -> tuple[torch.Tensor, float]:
    """Decode a video into (IMAGE [N, H, W, 3] float 0..1, fps).

    skip_first frames are dropped, then every every_nth frame is kept, up to max_frames of them.
    fps is the rate at which the returned frames play at the original speed (source fps / every_nth).
    It is measured from the frame timestamps and snapped to a whole or NTSC (x/1.001) rate when that
    is within the timestamp precision. GIF stores times in 1/100 s and WebP in ms, so a short GIF
    at a rate that is not a divisor of 100 (16 fps = 6.25/100 s) reads back only approximately.
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be at least 1 (or None for all); got {max_frames}")
    if skip_first < 0 or every_nth < 1:
        raise ValueError(f"need skip_first >= 0 and every_nth >= 1; got {skip_first} and {every_nth}")
    source = _WebPSource(path) if webp.is_webp(_head(path)) else _FFmpegSource(path)
    frames, times = [], []
    try:
        for index, (rgb, time) in enumerate(source.frames()):
            times.append(time)
            if len(frames) == max_frames:
                break  # one frame past the last kept one: its time completes the fps measurement
            if index >= skip_first and (index - skip_first) % every_nth == 0:
                frames.append(rgb)
    except (av.FFmpegError, ValueError, struct.error) as e:
        raise _unreadable(path, e) from e
    if not frames:
        raise ValueError(f"{path} has {len(times)} frames; skip_first={skip_first} leaves none to read")
    clip = torch.from_numpy(np.stack(frames)).float().div_(255)
    return clip, _fps(times, source.tick, source.single_frame_fps) / every_nth


def read_metadata(path: str) -> dict[str, str]:
    """The text metadata stored in the file (writer.py lists where each format keeps it)."""
    head = _head(path)
    try:
        if webp.is_webp(head) or gif.is_gif(head):
            with open(path, "rb") as f:
                data = f.read()
            return webp.read_metadata(data) if webp.is_webp(head) else gif.read_metadata(data)
        with av.open(path) as container:
            tags = dict(container.metadata)
            if container.format.name.startswith("matroska"):  # Matroska upper-cases tag names
                tags = {key.lower(): value for key, value in tags.items()}
            return tags
    except (av.FFmpegError, ValueError, struct.error) as e:
        raise _unreadable(path, e) from e


def _head(path: str) -> bytes:
    """The first bytes of the file, after checking it exists and is a file."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no video at {path}: check the folder and file name")
    if not os.path.isfile(path):
        raise VideoReadError(f"{path} is a folder, not a video file")
    with open(path, "rb") as f:
        return f.read(16)


def _unreadable(path: str, error: Exception) -> VideoReadError:
    if isinstance(error, VideoReadError):
        return error
    reason = error.strerror if isinstance(error, av.FFmpegError) else str(error)  # without errno and path
    return VideoReadError(
        f"could not decode {os.path.basename(path)} as a video ({reason}). The file may be damaged, "
        f"incomplete, or not a video; supported formats: {SUPPORTED}."
    )


class _FFmpegSource:
    def __init__(self, path: str):
        self.path = path
        self.tick = 0.0  # timestamp resolution in seconds, known once the file is open
        self.single_frame_fps = 1.0

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        """(RGB uint8 frame, start time in seconds) for each frame."""
        with av.open(self.path) as container:
            if not container.streams.video:
                raise VideoReadError(
                    f"found no video stream in {os.path.basename(self.path)}: the file may be damaged, "
                    f"incomplete, or audio only; supported formats: {SUPPORTED}."
                )
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            self.tick = float(stream.time_base)
            rate = stream.average_rate or stream.guessed_rate
            if rate:
                self.single_frame_fps = float(rate)
            for index, frame in enumerate(container.decode(stream)):
                # frames without timestamps (some AVI files) are taken to be evenly spaced
                time = frame.time if frame.time is not None else index / self.single_frame_fps
                yield frame.to_ndarray(format="rgb24"), time


class _WebPSource:
    """Animated WebP merges identical neighbouring frames into one longer frame; they are repeated
    back out, taking the shortest frame as one frame period."""

    tick = 0.001

    def __init__(self, path: str):
        self.path = path
        self.single_frame_fps = 1.0

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        with open(self.path, "rb") as f:
            animation = webp.parse(f.read())
        period = min((frame.duration_ms for frame in animation.frames if frame.duration_ms > 0), default=0)
        if period:
            self.single_frame_fps = 1000 / period
        start = 0
        for rgb, duration in webp.decode(animation):
            repeats = max(1, round(duration / period)) if period else 1
            for i in range(repeats):
                yield rgb, (start + duration * i / repeats) / 1000
            start += duration


def _fps(times: list[float], tick: float, single_frame_fps: float) -> float:
    """Frames per second over the decoded span, snapped to a whole or NTSC rate when the difference
    is within the container's timestamp resolution (one tick over the span)."""
    if len(times) < 2 or times[-1] <= times[0]:
        return single_frame_fps
    frames, span = len(times) - 1, times[-1] - times[0]
    for nice in (round(frames / span), round(frames / span * 1.001) / 1.001):
        if nice > 0 and abs(span - frames / nice) <= tick + 1e-9:
            return nice
    return frames / span
