"""SpacetimeSampler's optional inputs and odd conditionings in the real host, against core's KSampler on
core's own Wan MODEL (the same tiny file) wherever core defines the answer.

Latents that are not empty come from core's LoadLatent (a raw latent with Wan 2.1's statistics, written
to the host's input folder); conditionings no core node can build (one prompt per batch item, a wrong
width, nothing at all) come from core's LoadTrainingDataset, which loads any CONDITIONING from a file.
"""
import pytest
import torch
from safetensors.torch import load_file, save_file

from numerics import relative_l2
from tiny_models import TINY_DIT, TINY_FILES
from spacetime.engine.models.latent_format import WAN21

SHAPE = (1, 16, 3, 6, 8)  # the latent of 9 frames at 64x48
SAMPLING = {"seed": 7, "steps": 2, "cfg": 4.0}
PARITY = 2e-5  # float32 on both sides; in-process runs of the same comparison give about 4e-6
TEXT = "4"  # the text encode node: positive ["4", 0], negative ["4", 1]
BLACK, RED = 0x000000, 0xFF0000  # as masks (red channel): 0 = keep, 1 = generate


def graph_with_text():
    return {
        "1": {"class_type": "SpacetimeLoadDiT", "inputs": {"dit_name": TINY_FILES["diffusion_models"],
                                                            "dtype": "default", "attention": "sdpa"}},
        "2": {"class_type": "SpacetimeLoadTextEncoder",
              "inputs": {"text_encoder_name": TINY_FILES["text_encoders"], "dtype": "default"}},
        TEXT: {"class_type": "SpacetimeTextEncode", "inputs": {"text_encoder": ["2", 0],
                                                                "prompt": "a red fox runs across the snowy field",
                                                                "negative_prompt": "the old man at night"}},
    }


def add_ours(graph, latent, prefix, positive=(TEXT, 0), negative=(TEXT, 1), denoise=1.0, **extra):
    graph["20"] = {"class_type": "SpacetimeSampler", "inputs": {
        "dit": ["1", 0], "positive": list(positive), "negative": list(negative), "latent": list(latent),
        **SAMPLING, "shift": 8.0, "sampler": "euler", "denoise": denoise, **extra}}
    graph["21"] = {"class_type": "SaveLatent", "inputs": {"samples": ["20", 0], "filename_prefix": f"{prefix}/ours"}}
    return graph


def add_core(graph, latent, prefix, positive=(TEXT, 0), negative=(TEXT, 1), denoise=1.0):
    graph["30"] = {"class_type": "UNETLoader", "inputs": {"unet_name": TINY_FILES["diffusion_models"],
                                                          "weight_dtype": "default"}}
    graph["31"] = {"class_type": "KSampler", "inputs": {
        "model": ["30", 0], "positive": list(positive), "negative": list(negative), "latent_image": list(latent),
        **SAMPLING, "sampler_name": "euler", "scheduler": "simple", "denoise": denoise}}
    graph["32"] = {"class_type": "SaveLatent", "inputs": {"samples": ["31", 0], "filename_prefix": f"{prefix}/core"}}
    return graph


def saved(host, result) -> dict[str, torch.Tensor]:
    """SaveLatent's files by name: {"ours": ..., "core": ...}."""
    assert result.status == "success", result.error
    return {path.name.split("_")[0]: load_file(str(path))["latent_tensor"] for path in host.files_of(result)}


def real_latent_file(host, name, seed=3):
    """A raw latent with Wan 2.1's channel statistics in the host's input folder; LoadLatent reads it."""
    raw = WAN21.denormalize(torch.randn(SHAPE, generator=torch.Generator().manual_seed(seed)))
    save_file({"latent_tensor": raw, "latent_format_version_0": torch.tensor([])}, str(host.base / "input" / name))
    return raw


def frame_mask(graph, node_id, colours):
    """A MASK [F, 8, 8] from core nodes, frame i uniformly 0 (BLACK: keep) or 1 (RED: generate); `colours`
    is a list of (colour, frames)."""
    ids = []
    for i, (colour, frames) in enumerate(colours):
        ids.append(f"{node_id}.{i}")
        graph[ids[-1]] = {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": frames,
                                                                  "color": colour}}
    batch = ids[0]
    for i, other in enumerate(ids[1:]):
        graph[f"{node_id}.batch{i}"] = {"class_type": "ImageBatch", "inputs": {"image1": [batch, 0],
                                                                             "image2": [other, 0]}}
        batch = f"{node_id}.batch{i}"
    graph[node_id] = {"class_type": "ImageToMask", "inputs": {"image": [batch, 0], "channel": "red"}}
    return [node_id, 0]


