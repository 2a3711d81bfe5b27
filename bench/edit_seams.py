"""Seams, continuity and drift of the temporal edits (Re-cut, image to video, Loop, Blend) on the shipped
shapes-world model.

    .host/venv/bin/python bench/edit_seams.py [--cases 20] [--seed 0] [--holds timestep noise_mask]
                                              [--features extend forward … wrap drift speed]

Each case starts from rendered shapes clips (17 frames, 64×64, one object, training-split prompts) and
runs the edit, with a model window of at most 17 frames (5 latent frames: what this model was trained
on; it degrades on longer clips, issue 14), through the same library path the nodes use: the edit's timeline compiled with the
shipped VAE, sampled by the generation entry point (20 steps, cfg 3, shift 3, uni_pc), decoded, and
finished (given frames spliced back, generated frames colour-anchored; "raw" is without the anchor).
Per feature it prints the share of seams that pass the seam rule (engine/shapes/seams.py: the jump is
at most 1.5× the median frame-to-frame change of the generated frames, or below 1 % of 255), the
ratio's distribution, continuity across each seam (colour, shape, direction, speed within 15 %), whether
the seam is ghost-free (the anchor fades the decode error into the 4 generated frames beside a seam;
where the decode drew the object elsewhere that fade can show a half-faded copy, counted as stray pixels:
at most 0.5 % in each of those frames), and whether given frames came back pixel-identical. Chained
extension reports background drift.
"blend transition" joins a clip to the same prompt at another layout (the object must move to B's start,
so its direction cannot be kept); "blend transition, B continues A" joins the start and the end of one
33-frame render across the 8 frames between them, where direction and speed can be kept.
"""
import argparse
import dataclasses
import pathlib
import statistics
import sys

import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from sampler_step_time import best_time  # noqa: E402
from shapes_eval import load_models  # noqa: E402  (also imports the pack as `spacetime`)

from spacetime.engine.editing import (blend_mix, blend_transition, compile_timeline, curve_weights, extend,  # noqa: E402
                                      finish, image_to_video, loop)
from spacetime.engine.frames import encode_images, to_images  # noqa: E402
from spacetime.engine.generation import SamplerSettings, generate_latent, run_plan  # noqa: E402
from spacetime.engine.models.text_encoder import encode_text  # noqa: E402
from spacetime.engine.sampling import SamplingPlan  # noqa: E402
from spacetime.engine.shapes.seams import MIN_WINDOW  # noqa: E402
from spacetime.engine.shapes import (ClipSpec, analyse_clip, background_drift, caption, render_clip,  # noqa: E402
                                     sample_specs, seam_continuity, seam_ratio)
from spacetime.engine.shapes.quality import stray_fractions  # noqa: E402
from spacetime.engine.editing.timeline import FEATHER  # noqa: E402
from spacetime.engine.video_shape import latent_shape  # noqa: E402

FRAMES, SIZE = 17, 64
SETTINGS = dict(steps=20, cfg=3.0, shift=3.0, sampler="uni_pc")
# A seam is ghost-free when no generated frame of the anchor's fade beside it has more than this share of
# stray pixels (neither background nor a tracked object's colour, outside the objects: a half-faded copy).
GHOST_STRAY = 0.005
HEADER = ("| feature, hold, finish | seams | pass | ratio min / median / p90 / max | colour / shape / direction / "
          "speed kept | background kept | ghost-free | given frames identical |\n|---|---|---|---|---|---|---|---|")


@dataclasses.dataclass
class Case:
    """One edit of one spec: its compiled edit, its seams as (seam, generated frames), its given frames."""
    spec: ClipSpec
    edit: object
    seams: list
    source: torch.Tensor | None = None  # what the given frames must equal, in output order


