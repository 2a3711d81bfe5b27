"""Read videos back as IMAGE frames, and read the metadata `writer.write_video` stored.

mp4, webm and gif are decoded by FFmpeg; animated WebP by `webp.py` (FFmpeg decodes only stills).
Other containers FFmpeg knows (mov, mkv, avi...) are read too; the four above are the ones tested.
`probe_video` reads what a file declares (size, frame count, rate, sound) without decoding, so
`load_video` can refuse a selection that would not fit in memory before it decodes a frame.
"""
import math
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
import torch

from . import gif, webp
from .audio import read_audio

SUPPORTED = "mp4, webm, webp and gif (and most other formats FFmpeg reads: mov, mkv, avi...)"


class VideoReadError(ValueError):
    """The file exists but is not a video we can decode."""


@dataclass(frozen=True)
class VideoInfo:
    """What a file declares before decoding. frames is None when it states neither its frame count
    nor its duration; it may also be wrong (a damaged or hostile file), which decoding guards against."""
    width: int
    height: int
    frames: int | None
    fps: float
    has_audio: bool


@dataclass(frozen=True)
class Selection:
    """Which frames to read: source frames start .. start+count (count 0: to the end), every
    every_nth of those, re-timed to target_fps (0: the source's rate), at most max_frames of the
    result (0: all), scaled down so the longer side is at most max_side pixels (0: keep the size)."""
    start: int = 0
    count: int = 0
    every_nth: int = 1
    target_fps: float = 0.0
    max_frames: int = 0
    max_side: int = 0

    def problem(self) -> str | None:
        if min(self.start, self.count, self.max_frames, self.max_side) < 0 or self.every_nth < 1:
            return f"need start, count, max_frames, max_side >= 0 and every_nth >= 1; got {self}"
        if not (self.target_fps == 0 or 0 < self.target_fps <= 1000):
            return f"target_fps must be 0 (keep the source's rate) or up to 1000; got {self.target_fps}"
        return None

    def size(self, width: int, height: int) -> tuple[int, int]:
        longer = max(width, height)
        if not self.max_side or longer <= self.max_side:
            return width, height
        scale = self.max_side / longer
        return max(1, round(width * scale)), max(1, round(height * scale))

    def planned(self, info: VideoInfo) -> int | None:
        """How many frames the selection gives from what the file declares (None: not known)."""
        if info.frames is None:
            return self.max_frames or None
        count = max(0, info.frames - self.start)
        count = math.ceil((min(count, self.count) if self.count else count) / self.every_nth)
        if self.target_fps:
            count = math.ceil(count * self.target_fps * self.every_nth / info.fps - 1e-9)
        return min(count, self.max_frames) if self.max_frames else count


@dataclass
class LoadedVideo:
    frames: torch.Tensor  # IMAGE [N, H, W, 3] float 0..1
    fps: float
    audio: dict | None  # core AUDIO over the same span, or None when the file has no sound


class VideoTooLarge(ValueError):
    """The selection would not fit in the memory allowed; the message says what would."""


# uint8 while decoding, then the float32 IMAGE: 5 bytes per channel at the peak
BYTES_PER_PIXEL = 3 * (1 + 4)


def probe_video(path: str) -> VideoInfo:
    """Size, frame count, rate and whether there is sound, from the file's headers alone."""
    head = _head(path)
    try:
        if webp.is_webp(head):
            return _probe_webp(path)
        with av.open(path) as container:
            if not container.streams.video:
                raise _no_video_stream(path)
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            fps = float(stream.average_rate or stream.guessed_rate or 0) or 1.0
            frames = stream.frames or None
            if frames is None:
                seconds = (float(stream.duration * stream.time_base) if stream.duration
                           else (container.duration or 0) / av.time_base)
                frames = round(seconds * fps) or None
            has_audio = bool(container.streams.audio)
    except (av.FFmpegError, ValueError, struct.error) as e:
        raise _unreadable(path, e) from e
    if width <= 0 or height <= 0:
        raise _unreadable(path, ValueError(f"its header gives a frame size of {width}x{height}"))
    return VideoInfo(width, height, frames, fps, has_audio)


def memory_budget() -> int:
    """Bytes a load may use: most of the memory free now (the rest stays for the models and the OS)."""
    try:
        import psutil

        free = psutil.virtual_memory().available
    except ImportError:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return int(free * 0.75)


