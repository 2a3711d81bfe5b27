"""Step caching in the real host: the Sampler's `cache` input end to end on the shipped shapes-world model,
and Step Cache on core's own Wan MODEL under core's KSampler, each against the same graph uncached.

Caching needs a model whose output changes smoothly from step to step, as a trained one's does: the
random tiny DiT's follows its random timestep modulation and nothing would be skipped, and core cannot
load the shapes-world DiT. So core's graph runs a tiny random Wan file (head dim 128) with its timestep
weights scaled down, written into the host's model folder here."""
import re

import pytest
from safetensors.torch import load_file, save_file

from graphs import base, problem_of, sampled
from tiny_models import TINY_DIT, TINY_FILES, random_wan_state_dict
from spacetime.engine.sampling.step_cache import LEVELS

STEPS = 12
SMOOTH_DIT = "smooth_tiny_wan_t2v.safetensors"
SHAPES = {"SpacetimeLoadDiT": {"dit_name": "shapes_world_t2v.safetensors"},
          "SpacetimeLoadTextEncoder": {"text_encoder_name": "shapes_world_umt5.safetensors"}}
PROMPT = "a red circle moves left on a blue background"


def shapes_graph(graph: dict) -> dict:
    for node in graph.values():
        node["inputs"].update(SHAPES.get(node["class_type"], {}))
    return graph


def latents(host, result) -> dict:
    assert result.status == "success", result.error
    return {path.name.split("_")[0]: load_file(str(path))["latent_tensor"] for path in host.files_of(result)}


def relative_error(a, b) -> float:
    return float((a - b).norm() / b.norm())


def test_sampler_cache_input_is_offered_off_by_default(object_info):
    optional = object_info["SpacetimeSampler"]["input"]["optional"]
    kind, spec = optional["cache"]
    assert kind == "COMBO" and spec["options"] == ["off", *LEVELS] and spec["default"] == "off"
    assert spec["tooltip"]
    assert object_info["SpacetimeSampler"]["input_order"]["optional"][-1] == "cache"


def test_sampler_with_cache_skips_steps_and_stays_close(host):
    graph = shapes_graph(base(64, 64, 17))
    graph["4"]["inputs"]["prompt"] = PROMPT
    steps = 20  # the shipped workflow's: at 12 the shapes model's steps change too much for `fast` to skip any
    settings = dict(steps=steps, cfg=3.0, shift=3.0, sampler="uni_pc")
    for name, cache in (("off", "off"), ("fast", "fast")):
        graph |= {k + name: v for k, v in sampled({}, **settings, cache=cache).items()}
        graph[f"9{name}"] = {"class_type": "SaveLatent", "inputs": {"samples": [f"6{name}", 0],
                                                                   "filename_prefix": f"cache/{name}"}}
    out = latents(host, host.run(graph))
    assert out["off"].shape == out["fast"].shape == (1, 16, 5, 8, 8)
    assert 0 < relative_error(out["fast"], out["off"]) < 1  # a different, sane latent (quality: bench/step_cache.py)
    lines = re.findall(r"Step cache \((\w+)\): (\d+) of (\d+) DiT evaluations", host.log_path.read_text(errors="replace"))
    assert ("fast", ) == tuple({name for name, _, _ in lines})  # off logs nothing
    made, total = map(int, lines[-1][1:])
    assert total == 2 * steps and made < total


@pytest.fixture
def smooth_dit(host):
    path = host.base / "models" / "diffusion_models" / SMOOTH_DIT
    if not path.exists():
        weights = random_wan_state_dict(**TINY_DIT)
        for key in weights:
            if key.startswith(("time_embedding", "time_projection")):
                weights[key] = weights[key] * 0.01
        save_file(weights, str(path))
    return SMOOTH_DIT


def core_graph(cache=None):
    """Core's UNETLoader on the smooth tiny DiT under core's KSampler, through Step Cache when given."""
    model = ["1", 0] if cache is None else ["3", 0]
    graph = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": SMOOTH_DIT,
                                                     "weight_dtype": "default"}},
        "2": {"class_type": "SpacetimeLoadTextEncoder",
              "inputs": {"text_encoder_name": TINY_FILES["text_encoders"], "dtype": "default"}},
        "4": {"class_type": "SpacetimeTextEncode", "inputs": {"text_encoder": ["2", 0], "prompt": "a red fox",
                                                               "negative_prompt": "the old man at night"}},
        "5": {"class_type": "SpacetimeEmptyVideoLatent", "inputs": {"width": 64, "height": 48, "length": 9,
                                                                      "batch_size": 1}},
        "6": {"class_type": "KSampler", "inputs": {"model": model, "positive": ["4", 0], "negative": ["4", 1],
                                                   "latent_image": ["5", 0], "seed": 3, "steps": STEPS, "cfg": 4.0,
                                                   "sampler_name": "uni_pc", "scheduler": "simple",
                                                   "denoise": 1.0}},
        "7": {"class_type": "SaveLatent", "inputs": {"samples": ["6", 0],
                                                     "filename_prefix": f"core_cache/{cache or 'off'}"}},
    }
    if cache is not None:
        graph["3"] = {"class_type": "SpacetimeStepCache", "inputs": {"model": ["1", 0], "cache": cache}}
    return graph


def test_step_cache_on_core_model_computes_fewer_steps_under_core_ksampler(host, smooth_dit):
    off = latents(host, host.run(core_graph()))["off"]
    before = host.log_path.read_text(errors="replace")
    cached = latents(host, host.run(core_graph("fast")))["fast"]
    log = host.log_path.read_text(errors="replace")[len(before):]
    (computed, steps), = [tuple(map(int, m)) for m in re.findall(r"Step Cache \(fast\): computed (\d+) of (\d+) steps", log)]
    assert steps == STEPS and computed < steps
    assert 0 < relative_error(cached, off) < 1 and cached.isfinite().all()


def test_step_cache_node_refuses_an_unknown_level(host, smooth_dit):
    graph = core_graph("fast")
    graph["3"]["inputs"]["cache"] = "fastest"
    problem = problem_of(host, graph)
    assert "fastest" in problem and "safe" in problem