def test_frame_mask_keeps_the_input_latent_frames(host):
    raw = real_latent_file(host, "spacetime_frame_mask.latent")
    graph = graph_with_text()
    graph["10"] = {"class_type": "LoadLatent", "inputs": {"latent": "spacetime_frame_mask.latent"}}
    # per video frame: frame 0 generated, 1-4 (latent frame 1) kept, 5-8 (latent frame 2) generated
    mask = frame_mask(graph, "11", [(RED, 1), (BLACK, 4), (RED, 4)])
    out = saved(host, host.run(add_ours(graph, ["10", 0], "inputs/frame_mask", frame_mask=mask)))["ours"]
    assert out.shape == SHAPE
    torch.testing.assert_close(out[:, :, 1], raw[:, :, 1], atol=1e-5, rtol=1e-5)
    for generated in (0, 2):
        assert relative_l2(out[:, :, generated], raw[:, :, generated]) > 0.1


def test_noise_mask_on_a_real_latent_matches_core(host):
    """SetLatentNoiseMask's mask (one value per latent frame) at denoise 0.6: core's inpainting exactly,
    kept frames equal to the input latent's."""
    raw = real_latent_file(host, "spacetime_noise_mask.latent", seed=4)
    graph = graph_with_text()
    graph["10"] = {"class_type": "LoadLatent", "inputs": {"latent": "spacetime_noise_mask.latent"}}
    mask = frame_mask(graph, "11", [(BLACK, 1), (RED, 1), (BLACK, 1)])
    graph["12"] = {"class_type": "SetLatentNoiseMask", "inputs": {"samples": ["10", 0], "mask": mask}}
    add_ours(graph, ["12", 0], "inputs/noise_mask", denoise=0.6)
    latents = saved(host, host.run(add_core(graph, ["12", 0], "inputs/noise_mask", denoise=0.6)))
    ours, core = latents["ours"], latents["core"]
    assert relative_l2(ours, core) <= PARITY
    kept = torch.tensor([True, False, True])
    torch.testing.assert_close(ours[:, :, kept], raw[:, :, kept], atol=1e-5, rtol=1e-5)
    assert relative_l2(ours[:, :, 1], raw[:, :, 1]) > 0.1


def test_real_latent_at_partial_denoise_matches_core(host):
    real_latent_file(host, "spacetime_denoise.latent", seed=5)
    graph = graph_with_text()
    graph["10"] = {"class_type": "LoadLatent", "inputs": {"latent": "spacetime_denoise.latent"}}
    add_ours(graph, ["10", 0], "inputs/denoise", denoise=0.6)
    latents = saved(host, host.run(add_core(graph, ["10", 0], "inputs/denoise", denoise=0.6)))
    assert relative_l2(latents["ours"], latents["core"]) <= PARITY


def test_batch_index_gives_cores_noise(host):
    """LatentFromBatch then RepeatLatentBatch: a batch of 2 with batch_index [2, 3], so each latent gets
    the noise it had in the batch it came from, as core draws it."""
    graph = graph_with_text()
    graph["10"] = {"class_type": "SpacetimeEmptyVideoLatent",
                   "inputs": {"width": 64, "height": 48, "length": 9, "batch_size": 3}}
    graph["11"] = {"class_type": "LatentFromBatch", "inputs": {"samples": ["10", 0], "batch_index": 2, "length": 1}}
    graph["12"] = {"class_type": "RepeatLatentBatch", "inputs": {"samples": ["11", 0], "amount": 2}}
    add_ours(graph, ["12", 0], "inputs/batch_index")
    latents = saved(host, host.run(add_core(graph, ["12", 0], "inputs/batch_index")))
    assert latents["ours"].shape == (2, *SHAPE[1:])
    assert relative_l2(latents["ours"], latents["core"]) <= PARITY


def test_conditioning_concat_beyond_512_tokens_matches_core(host):
    """ConditioningConcat of our two encodes: [1, 1024, 4096]; core's Wan attends to all of it."""
    graph = graph_with_text()
    graph["10"] = {"class_type": "SpacetimeEmptyVideoLatent",
                   "inputs": {"width": 64, "height": 48, "length": 9, "batch_size": 1}}
    graph["11"] = {"class_type": "ConditioningConcat", "inputs": {"conditioning_to": [TEXT, 0],
                                                                   "conditioning_from": [TEXT, 1]}}
    add_ours(graph, ["10", 0], "inputs/concat", positive=("11", 0))
    latents = saved(host, host.run(add_core(graph, ["10", 0], "inputs/concat", positive=("11", 0))))
    assert relative_l2(latents["ours"], latents["core"]) <= PARITY


