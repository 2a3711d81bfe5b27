"""Sora's temporal edits, each a short builder of a Timeline (timeline.py) that the one sampler runs."""
from .blend import BLEND_MODES, blend_mix, blend_transition, curve_weights, mask_weights, match_size
from .image_to_video import image_to_video
from .loop import loop
from .recut import DIRECTIONS, extend
from .remix import REMIX_METHODS, STRENGTHS, remix_plan, remix_strength
from .storyboard import Card, Storyboard, keyframe_timeline, parse_storyboard, storyboard_prompts
from .timeline import Edit, Timeline, compile_timeline, finish

__all__ = ["BLEND_MODES", "DIRECTIONS", "REMIX_METHODS", "STRENGTHS", "Card", "Edit", "Storyboard", "Timeline",
           "blend_mix", "blend_transition", "compile_timeline", "curve_weights", "extend", "finish", "image_to_video",
           "keyframe_timeline", "loop", "mask_weights", "match_size", "parse_storyboard", "remix_plan", "remix_strength",
           "storyboard_prompts"]
