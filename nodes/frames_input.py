"""Reading a clip that a node takes as IMAGE frames or as a core VIDEO (not a node file)."""
import math

import torch
from comfy_api.latest import io

from ..engine.video_shape import size_problem


def clip_inputs() -> list:
    """The two optional inputs a node takes a clip through: IMAGE frames or a core VIDEO."""
    return [io.Image.Input("images", optional=True, tooltip="The clip as frames (or connect a VIDEO instead)."),
            io.Video.Input("video", optional=True, tooltip="The clip as a core VIDEO (or connect IMAGE frames).")]


def clip_frames(images, video, name: str = "clip") -> tuple[torch.Tensor, float | None]:
    """The frames [F, H, W, 3] on the CPU and the video's frame rate (None for IMAGE), checked for size."""
    if (images is None) == (video is None):
        raise ValueError(f"connect the {name} as IMAGE frames or as a VIDEO, exactly one of the two")
    if video is not None:
        components = video.get_components()
        frames, fps = components.images, float(components.frame_rate)
    else:
        frames, fps = images, None
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"the {name} must be RGB frames [frames, height, width, 3]; got shape {tuple(frames.shape)}")
    problems = [p for p in (size_problem("width", frames.shape[2]), size_problem("height", frames.shape[1])) if p]
    if problems:
        raise ValueError(f"the {name}'s " + "; ".join(problems) + " (resize or crop it first, e.g. with core's "
                         "Upscale Image node)")
    return frames.float().cpu(), fps


def frames_to_add(amount: float, unit: str, fps: float) -> int:
    """`amount` frames, or `amount` seconds at `fps`, as a whole number of frames (at least 1)."""
    for name, value in (("add", amount), ("fps", fps)):
        if not math.isfinite(value):  # a linked input skips the server's range check; round() cannot take it
            raise ValueError(f"{name} is {value}: give a finite number")
    if unit == "seconds":
        count = round(amount * fps)
    elif unit == "frames":
        count = round(amount)
    else:
        raise ValueError(f"unit '{unit}' is not one of: frames, seconds")
    if count < 1:
        raise ValueError(f"{amount} {unit} is no frame at all: ask for at least one frame")
    return count


def clip_audio(audio, video):
    """The clip's sound: the AUDIO input, else the VIDEO's own sound, else None."""
    if audio is not None or video is None:
        return audio
    return video.get_components().audio


def audio_input(name: str = "audio", clip: str = "the clip", video_note: str = " (a VIDEO brings its own)"):
    return io.Audio.Input(name, optional=True,
                          tooltip=f"The sound of {clip}{video_note}: the given frames keep theirs in the finished "
                          "clip, new frames are silent. Take it from Finish Edit's audio.")
