"""Our nodes mixed with core's on the same tiny files: same decode, same sampling, shared CONDITIONING."""
import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file

from tiny_models import TINY_FILES
from numerics import relative_l2

LATENT = {"width": 64, "height": 48, "length": 9, "batch_size": 1}
SAMPLING = {"seed": 7, "steps": 3, "cfg": 4.0}


def shared_graph(negative=("4", 1)):
    """Our loaders, text encode and empty latent; `negative` is the negative conditioning's source."""
    return {
        "1": {"class_type": "SpacetimeLoadDiT", "inputs": {"dit_name": TINY_FILES["diffusion_models"],
                                                            "dtype": "default", "attention": "sdpa"}},
        "2": {"class_type": "SpacetimeLoadTextEncoder",
              "inputs": {"text_encoder_name": TINY_FILES["text_encoders"], "dtype": "default"}},
        "4": {"class_type": "SpacetimeTextEncode", "inputs": {"text_encoder": ["2", 0],
                                                               "prompt": "a red fox runs across the snowy field",
                                                               "negative_prompt": "the old man at night"}},
        "5": {"class_type": "SpacetimeEmptyVideoLatent", "inputs": LATENT},
        "6": {"class_type": "SpacetimeSampler", "inputs": {
            "dit": ["1", 0], "positive": ["4", 0], "negative": list(negative), "latent": ["5", 0],
            **SAMPLING, "shift": 8.0, "sampler": "euler", "denoise": 1.0}},
    }


def with_core_sampler(graph, negative=("4", 1)):
    graph["7"] = {"class_type": "UNETLoader", "inputs": {"unet_name": TINY_FILES["diffusion_models"],
                                                         "weight_dtype": "default"}}
    graph["8"] = {"class_type": "KSampler", "inputs": {
        "model": ["7", 0], "positive": ["4", 0], "negative": list(negative), "latent_image": ["5", 0],
        **SAMPLING, "sampler_name": "euler", "scheduler": "simple", "denoise": 1.0}}
    graph["9"] = {"class_type": "SaveLatent", "inputs": {"samples": ["6", 0], "filename_prefix": "interop/ours"}}
    graph["10"] = {"class_type": "SaveLatent", "inputs": {"samples": ["8", 0], "filename_prefix": "interop/core"}}
    return graph


def saved_latents(host, result):
    files = {path.name.split("_")[0]: path for path in host.files_of(result)}
    return (load_file(str(files["ours"]))["latent_tensor"], load_file(str(files["core"]))["latent_tensor"])


@pytest.mark.parametrize("batch, denoise, sampler", [(1, 1.0, "euler"), (2, 0.6, "euler"), (1, 1.0, "uni_pc")])
def test_our_sampler_reproduces_core_ksampler(host, batch, denoise, sampler):
    graph = with_core_sampler(shared_graph())
    graph["5"]["inputs"]["batch_size"] = batch
    graph["6"]["inputs"].update(denoise=denoise, sampler=sampler)
    graph["8"]["inputs"].update(denoise=denoise, sampler_name=sampler)
    result = host.run(graph)
    assert result.status == "success", result.error
    ours, core = saved_latents(host, result)
    assert ours.shape == core.shape == (batch, 16, 3, 6, 8)
    assert relative_l2(ours, core) <= 1e-4


def test_conditioning_edited_by_core_nodes_drives_our_sampler(host):
    graph = shared_graph(negative=("11", 0))
    graph["11"] = {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["4", 1]}}
    result = host.run(with_core_sampler(graph, negative=("11", 0)))
    assert result.status == "success", result.error
    ours, core = saved_latents(host, result)
    assert relative_l2(ours, core) <= 1e-4

    concat = shared_graph()
    concat["12"] = {"class_type": "ConditioningConcat", "inputs": {"conditioning_to": ["4", 0],
                                                                    "conditioning_from": ["4", 1]}}
    concat["6"]["inputs"]["positive"] = ["12", 0]
    concat["9"] = {"class_type": "SaveLatent", "inputs": {"samples": ["6", 0], "filename_prefix": "interop/concat"}}
    result = host.run(concat)
    assert result.status == "success", result.error
    (path,) = host.files_of(result)
    assert load_file(str(path))["latent_tensor"].isfinite().all()


def test_core_vae_decode_equals_our_decode(host):
    graph = shared_graph()
    graph["3"] = {"class_type": "SpacetimeLoadVAE", "inputs": {"vae_name": TINY_FILES["vae"], "dtype": "fp32"}}
    graph["13"] = {"class_type": "SpacetimeDecode", "inputs": {"vae": ["3", 0], "latent": ["6", 0], "tile_size": 0}}
    graph["14"] = {"class_type": "VAELoader", "inputs": {"vae_name": TINY_FILES["vae"]}}
    graph["15"] = {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["14", 0]}}
    graph["16"] = {"class_type": "SaveImage", "inputs": {"images": ["13", 0], "filename_prefix": "decode/ours"}}
    graph["17"] = {"class_type": "SaveImage", "inputs": {"images": ["15", 0], "filename_prefix": "decode/core"}}
    result = host.run(graph)
    assert result.status == "success", result.error
    frames = {"ours": [], "core": []}
    for path in sorted(host.files_of(result)):
        frames[path.name.split("_")[0]].append(np.asarray(Image.open(path), dtype=np.int16))
    ours, core = np.stack(frames["ours"]), np.stack(frames["core"])
    assert ours.shape == core.shape == (9, 48, 64, 3)
    assert np.abs(ours - core).max() <= 1  # equal up to 8-bit rounding of the PNGs
    assert ours.std() > 1  # a real picture, not a constant
