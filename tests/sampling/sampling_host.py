"""The host ComfyUI's own sampling code, the reference our sampler must reproduce, plus the small stand-ins
core's samplers need in place of a loaded model."""
import functools
import types

import torch

from conftest import import_host_comfy


@functools.cache
def core():
    """Core's sampling modules (import_host_comfy switches the host to its CPU device first)."""
    import_host_comfy()
    import comfy.k_diffusion.sampling
    import comfy.model_base
    import comfy.model_sampling
    import comfy.sample
    import comfy.samplers
    from comfy.extra_samplers import uni_pc

    return types.SimpleNamespace(samplers=comfy.samplers, sample=comfy.sample, model_sampling=comfy.model_sampling,
                                 model_base=comfy.model_base, k_sampling=comfy.k_diffusion.sampling, uni_pc=uni_pc)


def flow_model_sampling(shift: float):
    """What ModelSamplingSD3 / Wan's config install: discrete flow sigmas with CONST (flow) scaling."""
    ms = core().model_sampling

    class FlowSampling(ms.ModelSamplingDiscreteFlow, ms.CONST):
        pass

    sampling = FlowSampling()
    sampling.set_parameters(shift=shift, multiplier=1000)
    return sampling


def core_ksampler_sigmas(steps: int, shift: float, sampler: str, denoise: float) -> torch.Tensor:
    """The sigmas core's KSampler node computes ("simple" scheduler)."""
    class Patcher:  # all KSampler asks of a ModelPatcher
        def get_model_object(self, name):
            assert name == "model_sampling"
            return flow_model_sampling(shift)

    return core().samplers.KSampler(Patcher(), steps, "cpu", sampler, "simple", denoise).sigmas


def core_ksampler_run(sampler: str, denoise_x0, sigmas, noise, latent, denoise_mask=None):
    """Core's KSAMPLER.sample (noise scaling, noise-mask inpainting, solver, inverse scaling) on a plain
    x0 function standing in for the CFG-wrapped model."""
    c = core()

    class BaseModel:  # the parts of comfy.model_base.BaseModel the sampler touches
        model_sampling = flow_model_sampling(1.0)
        scale_latent_inpaint = c.model_base.BaseModel.scale_latent_inpaint

    class Guider:  # stands in for CFGGuider: called with (x, sigma, model_options=, seed=)
        inner_model = BaseModel()

        def __call__(self, x, sigma, model_options=None, seed=None):
            return denoise_x0(x, sigma)

    extra_args = {"model_options": {}, "seed": 0}
    return c.samplers.sampler_object(sampler).sample(Guider(), sigmas.clone(), extra_args, None, noise, latent,
                                                     denoise_mask, disable_pbar=True)


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


def toy_denoiser(shape, seed: int = 7):
    """A smooth nonlinear x0(x, sigma) with channel mixing; takes sigma as a scalar, [B] or [B, T]."""
    g = torch.Generator().manual_seed(seed)
    target = torch.randn(shape, generator=g)
    mix = torch.randn(shape[1], shape[1], generator=g) / shape[1] ** 0.5

    def x0(x, sigma):
        s = torch.as_tensor(sigma, dtype=x.dtype)
        if s.ndim == 1:
            s = s.reshape(-1, *([1] * (x.ndim - 1)))
        elif s.ndim == 2:
            s = s.reshape(s.shape[0], 1, s.shape[1], *([1] * (x.ndim - 3)))
        mixed = torch.einsum("dc,bcthw->bdthw", mix, x)
        return target + 0.3 * torch.tanh(mixed) * (1 - 0.5 * s)

    return x0