def cases_for(feature: str, specs, encode):
    out = []
    for spec in specs:
        clip = render_clip(spec, FRAMES, SIZE)
        other = render_clip(dataclasses.replace(spec, seed=spec.seed + 1), FRAMES, SIZE)
        if feature == "extend forward":  # keep the first 5 frames, generate 12
            edit, seams = compile_timeline(extend(clip, 0, 4, "forward", 12, 5), encode), [(5, range(5, 17))]
        elif feature == "extend forward, 7 kept":  # a keep range that is not whole latent frames
            edit, seams = compile_timeline(extend(clip, 0, 6, "forward", 10, 5), encode), [(7, range(7, 17))]
        elif feature == "extend backward":  # keep the last 5, generate 12 before them
            edit, seams = compile_timeline(extend(clip, 12, 16, "backward", 12, 5), encode), [(12, range(0, 12))]
        elif feature == "extend both":  # keep the middle 5, 5 new on each side
            edit = compile_timeline(extend(clip, 6, 10, "both", 10, 5), encode)
            seams = [(5, range(0, 5)), (10, range(10, 15))]
        elif feature == "image to video":
            edit, seams = compile_timeline(image_to_video(clip[0], FRAMES), encode), [(1, range(1, 17))]
        elif feature == "loop":  # the clip, then 8 frames back to its start
            edit, seams = compile_timeline(loop(clip, 8, 0, 5), encode), [(17, range(17, 25)), (0, range(17, 25))]
        elif feature == "blend transition":  # the same prompt at another layout as B
            edit = compile_timeline(blend_transition(clip, other, 8, 5), encode)
            seams = [(17, range(17, 25)), (25, range(17, 25))]
        elif feature == "blend transition, B continues A":  # one 33-frame render: A its start, B its end
            long = render_clip(spec, 33, SIZE)
            edit = compile_timeline(blend_transition(long[:13], long[21:], 8, 5), encode)
            seams = [(13, range(13, 21)), (21, range(13, 21))]
        elif feature == "blend mix":
            share = curve_weights("0:0, 0.3:0, 0.7:1, 1:1", FRAMES)
            edit = blend_mix(clip, other, share, encode)
            made = [i for i in range(FRAMES) if 0 < share[i] < 1]
            seams = [(made[0], range(made[0], made[-1] + 1)), (made[-1] + 1, range(made[0], made[-1] + 1))]
        else:
            raise ValueError(feature)
        out.append(Case(spec, edit, seams))
    return out


def sample_batch(models, edits, prompts, hold, seed, strength=1.0):
    """Sample a batch of edits that share one layout; decoded windows [B, S, H, W, 3]."""
    dit, encoder, tokenizer, vae = models
    context = encode_text(encoder, tokenizer, prompts + [""])
    plan = SamplingPlan(latent=torch.cat([e.latent for e in edits]), positive=context[:-1], negative=context[-1:],
                        keep=edits[0].keep, hold_by=hold, strength=strength)
    out = run_plan(dit, plan, SamplerSettings(seed=seed, **SETTINGS))
    return to_images(vae.decode(out)).reshape(len(edits), -1, SIZE, SIZE, 3)


