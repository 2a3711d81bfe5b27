"""Storyboard on the shipped shapes-world model: does each moment follow its card?

    .host/venv/bin/python bench/storyboard.py [--cases 20] [--seed 0] [--sets change2 control2 rendered2 vae2 change3 keyframe long]

Each case is a timeline of cards that change one attribute of the object (colour, shape or motion) from
card to card, written from training-split specs, sampled through the library path the nodes use
(storyboard_prompts → SamplingPlan with per-frame prompts → run_plan; 20 steps, cfg 3, shift 3, uni_pc),
decoded with the shipped VAE. Per card, the frames of its interval outside the transition windows are
analysed on their own (engine/shapes analyser) and compared with the card's spec.
- change2: 17 frames (what the model was trained on), cards at 0 and 8, transition 4.
- control2: as change2 with no change (the first card's prompt throughout), judged the same way.
- rendered2: change2's cases drawn by the world's renderer, judged the same way: the instrument's own
  score, what a perfect model would get.
- vae2: rendered2's clips through the shipped VAE (encode, decode), judged the same way: the most any DiT
  can reach through this VAE.
- change3: 33 frames, cards at 0, 11, 22, in windows of 17 frames (overlap 8).
- keyframe: 17 frames, a rendered frame of the second card's spec as a keyframe at frame 8: PSNR there.
- long: one prompt over 65 frames (4× the trained length) in windows of 17 (overlap 8), the object still
  (a moving one leaves the frame): colour and shape per 17-frame part, whether each window hands the object
  on to the next (the same colour and shape in the 16 frames either side of where its own frames begin),
  and the seam rule at every window edge.
Windows are fused at every step, or with --window-mode chained sampled one after another.
"""
import argparse
import dataclasses
import math
import pathlib
import statistics
import sys

import numpy as np
import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from shapes_eval import load_models  # noqa: E402  (also imports the pack as `spacetime`)

from spacetime.engine.editing import Card, Storyboard, compile_timeline, finish, keyframe_timeline  # noqa: E402
from spacetime.engine.editing.storyboard import storyboard_prompts  # noqa: E402
from spacetime.engine.frames import encode_images, to_images  # noqa: E402
from spacetime.engine.generation import SamplerSettings, run_plan  # noqa: E402
from spacetime.engine.models.text_encoder import encode_text  # noqa: E402
from spacetime.engine.sampling import SamplingPlan  # noqa: E402
from spacetime.engine.shapes import analyse_clip, caption, render_clip, sample_specs, seam_ratio  # noqa: E402
from spacetime.engine.shapes.analyse import direction  # noqa: E402
from spacetime.engine.shapes.changes import render_segments, segment_tracks  # noqa: E402
from spacetime.engine.shapes.world import MIN_CONTRAST, MOTIONS, OBJECT_COLOURS, SHAPES, contrast  # noqa: E402
from spacetime.engine.sampling.windows import window_frames  # noqa: E402
from spacetime.engine.video_shape import TIME_STRIDE, latent_frames, latent_shape  # noqa: E402

SIZE = 64
SETTINGS = dict(steps=20, cfg=3.0, shift=3.0, sampler="uni_pc")
TRANSITION = 4
WINDOW_FRAMES, WINDOW_OVERLAP = 5, 2  # latent frames: 17 and 8 video frames
WINDOW_MODE = "fused"


def changed(spec, attribute, rng):
    """The spec with its object's `attribute` changed to another value the world allows."""
    obj = spec.objects[0]
    if attribute == "colour":
        options = [c for c in OBJECT_COLOURS if c != obj.colour and contrast(c, spec.background) >= MIN_CONTRAST]
    else:
        options = [v for v in (SHAPES if attribute == "shape" else MOTIONS) if v != getattr(obj, attribute)]
    new = dataclasses.replace(obj, **{attribute: options[rng.integers(len(options))]})
    return dataclasses.replace(spec, objects=(new,))


def sample_storyboard(models, specs_at, frames, seed, keyframes=None, windows=False, spliced=True):
    """Frames [F, H, W, 3] for cards (frame, spec); keyframes {frame: image} held as known frames and
    spliced back (or, with spliced=False, the decoded frames as the model and VAE made them)."""
    dit, encoder, tokenizer, vae = models
    embeddings = encode_text(encoder, tokenizer, [caption(s) for _, s in specs_at] + [""])
    story = Storyboard()
    for (frame, spec), embedding in zip(specs_at, embeddings[:-1]):
        image = None if keyframes is None else keyframes.get(frame)
        story = story.add(Card(frame, embedding[None], TRANSITION, image=image, label=str(frame)))
    t = latent_frames(frames)
    prompts, weights = storyboard_prompts(story, embeddings[:1], t, frames)
    latent, keep, edit = torch.zeros(latent_shape(1, SIZE, SIZE, frames)), None, None
    if story.keyframes:
        edit = compile_timeline(keyframe_timeline(story, frames, SIZE, SIZE), lambda f: encode_images(vae, f))
        latent, keep = edit.latent, edit.keep
    window = dict(window=WINDOW_FRAMES, overlap=WINDOW_OVERLAP, window_mode=WINDOW_MODE) if windows else {}
    plan = SamplingPlan(latent, prompts, embeddings[-1:], frame_weights=weights, keep=keep,
                        hold_by="timestep", **window)
    decoded = to_images(vae.decode(run_plan(dit, plan, SamplerSettings(seed=seed, **SETTINGS))))
    return decoded if edit is None or not spliced else finish(edit, decoded)


