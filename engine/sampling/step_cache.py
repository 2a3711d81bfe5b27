"""Step caching: skip DiT evaluations whose output the earlier steps predict (EasyCache's rule, written for
our velocity layer).

Between two steps a DiT's output changes about in proportion to its input: |Δv| ≈ k·|Δx|, where the
rate k is measured on the last two computed steps. Summing k·|Δx| / |v| (the output's predicted relative
change) step after step, a step is skipped while the sum stays below the threshold, and the first step
over it is computed and starts the sum again.

A skipped step keeps the noise the last computed step predicted. In rectified flow x = (1 − σ)·x0 + σ·n
and v = n − x0, so a computed step's noise is n_c = x_c + (1 − σ_c)·v_c, and at the skipped step's x
and σ the velocity that keeps it is v = (n_c − x) / (1 − σ): the clean estimate follows x. Measured
against keeping EasyCache's output − input (v = x + v_c − x_c) on the shapes-world model at the same
steps skipped: +1.1 to +3.4 dB PSNR against the uncached clip (bench/RESULTS.md, "Step caching": "The
noise kept on skipped steps").
EasyCache needs only the model's inputs and outputs, no per-model calibration (MagCache's magnitude
ratios, TeaCache's fitted polynomial), so it works for any DiT, schedule and plan.

Two layers of one StepCache, each wrapping what they are given as the denoisers do:
  cache.velocity(velocity_model)    innermost, around the DiT itself: evaluates or predicts each call
  cache.steps(denoise, sigmas)      outermost, what the solver calls once per step: marks the steps
A step's calls (CFG's two prompts, FlowEdit's four, every fused window) are told apart by their order
within the step; the skip is decided once, on its first call, for all of them, so a step is computed
whole or skipped whole and the guidance combines two outputs of the same step. The cache sits below
CFG for that reason: what it predicts is the DiT's own output, and `evaluations` counts the clips
(batch rows) the DiT was run on exactly. Per-frame sigma ([B, T]) and held frames need nothing special:
kept frames are shown the same input every step and so add no change.

Each clip of a batch decides for itself (its own rate, sum and kept noise), and the DiT is run on the
clips that compute only, so a clip comes out as it would alone with the same noise: a result does not
depend on what else was queued with it. Core's MODEL patch keeps one decision per call: core hands it
cond and uncond rows together with conditioning it alone knows how to cut.
"""
from dataclasses import dataclass, field

import torch

from .denoisers import TIMESTEP_MULTIPLIER, frame_sigma

WARMUP_STEPS = 3  # the first steps lay the clip out and set the rate k: always computed (3 measured best)
# The speed/quality levels users choose from (bench/step_cache.py measures them; bench/RESULTS.md).
LEVELS = {"safe": 0.2, "fast": 0.3}
LEVELS_HELP = ("safe (about 2.4× fewer evaluations at 20 steps, small changes to the clip) or fast (about 2.9× "
               "fewer, larger changes); the first three steps and the last one are always evaluated.")


def last_level(sigmas: torch.Tensor) -> float:
    """The noise level of a schedule's last model step: its last sigma but one (a solver evaluates at every
    level but the one it ends on; core's UniPC overwrites a final 0 with 1e-3 in the schedule itself)."""
    levels = torch.unique_consecutive(sigmas)
    return float(levels[-2]) if len(levels) > 1 else 0.0


