"""The shapes world: a procedural video world small enough for a model the project trains itself.

world     vocabularies, ClipSpec, the held-out triples, the seeded sampler
render    layout and drawing: render_clip(spec, frames, size) -> [F, H, W, 3] in 0..1; draw, turned
captions  caption(spec[, rng]) and parse_caption(text)
segment, fit, analyse   analyse_clip(frames) -> ClipAnalysis (background, objects, shapes, motions)
score     attribute_hits(spec, analysis), object_hits, accuracy(hits)
quality   stray_fractions, mask_ious, seed_spread: what a person sees beyond the attributes
wording   the second-generation grammar: say(spec, wording), sample_wording (held-out wordings), read_caption
seams     seam_ratio, seam_continuity, background_drift: no visible seam where an edit joins frames
changes   clips whose object changes colour, shape or motion at a moment: sample_change, segment_tracks,
          render_segments
dataset   ShapesClips (clip [3, F, H, W] in -1..1, caption) and SceneClips (clip, segments) datasets
"""
from .analyse import ClipAnalysis, analyse_clip
from .captions import caption, parse_caption
from .dataset import ShapesClips
from .render import render_clip
from .score import accuracy, attribute_hits
from .seams import background_drift, seam_continuity, seam_ratio
from .world import ClipSpec, ObjectSpec, sample_specs

__all__ = ["ClipAnalysis", "ClipSpec", "ObjectSpec", "ShapesClips", "accuracy", "analyse_clip",
           "attribute_hits", "background_drift", "caption", "parse_caption", "render_clip", "sample_specs",
           "seam_continuity", "seam_ratio"]