def intervals(starts, frames):
    """Per card, its frames outside the transition windows."""
    ends = [*starts[1:], frames + TRANSITION // 2]
    return [range(start + (TRANSITION // 2 if i else 0), end - TRANSITION // 2) for i, (start, end) in
            enumerate(zip(starts, ends))]


def follows(spec, frames, clip_frames):
    """(colour, shape, motion) of the main object in `frames`, an interval of a clip of `clip_frames`,
    against the spec. The world's objects cover their travel over the whole clip, and the analyser calls
    an object still below a fraction of the frame over what it is given: so the motion is read from the
    interval's displacement scaled up to the clip's length (read as given, a rendered interval of 6 of 17
    frames reads still in two cases of three)."""
    seen = analyse_clip(frames).objects
    if not seen:
        return (False, False, False)
    obj, want = seen[0], spec.objects[0]
    scale = (clip_frames - 1) / max(1, len(frames) - 1)
    motion = direction((obj.displacement[0] * scale, obj.displacement[1] * scale), frames.shape[1])
    return (obj.colour == want.colour, obj.shape == want.shape, motion == want.motion)


def measure_changes(models, cards, frames, count, seed, windows, control=False, rendered=False, round_trip=False):
    """control: the first card's prompt over the whole clip, judged in the same intervals (what the model
    and the analyser reach on intervals this short with no change at all). rendered: the cases drawn by
    the world's renderer instead of the model, judged the same way (what a perfect model scores; a case
    whose turn would take the object out of the frame is left out); with round_trip, through the VAE."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, spec in enumerate(sample_specs(count, seed)):
        attribute = ("colour", "shape", "motion")[i % 3]
        specs = [spec]
        for _ in cards[1:]:
            specs.append(spec if control else changed(specs[-1], attribute, rng))
        story = [(cards[0], spec)] if control else list(zip(cards, specs))
        if rendered:
            segments = tuple(zip(specs, cards))
            if any(track is None for tracks in segment_tracks(segments, frames, SIZE) for track in tracks):
                continue
            clip = render_segments(segments, frames, SIZE)
            if round_trip:
                vae = models[3]
                clip = to_images(vae.decode(encode_images(vae, clip)))
        else:
            clip = sample_storyboard(models, story, frames, seed + i, windows=windows)
        checks = [follows(s, clip[list(r)], frames) for s, r in zip(specs, intervals(cards, frames))]
        index = ("colour", "shape", "motion").index(attribute)
        rows.append(dict(attribute=attribute, changed=[c[index] for c in checks], all=[all(c) for c in checks]))
    return rows


def psnr(a, b) -> float:
    mse = float(((a - b) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def measure_keyframes(models, count, seed):
    """PSNR at the keyframe's frame as decoded (before Finish Edit splices the keyframe back), and whether
    the finished clip has it exactly."""
    decoded, exact = [], 0
    for i, spec in enumerate(sample_specs(count, seed)):
        other = changed(spec, ("colour", "shape")[i % 2], np.random.default_rng(seed + i))
        key = render_clip(other, 17, SIZE)[8]
        story = [(0, spec), (8, other)]
        raw = sample_storyboard(models, story, 17, seed + i, keyframes={8: key}, spliced=False)
        decoded.append(psnr(raw[8], key))
        exact += bool(torch.equal(sample_storyboard(models, story, 17, seed + i, keyframes={8: key})[8], key))
    return decoded, exact


def window_edges(frames):
    """The output frames where a window begins or ends (the first frame of its first latent frame, and the
    frame after its last), inside the clip."""
    windows = window_frames(latent_frames(frames), WINDOW_FRAMES, WINDOW_OVERLAP).frames
    edges = {TIME_STRIDE * int(w[0]) - 3 for w in windows[1:]} | {TIME_STRIDE * int(w[-1]) + 1 for w in windows[:-1]}
    return sorted(e for e in edges if 8 <= e <= frames - 8)


def handovers(frames):
    """The output frames where a window's own frames begin (the first after those it shares with the window
    before): where a chained window takes over from the one before."""
    windows = window_frames(latent_frames(frames), WINDOW_FRAMES, WINDOW_OVERLAP).frames
    return [TIME_STRIDE * (int(before[-1]) + 1) - 3 for before in windows[:-1]]


def identity(frames):
    """(colour, shape) of the main object in `frames`, or None."""
    seen = analyse_clip(frames).objects
    return (seen[0].colour, seen[0].shape) if seen else None


def hands_on(clip, handover):
    """The same object in the 16 frames before `handover` and the 16 from it."""
    before, after = identity(clip[max(0, handover - 16):handover]), identity(clip[handover:handover + 16])
    return before is not None and before == after


def measure_long(models, count, seed, frames=65):
    """Still objects: a moving one leaves the 64-pixel frame long before frame 65, and then there is no
    colour or shape left to keep. Besides one identity through the whole clip, whether each window hands the
    object on: the 16 frames before a handover and the 16 after show the same colour and shape (so a change
    the DiT draws inside one window is told apart from one the windowing makes)."""
    rows = []
    for i, spec in enumerate(sample_specs(count, seed)):
        spec = dataclasses.replace(spec, objects=tuple(dataclasses.replace(o, motion="still") for o in spec.objects))
        clip = sample_storyboard(models, [(0, spec)], frames, seed + i, windows=True)
        seen = [identity(clip[s:s + 17]) for s in range(0, frames - 16, 16)]
        want = (spec.objects[0].colour, spec.objects[0].shape)
        seams = [seam_ratio(clip, b, range(b - 8, b + 8)).passes() for b in window_edges(frames)]
        handed = [hands_on(clip, h) for h in handovers(frames)]
        rows.append(dict(identity=len(set(seen)) == 1 and None not in seen, prompt=all(s == want for s in seen),
                         seams=seams, handed_on=all(handed)))
    return rows


def pct(values):
    return 100 * sum(values) / max(1, len(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sets", nargs="+", default=["change2", "control2", "rendered2", "vae2", "change3", "keyframe", "long"])
    parser.add_argument("--window", type=int, nargs=2, metavar=("LATENT_FRAMES", "OVERLAP"),
                        help="windows for every set (change2 and control2 too); default 5 2 where windowed")
    parser.add_argument("--window-mode", choices=["fused", "chained"], default="fused")
    args = parser.parse_args()
    global WINDOW_FRAMES, WINDOW_OVERLAP, WINDOW_MODE
    WINDOW_MODE = args.window_mode
    if args.window:
        WINDOW_FRAMES, WINDOW_OVERLAP = args.window
    models = load_models()
    print(f"{args.cases} cases a set, seed {args.seed}, {torch.get_num_threads()} threads")
    with torch.no_grad():
        for name in args.sets:
            if name in ("change2", "change3", "control2", "rendered2", "vae2"):
                cards, frames = ((0, 11, 22), 33) if name == "change3" else ((0, 8), 17)
                rows = measure_changes(models, cards, frames, args.cases, args.seed, windows=name == "change3" or bool(args.window),
                                       control=name == "control2", rendered=name in ("rendered2", "vae2"),
                                       round_trip=name == "vae2")
                for attribute in ("colour", "shape", "motion", None):
                    chosen = [r for r in rows if attribute in (None, r["attribute"])]
                    changed_share = " / ".join(f"{pct([r['changed'][k] for r in chosen]):.0f}" for k in range(len(cards)))
                    all_share = " / ".join(f"{pct([r['all'][k] for r in chosen]):.0f}" for k in range(len(cards)))
                    print(f"| {name} | {attribute or 'all'} | {len(chosen)} | changed attribute per card: "
                          f"{changed_share} % | every attribute per card: {all_share} % |")
            elif name == "keyframe":
                psnrs, exact = measure_keyframes(models, args.cases, args.seed)
                psnrs = sorted(psnrs)
                print(f"| keyframe | {len(psnrs)} | PSNR at the keyframe's frame as decoded: min {psnrs[0]:.1f}, "
                      f"median {statistics.median(psnrs):.1f} dB; exact after Finish Edit: {exact} of {len(psnrs)} |")
            elif name == "long":
                rows = measure_long(models, args.cases, args.seed)
                seams = [s for r in rows for s in r["seams"]]
                print(f"| long, 65 frames | {len(rows)} | one colour and shape through all four 17-frame parts: "
                      f"{pct([r['identity'] for r in rows]):.0f} % (the prompt's in every part: "
                      f"{pct([r['prompt'] for r in rows]):.0f} %) | every window hands the object on: "
                      f"{pct([r['handed_on'] for r in rows]):.0f} % | seams passing at window boundaries: "
                      f"{pct(seams):.0f} % of {len(seams)} |")


if __name__ == "__main__":
    main()