def mean_abs(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Mean |x| over each of `groups` equal parts of the batch: [groups]."""
    return x.float().abs().reshape(groups, -1).mean(1)


def per_row(mask: torch.Tensor, ndim: int) -> torch.Tensor:
    """A [groups] mask shaped to broadcast over a [groups, ...] tensor of `ndim` dimensions."""
    return mask.reshape(-1, *([1] * (ndim - 1)))


def batch_rows(value, rows: torch.Tensor, batch: int):
    """`value` for the batch rows `rows`: a tensor of one entry per row is cut, anything else (a context
    shared by the batch, FramePrompts) passes as it is."""
    if isinstance(value, torch.Tensor) and value.ndim > 0 and value.shape[0] == batch:
        return value[rows.to(value.device)]  # a prompt may still be on the CPU here; the model moves it
    return value


@dataclass
class StepCache:
    """threshold: the summed predicted relative change of the DiT's output up to which steps are skipped
    (0: every step computed). evaluations / skipped count clips (batch rows) the DiT was and was not run
    on, over every pass."""
    threshold: float
    warmup: int = WARMUP_STEPS
    evaluations: int = 0
    skipped: int = 0
    _pass: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if not self.threshold >= 0:  # NaN too
            raise ValueError(f"the step cache threshold is {self.threshold}: give 0 (off) or more")

    def steps(self, denoise, sigmas: torch.Tensor):
        """Wrap the solver's `denoise(x, sigma)`; each wrapper is one pass over `sigmas` (a chained window
        is a pass of its own). The last model step (at the smallest positive sigma) is always computed."""
        final = last_level(sigmas)
        step = [0]

        def marked(x, sigma, **kwargs):
            self.begin_step(float(torch.as_tensor(sigma).max()), final, first=step[0] == 0)
            step[0] += 1
            return denoise(x, sigma, **kwargs)

        return marked

    def begin_step(self, level: float, final: float, first: bool) -> None:
        """A new step at noise level `level` (the largest, with per-frame levels): the first of a new pass,
        or the next of this one; at `final` it is computed."""
        if first or not self._pass:
            self._pass = dict(step=0)
        else:
            self._pass["step"] += 1
        self._pass.update(call=0, last=level <= final, level=level)

    def velocity(self, velocity_model, timestep_multiplier: float = TIMESTEP_MULTIPLIER, per_clip: bool = True):
        """Wrap `velocity_model(x, t, context, **kw) -> v`, t = σ·timestep_multiplier: evaluated, or
        predicted on skipped steps. per_clip: each batch row decides for itself; else the call as a whole."""
        def cached(x, t, context, **kwargs):
            state = self._pass
            if not state:  # called outside `steps` (e.g. a plain model call): nothing to decide on
                self.evaluations += x.shape[0]
                return velocity_model(x, t, context, **kwargs)
            call = state["call"]
            state["call"] += 1
            groups = x.shape[0] if per_clip else 1
            if call == 0:
                state["skip"] = self._should_skip(state, x, groups)
            noises = state.setdefault("noises", {})
            # A call with no kept noise of its shape computes: core may batch cond and uncond together on one
            # step and apart on the next, as memory allows.
            kept = call in noises and noises[call][0].shape == x.shape
            compute = ~state["skip"] if kept else torch.ones(groups, dtype=torch.bool, device=x.device)
            one_minus_sigma = 1 - frame_sigma(torch.as_tensor(t, dtype=torch.float32, device=x.device)
                                              / timestep_multiplier, x.ndim)
            if compute.all():
                v = velocity_model(x, t, context, **kwargs)
            else:
                noise, dtype = noises[call]
                v = ((noise - x.float()) / one_minus_sigma.clamp_min(1e-3)).to(dtype)
                if compute.any():  # per clip only: the DiT runs on the clips that compute
                    rows, batch = compute.nonzero().squeeze(1), x.shape[0]
                    cut = {name: batch_rows(value, rows, batch) for name, value in kwargs.items()}
                    v[rows] = velocity_model(x[rows], batch_rows(t, rows, batch), batch_rows(context, rows, batch),
                                             **cut).to(dtype)
            per_group = x.shape[0] // groups
            self.evaluations += int(compute.sum()) * per_group
            self.skipped += int((~compute).sum()) * per_group
            noise = x.float() + one_minus_sigma * v.float()
            if not compute.all():  # a skipped clip keeps the noise of its last computed step
                noise = torch.where(per_row(compute, x.ndim), noise, noises[call][0])
            noises[call] = (noise, v.dtype)
            if call == 0:
                self._computed(state, x, v, compute, groups)
            return v

        return cached

    def _should_skip(self, state: dict, x: torch.Tensor, groups: int) -> torch.Tensor:
        """Which groups skip this step: [groups] bool."""
        previous, state["x_step"] = state.get("x_step"), x
        if (self.threshold == 0 or state["step"] < self.warmup or state["last"] or "rate" not in state
                or previous is None or previous.shape != x.shape):
            return torch.zeros(groups, dtype=torch.bool, device=x.device)
        state["change"] = state["change"] + state["rate"] * mean_abs(x - previous, groups) / state["v_norm"]
        return state["change"] < self.threshold  # a NaN rate (not measured yet) computes

    @staticmethod
    def _computed(state: dict, x: torch.Tensor, v: torch.Tensor, compute: torch.Tensor, groups: int) -> None:
        """After a step's first call: for the groups that computed it, the rate k from their last two
        computed steps, and their sums start again."""
        norm = mean_abs(v, groups).clamp_min(1e-12)
        if "x_computed" not in state or state["x_computed"].shape != x.shape:
            state.update(x_computed=x, v_computed=v, v_norm=norm, change=torch.zeros_like(norm),
                         rate=torch.full_like(norm, float("nan")))
            return
        input_change = mean_abs(x - state["x_computed"], groups)
        rate = mean_abs(v - state["v_computed"], groups) / input_change
        rows = per_row(compute, x.ndim)
        state.update(rate=torch.where(compute & (input_change > 0), rate, state["rate"]),
                     x_computed=torch.where(rows, x, state["x_computed"]),
                     v_computed=torch.where(rows, v, state["v_computed"]),
                     v_norm=torch.where(compute, norm, state["v_norm"]),
                     change=torch.where(compute, 0.0, state["change"]))


def core_model_wrapper(cache: StepCache, report=None):
    """The cache for a core MODEL: a `model_function_wrapper` (ModelPatcher.set_model_unet_function_wrapper).

    Core calls it as wrapper(apply_model, {"input": x, "timestep": sigma [rows], "c": kwargs,
    "cond_or_uncond": ...}) once per batch of prompts and step, and apply_model returns x0 = x − σ·v for a
    flow model. Steps are told apart by sigma (a new pass when it rises or core's schedule changes), the
    last one by core's sample_sigmas; the velocity is what is cached, as in our sampler.
    `report(computed, steps)` is called at the last step of each pass. Nothing here imports ComfyUI: core's
    function arrives as an argument.
    """
    seen = dict(level=None, sigmas=None, steps=0, computed=0)
    velocity = cache.velocity(lambda x, sigma, evaluate: evaluate(x), timestep_multiplier=1.0,  # core's σ itself
                              per_clip=False)

    @torch.no_grad()
    def wrapper(apply_model, args):
        x, sigma, c = args["input"], args["timestep"], args["c"]
        sigmas = c.get("transformer_options", {}).get("sample_sigmas")
        level = float(sigma.max())
        first_call = level != seen["level"] or sigmas is not seen["sigmas"]
        if first_call:
            first = seen["level"] is None or level > seen["level"] or sigmas is not seen["sigmas"]
            final = last_level(sigmas) if sigmas is not None else 0.0
            cache.begin_step(level, final, first)
            seen.update(level=level, sigmas=sigmas, steps=1 if first else seen["steps"] + 1,
                        computed=0 if first else seen["computed"])
        rows = sigma.reshape(-1, *([1] * (x.ndim - 1)))
        made = {}

        def evaluate(x):
            made["x0"] = apply_model(x, sigma, **c)
            return (x - made["x0"]) / rows

        v = velocity(x, sigma, evaluate)
        if first_call:
            seen["computed"] += bool(made)
            if report is not None and level <= final:
                report(seen["computed"], seen["steps"])
        return made["x0"] if made else x - v * rows  # a computed step: core's own output, untouched

    return wrapper