def judge(case: Case, frames: torch.Tensor) -> list[dict]:
    """Per seam: the seam rule, continuity across it, whether the generated frames' background stays
    within 3 % of 255 of the given frames' (the seam ratio alone passes frames that flicker or tint), and
    whether the generated frames beside it are ghost-free (on a raw finish, without the anchor's fade, this
    judges the model's own frames there)."""
    results = []
    given = case.edit.frames[case.edit.given]
    strays = stray_fractions(frames, analyse_clip(frames))
    for seam, generated in case.seams:
        ratio = seam_ratio(frames, seam, generated)
        background = background_drift(given, frames[list(generated)]).drift <= 3.0
        row = dict(passes=ratio.passes(), ratio=ratio.ratio, jump=ratio.seam_difference, background=background,
                   ghost_free=bool(strays[_beside(seam, generated, len(frames))].max() <= GHOST_STRAY))
        if min(seam if seam else len(frames) // 2, len(frames) - seam) >= MIN_WINDOW:  # else too few frames to track
            cont = seam_continuity(frames, seam)
            row.update(colour=cont.colour_kept, shape=cont.shape_kept, direction=cont.direction_kept,
                       speed=cont.speed_kept(), speeds=(cont.before.speed, cont.after.speed))
        results.append(row)
    return results


def _beside(seam: int, generated, count: int) -> list[int]:
    """The FEATHER generated frames nearest the seam (between frames seam − 1 and seam, wrapping at 0)."""
    return sorted(generated, key=lambda j: min(abs(j - seam), abs(j - (seam - 1) % count)))[:FEATHER]


def summary(name: str, rows: list[dict], identical: float) -> str:
    ratios = sorted(r["ratio"] for r in rows if r["ratio"] == r["ratio"])
    tracked = [r for r in rows if "colour" in r]
    pct = {k: 100 * sum(r[k] for r in tracked) / len(tracked) if tracked else float("nan")
           for k in ("colour", "shape", "direction", "speed")}
    for key in ("passes", "background", "ghost_free"):  # a loop from a prompt has no fade to judge: nan
        judged = [r[key] for r in rows if key in r]
        pct[key] = 100 * sum(judged) / len(judged) if judged else float("nan")
    q = (lambda p: ratios[min(len(ratios) - 1, int(p * len(ratios)))]) if ratios else (lambda p: float("nan"))
    return (f"| {name} | {len(rows)} | {pct['passes']:.0f} % | {q(0):.2f} / {statistics.median(ratios):.2f} / "
            f"{q(0.9):.2f} / {ratios[-1]:.2f} | {pct['colour']:.0f} / {pct['shape']:.0f} / {pct['direction']:.0f} / "
            f"{pct['speed']:.0f} % | {pct['background']:.0f} % | {pct['ghost_free']:.0f} % | {100 * identical:.0f} % |")


def measure_feature(models, feature, specs, hold, seed):
    encode = lambda frames: encode_images(models[3], frames)  # noqa: E731
    cases = cases_for(feature, specs, encode)
    strength = 0.7 if feature == "blend mix" else 1.0
    decoded = sample_batch(models, [c.edit for c in cases], [caption(c.spec) for c in cases], hold, seed, strength)
    rows = {"anchored": [], "raw": []}
    identical, motion_follows = 0, 0
    for case, window in zip(cases, decoded):
        for mode in rows:
            frames = finish(case.edit, window, anchor=mode == "anchored")
            rows[mode] += judge(case, frames)
        frames = finish(case.edit, window)
        identical += bool(torch.equal(frames[case.edit.given], case.edit.frames[case.edit.given]))
        if feature == "image to video":
            seen = analyse_clip(frames).objects
            motion_follows += bool(seen) and seen[0].motion == case.spec.objects[0].motion
    lines = [summary(f"{feature}, {hold}, {mode}", r, identical / len(cases)) for mode, r in rows.items()]
    if feature == "image to video":
        lines.append(f"| image to video, {hold}: motion follows the prompt in {100 * motion_follows / len(cases):.0f} % |")
    return lines


def measure_wrap(models, specs, seed, frames=FRAMES):
    """A new loop from a prompt: text to video with circular time (the plan's wrap: the clip sampled twice
    per step, once rolled by half, fused), against the same without wrap; the seam is last → first frame."""
    dit, encoder, tokenizer, vae = models
    context = encode_text(encoder, tokenizer, [caption(s) for s in specs] + [""])
    lines = []
    for wrap in (False, True):
        plan = SamplingPlan(latent=torch.zeros(latent_shape(len(specs), SIZE, SIZE, frames)), positive=context[:-1],
                            negative=context[-1:], wrap=wrap)
        out = to_images(vae.decode(run_plan(dit, plan, SamplerSettings(seed=seed, **SETTINGS))))
        clips = out.reshape(len(specs), frames, SIZE, SIZE, 3)
        rows = [dict(passes=r.passes(), ratio=r.ratio, background=True) for r in
                (seam_ratio(clip, 0, range(frames)) for clip in clips)]
        lines.append(summary(f"loop from a prompt, {'circular time' if wrap else 'plain text to video'}", rows, 1.0))
    return lines


def measure_drift(models, specs, hold, seed, links=4):
    """Chain `links` forward extensions of 12 frames (the model sees the last 5); drift of the last 12.
    Run on the specs as drawn and again with every object still: a moving object leaves the 64-pixel
    frame within 65 frames, and then there is no object colour to keep."""
    still = [dataclasses.replace(s, objects=tuple(dataclasses.replace(o, motion="still") for o in s.objects))
             for s in specs]
    return "\n".join(chained_drift(models, chosen, hold, seed, links, name)
                     for name, chosen in (("as drawn", specs), ("still objects", still)))


def chained_drift(models, specs, hold, seed, links, name):
    encode = lambda frames: encode_images(models[3], frames)  # noqa: E731
    clips = [render_clip(spec, FRAMES, SIZE) for spec in specs]
    originals = [c.clone() for c in clips]
    for link in range(links):
        edits = [compile_timeline(extend(c, 0, -1, "forward", 12, 5), encode) for c in clips]
        windows = sample_batch(models, edits, [caption(s) for s in specs], hold, seed + link)
        clips = [finish(e, w) for e, w in zip(edits, windows)]
    drifts = [background_drift(o, c[-12:]) for o, c in zip(originals, clips)]
    within = sum(d.drift <= 3.0 for d in drifts)
    kept = sum(d.colour_kept for d in drifts)
    values = sorted(d.drift for d in drifts)
    return (f"| chained extension ×{links}, {name}, {hold} | {len(specs)} | background drift ≤ 3 %: {100 * within / len(specs):.0f} % "
            f"(median {statistics.median(values):.2f} %, max {values[-1]:.2f} %) | object colour kept "
            f"{100 * kept / len(specs):.0f} % | {len(clips[0])} frames |")


def measure_speed(models, seed, repeats=3):
    """Seconds, best of `repeats`, end to end (frames out): text to video of the output length against
    extending a clip to that length (encode the context, sample the window, decode, finish)."""
    dit, encoder, tokenizer, vae = models
    spec = sample_specs(1, seed)[0]
    clip, prompt = render_clip(spec, 33, SIZE), caption(spec)

    def text_to_video(frames):
        context = encode_text(encoder, tokenizer, [prompt, ""])
        latent = generate_latent(dit, torch.zeros(latent_shape(1, SIZE, SIZE, frames)), context[:1], context[1:],
                                 SamplerSettings(seed=seed, **SETTINGS))
        return to_images(vae.decode(latent))

    def extension(kept, add):
        edit = compile_timeline(extend(clip[:kept], 0, -1, "forward", add, 5), lambda f: encode_images(vae, f))
        return finish(edit, sample_batch(models, [edit], [prompt], "timestep", seed)[0])

    return [(f"{kept} frames + {add} → {kept + add}", best_time(lambda: text_to_video(kept + add), repeats),
             best_time(lambda: extension(kept, add), repeats)) for kept, add in ((5, 12), (17, 16))]


FEATURES = ("extend forward", "extend forward, 7 kept", "extend backward", "extend both", "image to video", "loop",
            "blend transition", "blend transition, B continues A", "blend mix")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--holds", nargs="+", default=["timestep", "noise_mask"])
    parser.add_argument("--features", nargs="+", default=list(FEATURES) + ["wrap", "drift", "speed"])
    args = parser.parse_args()
    models = load_models()
    specs = sample_specs(args.cases, seed=args.seed, split="train")
    print(f"{args.cases} cases per feature, seed {args.seed}, {torch.get_num_threads()} threads")
    print(HEADER)
    with torch.no_grad():
        for hold in args.holds:
            for feature in args.features:
                if feature == "drift":
                    print(measure_drift(models, specs, hold, args.seed), flush=True)
                elif feature == "wrap":
                    print("\n".join(measure_wrap(models, specs, args.seed)), flush=True)
                elif feature != "speed":
                    print("\n".join(measure_feature(models, feature, specs, hold, args.seed)), flush=True)
        if "speed" in args.features:
            print("| extension | text to video of the output length | extension (model window: 5 kept + new) |")
            for name, t2v, ext in measure_speed(models, args.seed):
                print(f"| {name} | {t2v:.2f} s | {ext:.2f} s |")


if __name__ == "__main__":
    main()