def load_video(path: str, selection: Selection = Selection(), memory_limit: int | None = None,
               audio: bool = True) -> LoadedVideo:
    """Decode the selected frames (and the sound over the same span) of a video.

    The declared size and frame count are checked against memory_limit (default: memory_budget())
    before anything is decoded, and again as frames arrive, so a file that lies about its length
    is stopped at the limit too. Either way VideoTooLarge says what would fit.
    """
    problem = selection.problem()
    if problem:
        raise ValueError(problem)
    info = probe_video(path)
    limit = memory_budget() if memory_limit is None else memory_limit
    width, height = selection.size(info.width, info.height)
    frame_bytes = width * height * BYTES_PER_PIXEL
    planned = selection.planned(info)
    if frame_bytes * (planned or 1) > limit:
        raise VideoTooLarge(_what_fits(path, info, selection, planned or 1, limit))
    source = _source(path)
    times: list[float] = []
    picked = _pick(source, selection, (width, height), times)
    rate = selection.target_fps
    if rate:
        picked = _at_rate(picked, info.fps / selection.every_nth, rate)
    frames, first_time = [], None
    try:
        for rgb, time in picked:
            if selection.max_frames and len(frames) == selection.max_frames:
                break
            if (len(frames) + 1) * frame_bytes > limit:
                raise VideoTooLarge(_what_fits(path, info, selection, planned or len(frames) + 1, limit,
                                               stopped_at=len(frames)))
            first_time = time if first_time is None else first_time
            frames.append(rgb)
        if not rate:
            next(picked, None)  # one frame past the last kept one: its time completes the fps measurement
    except (av.FFmpegError, ValueError, struct.error) as e:
        raise _unreadable(path, e) from e
    if not frames:
        raise ValueError(f"{path} has {len(times)} frames; start={selection.start} leaves none to read")
    fps = rate or _fps(times, source.tick, source.single_frame_fps) / selection.every_nth
    clip = _as_image(frames)
    sound = None
    if audio and info.has_audio:
        sound = read_audio(path, first_time, first_time + len(frames) / fps)
    return LoadedVideo(clip, fps, sound)


def read_video(path: str, max_frames: int | None = None, skip_first: int = 0,
               every_nth: int = 1) -> tuple[torch.Tensor, float]:
    """Decode a video into (IMAGE [N, H, W, 3] float 0..1, fps), without its sound.

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
    loaded = load_video(path, Selection(start=skip_first, every_nth=every_nth, max_frames=max_frames or 0),
                        audio=False)
    return loaded.frames, loaded.fps


def _source(path: str):
    return _WebPSource(path) if webp.is_webp(_head(path)) else _FFmpegSource(path)


def _pick(source, selection: Selection, size: tuple[int, int], times: list[float]) -> Iterator[tuple[np.ndarray, float]]:
    """(RGB frame at `size`, time) of the source frames the selection keeps, before any re-timing.
    Every decoded frame's time goes into `times`, for the fps measurement."""
    end = selection.start + selection.count if selection.count else None
    for index, (rgb, time) in enumerate(source.frames()):
        times.append(time)
        if end is not None and index >= end:
            return
        if index >= selection.start and (index - selection.start) % selection.every_nth == 0:
            yield _scaled(rgb, size), time


def _at_rate(frames: Iterator[tuple[np.ndarray, float]], fps_in: float, fps_out: float):
    """The frames re-timed to fps_out: each output tick shows the frame on screen at that moment
    (frames are dropped to slow the rate down, repeated to raise it)."""
    shown, start, tick = None, None, 0
    for rgb, time in frames:
        if shown is None:
            start = time
        else:
            while start + tick / fps_out < time - 1e-9:
                yield shown
                tick += 1
        shown = (rgb, time)
    if shown is not None:
        while start + tick / fps_out < shown[1] + 1 / fps_in - 1e-9:
            yield shown
            tick += 1


