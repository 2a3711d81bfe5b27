"""Sora's temporal edits, each a short builder of a Timeline (timeline.py) that the one sampler runs."""
from .blend import BLEND_MODES, blend_mix, blend_transition, curve_weights, mask_weights, match_size
from .image_to_video import image_to_video
from .loop import loop
from .recut import DIRECTIONS, extend
from .timeline import Edit, Timeline, compile_timeline, finish

__all__ = ["BLEND_MODES", "DIRECTIONS", "Edit", "Timeline", "blend_mix", "blend_transition", "compile_timeline",
           "curve_weights", "extend", "finish", "image_to_video", "loop", "mask_weights", "match_size"]
