"""UniPC (Zhao et al., 2023): a multistep predictor-corrector, run as core's "uni_pc" / "uni_pc_bh2" run it.

Core treats each sigma as a variance-exploding noise level and solves in the variance-preserving view
z = α·x with α = 1/√(1+σ²), std = σ·α and log-SNR λ = log α − log std (= −log σ), predicting data (x0)
and correcting every step with the model's x0 at the new point, which is then reused by the next step,
so N steps cost N model calls. A flow model's ODE dx/dσ = (x − x0)/σ has exactly this form, which is
why core uses the same solver for Wan. Details kept so outputs equal core's:
- a final sigma of 0 becomes 1e-3 (λ would be infinite), and the result is then divided by (1 − 1e-3):
  core's inverse flow noise scaling, applied at that sigma because core's solver overwrites the last
  entry of the schedule it was given;
- α, std, λ in core's log form and dtype (float32 rounding at σ ≈ 1e-3 visibly moves the last step);
- the model sees x = z·√(1+σ²) and its x0 passes through a noise estimate, as in core;
- order min(3, steps − 1), lowered for the first steps and the last ones; no corrector after the last step.
Deliberate differences: core's one-step run returns its input unchanged, here it is one first-order step;
and a sigma repeated in the schedule (core's simple schedule repeats levels once it plans more steps than
the model's 1000-level table holds) is a zero-length step, dropped here, where core divides by zero.
"""
import torch

FINAL_SIGMA = 1e-3


def vp_view(sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(α, std, λ) of variance-exploding noise levels, computed in core's log form."""
    log_alpha = 0.5 * torch.log(1 / (sigma * sigma + 1))
    variance = 1 - torch.exp(2 * log_alpha)
    return torch.exp(log_alpha), torch.sqrt(variance), log_alpha - 0.5 * torch.log(variance)


def step_coefficients(rks: torch.Tensor, hh: torch.Tensor, b_h: torch.Tensor, order: int):
    """The UniPC linear system: R[k] = rks**k and b[k] = (k+1)!·φ_{k+1}(hh)/B(h), k < order."""
    rows, rhs = [], []
    h_phi = torch.expm1(hh) / hh - 1
    factorial = 1
    for k in range(1, order + 1):
        rows.append(rks ** (k - 1))
        rhs.append(h_phi * factorial / b_h)
        factorial *= k + 1
        h_phi = h_phi / hh - 1 / factorial
    return torch.stack(rows), torch.stack(rhs)


@torch.no_grad()
def unipc(denoise, x: torch.Tensor, sigmas: torch.Tensor, callback=None, variant: str = "bh1") -> torch.Tensor:
    """Solve from sigmas[0] to sigmas[-1] with UniPC; variant "bh1" (core's uni_pc) or "bh2" (uni_pc_bh2)."""
    if variant not in ("bh1", "bh2"):
        raise ValueError(f"UniPC variant must be 'bh1' or 'bh2', got {variant!r}.")
    times = torch.unique_consecutive(sigmas)  # a copy: the final 0 is overwritten below
    ends_at_zero = bool(times[-1] == 0)
    if ends_at_zero:
        times[-1] = FINAL_SIGMA
    steps = len(times) - 1
    order = max(1, min(3, steps - 1))
    alpha, std, lam = vp_view(times)

    def x0_at(z, i):
        x_in = z * ((times[i] ** 2 + 1.0) ** 0.5)
        noise = (x_in - denoise(x_in, times[i])) / times[i]
        return (z - std[i] * noise) / alpha[i]

    z = x / torch.sqrt(1.0 + times[0] ** 2.0)
    history = [(0, x0_at(z, 0))]  # (index into times, x0 there), newest last
    for i in range(1, steps + 1):
        step_order = min(i, order, steps + 1 - i)
        last = i == steps
        z, x0 = _update(z, history[-step_order:], i, variant, not last, x0_at, alpha, std, lam)
        if not last:
            history = (history + [(i, x0)])[-order:]
        if callback is not None:
            callback(i - 1, z / alpha[i], history[-1][1])
    x = z / alpha[-1]
    return x / (1.0 - times[-1]) if ends_at_zero else x


def _update(z, used, i, variant, correct, x0_at, alpha, std, lam):
    """One UniPC step from the newest point in `used` to times[i]: predictor, then optionally corrector."""
    j0, m0 = used[-1]
    h = lam[i] - lam[j0]
    hh = -h  # data prediction runs the exponential integrator backwards in λ
    rks, diffs = [], []
    for j, m in reversed(used[:-1]):  # earlier points, newest first
        rk = (lam[j] - lam[j0]) / h
        rks.append(rk)
        diffs.append((m - m0) / rk)
    rks = torch.stack(rks + [torch.ones_like(h)])
    b_h = hh if variant == "bh1" else torch.expm1(hh)
    order = len(used)
    R, b = step_coefficients(rks, hh, b_h, order)

    base = (std[i] / std[j0]) * z - (alpha[i] * torch.expm1(hh)) * m0
    z_new = base
    if diffs:
        rhos_p = b.new_tensor([0.5]) if order == 2 else torch.linalg.solve(R[:-1, :-1], b[:-1])
        z_new = base - (alpha[i] * b_h) * _weighted(rhos_p, diffs)
    if not correct:
        return z_new, None
    rhos_c = b.new_tensor([0.5]) if order == 1 else torch.linalg.solve(R, b)
    m_new = x0_at(z_new, i)
    correction = rhos_c[-1] * (m_new - m0)
    if diffs:
        correction = _weighted(rhos_c[:-1], diffs) + correction
    return base - (alpha[i] * b_h) * correction, m_new


def _weighted(weights, tensors):
    return sum(w * t for w, t in zip(weights, tensors))
