"""Sound beside the frames: read a span of a file's audio, and encode audio into a container we write.

Audio travels as core ComfyUI's AUDIO: {"waveform": float [batch, channels, samples] in -1..1,
"sample_rate": int}. mp4 gets AAC, webm gets Opus; webp and gif have no audio track.
"""
from fractions import Fraction

import av
import numpy as np
import torch

CODECS = {"mp4": "aac", "webm": "libopus"}
# The rates each codec encodes at (AAC's sampling-frequency table, Opus's five); sound at any other rate is
# resampled to 48 kHz.
_CODEC_RATES = {"aac": (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000),
                "libopus": (48000, 24000, 16000, 12000, 8000)}


def read_audio(path: str, start: float, end: float | None) -> dict | None:
    """The first audio stream's samples from `start` to `end` seconds (None: to the end) as AUDIO,
    or None when the file has no audio stream."""
    with av.open(path) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or stream.rate
        layout = stream.codec_context.layout.name if stream.codec_context.layout else "stereo"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        chunks, first_sample = [], None
        for frame in container.decode(stream):
            if first_sample is None:
                first_sample = round((frame.time or 0.0) * rate)
            for planar in resampler.resample(frame):
                chunks.append(planar.to_ndarray())
            if end is not None and frame.time is not None and frame.time > end:
                break
        for planar in resampler.resample(None):
            chunks.append(planar.to_ndarray())
    if not chunks:
        return None
    samples = np.concatenate(chunks, axis=1)
    # the span on the container's clock, as sample offsets into what was decoded
    lo = max(0, round(start * rate) - first_sample)
    hi = samples.shape[1] if end is None else max(lo, round(end * rate) - first_sample)
    waveform = torch.from_numpy(np.ascontiguousarray(samples[:, lo:hi])).unsqueeze(0)
    return {"waveform": waveform, "sample_rate": int(rate)}


def check_audio(audio) -> tuple[np.ndarray, int]:
    """(float32 [channels, samples], rate) from an AUDIO; raises ValueError on anything else."""
    if not isinstance(audio, dict) or "waveform" not in audio or "sample_rate" not in audio:
        raise ValueError("audio must be core's AUDIO: {'waveform': [batch, channels, samples], 'sample_rate': int}")
    waveform, rate = audio["waveform"], audio["sample_rate"]
    if not isinstance(waveform, torch.Tensor) or waveform.ndim != 3 or not 1 <= waveform.shape[1] <= 8:
        shape = tuple(waveform.shape) if isinstance(waveform, torch.Tensor) else type(waveform).__name__
        raise ValueError(f"audio waveform must be [batch, channels (1-8), samples]; got {shape}")
    if not isinstance(rate, int) or not 1000 <= rate <= 384000:
        raise ValueError(f"audio sample rate must be a whole number of Hz between 1000 and 384000; got {rate!r}")
    # one clip is saved, so the first item of a batch is its sound
    samples = waveform[0].detach().float().cpu().clamp(-1, 1).numpy()
    if not np.isfinite(samples).all():
        raise ValueError("the audio contains NaN or infinite samples")
    return np.ascontiguousarray(samples), rate


class AudioEncoder:
    """Adds an audio stream to a container being written and turns samples into its packets."""

    def __init__(self, container, format_name: str, samples: np.ndarray, rate: int):
        codec = CODECS[format_name]
        out_rate = rate if rate in _CODEC_RATES[codec] else 48000
        self.stream = container.add_stream(codec, rate=out_rate)
        self.stream.layout = _layout(samples.shape[0])
        self.stream.codec_context.time_base = Fraction(1, out_rate)
        self.samples, self.rate, self.out_rate = samples, rate, out_rate

    def packets(self, duration: float) -> list:
        """All packets for the first `duration` seconds of the samples (longer sound is cut to the video)."""
        samples = self.samples[:, :round(duration * self.rate)]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=self.stream.layout.name)
        frame.sample_rate, frame.pts, frame.time_base = self.rate, 0, Fraction(1, self.rate)
        # PyAV resamples to the codec's format and rate and cuts its frame size (AAC 1024, Opus 960)
        return self.stream.encode(frame) + self.stream.encode(None)


def _layout(channels: int) -> str:
    return {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")


def fitted(audio: dict | None, frames: int, fps: float, rate: int, channels: int) -> np.ndarray:
    """The sound of a clip of `frames` frames at `fps` as [channels, samples] at `rate`: cut or padded with
    silence to the clip's length (silence when there is none)."""
    length = round(frames * rate / fps)
    out = np.zeros((channels, length), dtype=np.float32)
    if audio is not None:
        samples, _ = check_audio(audio)
        take = samples[:channels, :length]
        out[:take.shape[0], :take.shape[1]] = take
    return out


def common_format(audios: list[dict | None]) -> tuple[int, int] | None:
    """(rate, channels) shared by the clips that have sound; None when none has. Rates must agree."""
    present = [check_audio(a) for a in audios if a is not None]
    if not present:
        return None
    rates = {rate for _, rate in present}
    if len(rates) > 1:
        raise ValueError(f"the clips' sounds have different sample rates ({', '.join(map(str, sorted(rates)))} Hz): "
                         "resample one of them to the other's rate first.")
    return rates.pop(), max(samples.shape[0] for samples, _ in present)


def frames_audio(clips: list[tuple[dict | None, int]], sources, fps: float) -> dict | None:
    """Sound for output frames that show input frames `sources` (−1: generated, silent), counting through
    `clips` — (AUDIO or None, frame count) per input clip — one after another: each output frame gets its
    input frame's 1/fps of sound, so runs of consecutive frames keep their sound unbroken. None when no
    clip has sound."""
    shared = common_format([audio for audio, _ in clips])
    if shared is None:
        return None
    rate, channels = shared
    track = np.concatenate([fitted(audio, frames, fps, rate, channels) for audio, frames in clips], axis=1)
    per_frame = rate / fps
    chunks = []
    for index, source in enumerate(sources.tolist()):
        length = round((index + 1) * per_frame) - round(index * per_frame)
        chunk = np.zeros((channels, length), dtype=np.float32)
        if source >= 0:
            start = round(source * per_frame)
            piece = track[:, start:start + length]
            chunk[:, :piece.shape[1]] = piece
        chunks.append(chunk)
    return {"waveform": torch.from_numpy(np.concatenate(chunks, axis=1)).unsqueeze(0), "sample_rate": rate}


def crossfaded(a: dict | None, b: dict | None, share, fps: float) -> dict | None:
    """Blend mix's sound: per frame, B's `share` of the way from A's sound to B's. None when neither has."""
    shared = common_format([a, b])
    if shared is None:
        return None
    rate, channels = shared
    frames = len(share)
    sound_a, sound_b = (fitted(x, frames, fps, rate, channels) for x in (a, b))
    per_sample = np.interp(np.arange(sound_a.shape[1]) * fps / rate, np.arange(frames), share.numpy())
    mixed = sound_a * (1 - per_sample) + sound_b * per_sample
    return {"waveform": torch.from_numpy(mixed.astype(np.float32)).unsqueeze(0), "sample_rate": rate}
