"""generate_latent (model + latent format + sampler) against core's own KSampler sampling on core's own
Wan MODEL, in process: the same tiny random checkpoint loaded by both, on inputs where the glue matters.

- a real (non-zero) raw latent at denoise < 1: core normalises it (Wan21 latent format) before adding
  noise, and denormalises the result; an empty latent hides that, a real one does not.
- text conditioning longer than 512 tokens (ConditioningConcat of two prompts): core's Wan model attends
  to every row, so ours must too.
- kept frames (core's noise mask) on a real latent.
"""
import pytest
import torch
from safetensors.torch import save_file

from numerics import relative_l2
from sampling_host import core
from tiny_models import TINY_DIT, random_wan_state_dict
from spacetime.engine.generation import SamplerSettings, generate_latent
from spacetime.engine.models.checkpoint import load_dit
from spacetime.engine.models.latent_format import WAN21

SHAPE = (1, 16, 3, 6, 8)  # a 64x48, 9-frame video's latent
PARITY = 1e-5  # float32 on both sides, same model maths: only summation order differs


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("generation") / "tiny_wan_t2v.safetensors"
    save_file(random_wan_state_dict(**TINY_DIT), str(path))
    return path


@pytest.fixture(scope="module")
def core_model(checkpoint):
    """Core's ModelPatcher around its WanModel, as UNETLoader gives it."""
    core()  # the host on its CPU device
    import comfy.sd

    return comfy.sd.load_diffusion_model(str(checkpoint), model_options={"dtype": torch.float32})


@pytest.fixture(scope="module")
def our_dit(checkpoint):
    return load_dit(checkpoint, dtype=torch.float32)


def real_latent(shape=SHAPE, seed=3):
    """A raw latent with Wan 2.1's per-channel statistics, as the VAE encoder gives one."""
    z = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    return WAN21.denormalize(z)


def prompt_embedding(seed, tokens=512, words=14):
    """A text encoder's output [1, tokens, 4096]: `words` rows of text, zero padding rows after."""
    embedding = torch.zeros(1, tokens, TINY_DIT["text_dim"])
    embedding[:, :words] = torch.randn(1, words, TINY_DIT["text_dim"], generator=torch.Generator().manual_seed(seed))
    return embedding


def core_ksampler(model, latent, positive, negative, settings, noise_mask=None):
    """What core's KSampler node does with a LATENT {"samples": latent} and these settings."""
    c = core()
    noise = c.sample.prepare_noise(latent, settings.seed)
    return c.sample.sample(model, noise, settings.steps, settings.cfg, settings.sampler, "simple",
                           [[positive, {}]], [[negative, {}]], latent, denoise=settings.denoise,
                           noise_mask=noise_mask, disable_pbar=True, seed=settings.seed)


@torch.no_grad()
def test_real_latent_at_partial_denoise_matches_core(core_model, our_dit):
    latent = real_latent()
    positive, negative = prompt_embedding(1), prompt_embedding(2)
    settings = SamplerSettings(seed=5, steps=2, cfg=4.0, shift=8.0, sampler="euler", denoise=0.6)
    ours = generate_latent(our_dit, latent, positive, negative, settings)
    theirs = core_ksampler(core_model, latent, positive, negative, settings)
    assert relative_l2(ours, theirs) <= PARITY


@torch.no_grad()
def test_conditioning_longer_than_512_tokens_matches_core(core_model, our_dit):
    positive = torch.cat([prompt_embedding(1), prompt_embedding(3)], dim=1)  # ConditioningConcat's [1, 1024, D]
    negative = prompt_embedding(2)
    settings = SamplerSettings(seed=9, steps=2, cfg=4.0, shift=8.0, sampler="euler")
    latent = torch.zeros(SHAPE)
    ours = generate_latent(our_dit, latent, positive, negative, settings)
    theirs = core_ksampler(core_model, latent, positive, negative, settings)
    assert relative_l2(ours, theirs) <= PARITY
    # the rows past 512 change the result (else the comparison above would prove nothing)
    cut = generate_latent(our_dit, latent, positive[:, :512], negative, settings)
    assert relative_l2(cut, theirs) > 100 * PARITY


@torch.no_grad()
def test_kept_frames_of_a_real_latent_match_core_noise_mask(core_model, our_dit):
    latent = real_latent(seed=8)
    keep = torch.tensor([1.0, 0.0, 1.0])
    positive, negative = prompt_embedding(1), prompt_embedding(2)
    settings = SamplerSettings(seed=2, steps=2, cfg=4.0, shift=8.0, sampler="euler", denoise=0.8)
    ours = generate_latent(our_dit, latent, positive, negative, settings, keep=keep)
    noise_mask = (1.0 - keep).reshape(3, 1, 1, 1).expand(3, 1, *SHAPE[3:])  # SetLatentNoiseMask's layout
    theirs = core_ksampler(core_model, latent, positive, negative, settings, noise_mask=noise_mask)
    assert relative_l2(ours, theirs) <= PARITY
    torch.testing.assert_close(ours[:, :, keep.bool()], latent[:, :, keep.bool()], atol=1e-5, rtol=1e-5)