def embedding(prompts, tokens=24, width=TINY_DIT["text_dim"], seed=0):
    """Text embeddings [prompts, tokens, width], each prompt's own, padded with zero rows as umT5 leaves them."""
    out = torch.zeros(prompts, tokens, width)
    out[:, :10] = torch.randn(prompts, 10, width, generator=torch.Generator().manual_seed(seed))
    return out


def conditioning_file(host, name, conditioning) -> dict:
    """A LoadTrainingDataset node that outputs `conditioning` (a list holding just it).

    ComfyUI 0.3.75 reads datasets from the output folder; 0.33.0 from BASE/datasets, offering the folders
    that hold a metadata.json: the shard is written for both."""
    for root in (host.outputs, host.base / "datasets"):
        folder = root / "spacetime_conditionings" / name
        folder.mkdir(parents=True, exist_ok=True)
        torch.save({"latents": [{"samples": torch.zeros(SHAPE)}], "conditioning": [conditioning]},
                   folder / "shard_0000.pkl")
        (folder / "metadata.json").write_text("{}")
    return {"class_type": "LoadTrainingDataset", "inputs": {"folder_name": f"spacetime_conditionings/{name}"}}


def test_one_prompt_per_batch_item_matches_core(host):
    graph = graph_with_text()
    graph["10"] = {"class_type": "SpacetimeEmptyVideoLatent",
                   "inputs": {"width": 64, "height": 48, "length": 9, "batch_size": 2}}
    graph["11"] = conditioning_file(host, "two_prompts", [[embedding(2), {"pooled_output": None}]])
    add_ours(graph, ["10", 0], "inputs/prompts", positive=("11", 1))
    latents = saved(host, host.run(add_core(graph, ["10", 0], "inputs/prompts", positive=("11", 1))))
    assert latents["ours"].shape == (2, *SHAPE[1:])
    assert relative_l2(latents["ours"], latents["core"]) <= PARITY


BAD_CONDITIONINGS = {
    "empty": ([], "the {name} conditioning is empty: connect a text encode node"),
    "wrong_width": ([[embedding(1, width=64), {}]],
                    "the {name} conditioning has shape (1, 24, 64), but this model expects text embeddings "
                    "[1, tokens, 4096] from a umT5 text encoder"),
    "prompt_count": ([[embedding(3), {}]],
                     "the {name} conditioning holds 3 prompts but the latent batch is 2: give one prompt, or one "
                     "per latent in the batch"),
}


@pytest.mark.parametrize("case, which", [("empty", "positive"), ("empty", "negative"),
                                         ("conditioning_combine", "positive"), ("wrong_width", "negative"),
                                         ("prompt_count", "positive"), ("timestep_range", "positive")])
def test_bad_conditioning_is_explained(host, case, which):
    graph = graph_with_text()
    graph["10"] = {"class_type": "SpacetimeEmptyVideoLatent",
                   "inputs": {"width": 64, "height": 48, "length": 9, "batch_size": 2}}
    if case == "conditioning_combine":
        graph["11"] = {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": [TEXT, 0],
                                                                        "conditioning_2": [TEXT, 1]}}
        bad, expected = ["11", 0], (f"the {which} conditioning holds 2 entries (from Conditioning Combine?); this "
                                    "sampler takes one: use Conditioning Concat to join prompts instead")
    elif case == "timestep_range":  # core's KSampler honours it; ours must not drop it without a word
        graph["11"] = {"class_type": "ConditioningSetTimestepRange", "inputs": {"conditioning": [TEXT, 0],
                                                                                "start": 0.5, "end": 1.0}}
        bad, expected = ["11", 0], (f"the {which} conditioning sets start_percent 0.5 (a core node such as "
                                    "Conditioning Set Timestep Range")
    else:
        conditioning, message = BAD_CONDITIONINGS[case]
        graph["11"] = conditioning_file(host, f"bad_{case}", conditioning)
        bad, expected = ["11", 1], message.format(name=which)
    inputs = {"positive": bad} if which == "positive" else {"negative": bad}
    result = host.run(add_ours(graph, ["10", 0], f"inputs/bad_{case}", **inputs))
    assert result.status == "error"
    assert result.error["node_type"] == "SpacetimeSampler"
    assert expected in result.error["exception_message"]