def _scaled(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    if rgb.shape[1] == width and rgb.shape[0] == height:
        return rgb
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    return frame.reformat(width=width, height=height, interpolation="AREA").to_ndarray(format="rgb24")


def _as_image(frames: list[np.ndarray]) -> torch.Tensor:
    """Frames into one float IMAGE, filled a frame at a time (no second uint8 copy of the clip)."""
    clip = torch.empty((len(frames), *frames[0].shape), dtype=torch.float32)
    for i, rgb in enumerate(frames):
        clip[i] = torch.from_numpy(rgb)
    return clip.div_(255)


def _what_fits(path: str, info: VideoInfo, selection: Selection, planned: int, limit: int,
               stopped_at: int | None = None) -> str:
    width, height = selection.size(info.width, info.height)
    frame_bytes = width * height * BYTES_PER_PIXEL
    fits = limit // frame_bytes
    name = os.path.basename(path)
    if stopped_at is not None:
        said = f"declares {info.frames} frames but has more" if info.frames else "does not declare its length"
        return (f"{name} {said}: reading stopped after {stopped_at} frames of {width}x{height} at the memory "
                f"limit ({_gb(limit)} free). What fits at this size: max_frames {fits} (or a frame range with "
                f"count); a larger every_nth or a smaller max_side lets more of the clip in.")
    side = math.floor(max(width, height) * math.sqrt(limit / (planned * frame_bytes)))
    head = (f"{name} is {info.width}x{info.height}, {info.frames or 'an unknown number of'} frames at "
            f"{info.fps:g} fps: the selection is {planned} frames of {width}x{height}, which need "
            f"{_gb(planned * frame_bytes)}")
    if fits < 1:
        return f"{head}; one frame alone is more than the {_gb(limit)} free. Set max_side to {side} or less."
    nth = math.ceil(planned / fits) * selection.every_nth
    return (f"{head}, more than the {_gb(limit)} free. What fits: max_frames {fits}, or every_nth {nth}, "
            f"or max_side {side} (or a frame range with count).")


def _gb(size: float) -> str:
    return f"{size / 2**30:.2f} GiB" if size >= 2**28 else f"{size / 2**20:.1f} MiB"


def _probe_webp(path: str) -> VideoInfo:
    with open(path, "rb") as f:
        animation = webp.parse(f.read())
    width, height = animation.width, animation.height
    if not width:  # a simple still WebP has no canvas header: decode its one frame for the size
        rgb, _ = next(webp.decode(animation))
        height, width = rgb.shape[:2]
    period = min((frame.duration_ms for frame in animation.frames if frame.duration_ms > 0), default=0)
    frames = sum(max(1, round(frame.duration_ms / period)) if period else 1 for frame in animation.frames)
    return VideoInfo(width, height, frames, 1000 / period if period else 1.0, has_audio=False)


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
    if isinstance(error, (VideoReadError, VideoTooLarge)):
        return error
    reason = error.strerror if isinstance(error, av.FFmpegError) else str(error)  # without errno and path
    return VideoReadError(
        f"could not decode {os.path.basename(path)} as a video ({reason}). The file may be damaged, "
        f"incomplete, or not a video; supported formats: {SUPPORTED}."
    )


def _no_video_stream(path: str) -> VideoReadError:
    return VideoReadError(f"found no video stream in {os.path.basename(path)}: the file may be damaged, "
                          f"incomplete, or audio only; supported formats: {SUPPORTED}.")


class _FFmpegSource:
    def __init__(self, path: str):
        self.path = path
        self.tick = 0.0  # timestamp resolution in seconds, known once the file is open
        self.single_frame_fps = 1.0

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        """(RGB uint8 frame, start time in seconds) for each frame."""
        with av.open(self.path) as container:
            if not container.streams.video:
                raise _no_video_stream(self.path)
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            self.tick = float(stream.time_base)
            rate = stream.average_rate or stream.guessed_rate
            if rate:
                self.single_frame_fps = float(rate)
            decoded = 0
            for index, frame in enumerate(container.decode(stream)):
                # frames without timestamps (some AVI files) are taken to be evenly spaced
                time = frame.time if frame.time is not None else index / self.single_frame_fps
                decoded += 1
                yield frame.to_ndarray(format="rgb24"), time
            # A cut-short file decodes what is there and stops without an error; where the container
            # counts its frames (mp4, mov), far fewer than it counts means the rest is missing.
            if stream.frames and decoded < 0.9 * stream.frames:
                raise VideoReadError(f"{os.path.basename(self.path)} is damaged or incomplete: only {decoded} of "
                                     f"the {stream.frames} frames it declares could be decoded; copy or upload it again")


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
