"""Hostile input through the real server: NaN latents, frames and settings, a shift of 0, a latent far
too large for memory, malformed model files, save names that are paths or too long, links out of the
output and styles folders, model names that are paths. Each is refused with its reason; afterwards the
server still serves the next prompt, and no file was written outside the output folder."""
import json
import os
import re

import pytest

from bad_files import bad_model_files
from graphs import base, decoded, problem_of, sampled
from tiny_models import TINY_FILES

HOSTILE_FILES = {name: (data, message) for name, data, message in bad_model_files()
                 if name in ("offsets_as_strings", "header_deep_nesting", "patch_weight_1d", "thousands_of_blocks",
                             "dtype_unknown", "data_missing")}


def saved(graph, images=("7", 0), **changes) -> dict:
    inputs = {"images": list(images), "fps": 16.0, "format": "mp4", "quality": 80,
              "filename_prefix": "hostile/ok", **changes}
    return graph | {"8": {"class_type": "SpacetimeSaveVideo", "inputs": inputs}}


# JSON has no NaN, but core turns a FLOAT input's text into a float ("nan" too), and NaN passes its range
# checks (every comparison with NaN is false).
NAN = "nan"


def nan_latent(graph) -> dict:
    """Core's Latent Multiply by NaN."""
    return graph | {"10": {"class_type": "LatentMultiply", "inputs": {"samples": ["5", 0], "multiplier": NAN}}}


def image_latent(graph) -> dict:
    """Core's Empty Latent Image: 4 channels, no time axis."""
    return graph | {"10": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 48, "batch_size": 1}}}


def extended(graph, **changes) -> dict:
    """Extend the decoded clip (node 7) forward; its output clip finished as node 11 (not reached when refused)."""
    inputs = {"vae": ["3", 0], "images": ["7", 0], "keep_start": 0, "keep_end": -1, "direction": "forward",
              "add": 4.0, "unit": "frames", "fps": 16.0, "context_frames": 5, **changes}
    return graph | {"10": {"class_type": "SpacetimeExtend", "inputs": inputs},
                    "11": {"class_type": "SpacetimeFinishEdit", "inputs": {"edit": ["10", 1], "images": ["7", 0]}}}


def good() -> dict:
    return saved(decoded(sampled(base())))


def core_decoded_nan() -> dict:
    graph = nan_latent(base()) | {
        "11": {"class_type": "VAELoader", "inputs": {"vae_name": TINY_FILES["vae"]}},
        "12": {"class_type": "VAEDecode", "inputs": {"samples": ["10", 0], "vae": ["11", 0]}}}
    return saved(graph, images=("12", 0))


def loaded(dit_name: str, attention: str = "sdpa") -> dict:
    return saved(decoded(sampled(base(), dit=["20", 0]))) | {"20": {"class_type": "SpacetimeLoadDiT", "inputs": {
        "dit_name": dit_name, "dtype": "default", "attention": attention}}}


CASES = {
    "nan latent into the sampler": (lambda: saved(decoded(sampled(nan_latent(base()), latent=("10", 0)))),
                                    "the latent given to the sampler holds 2,304 NaN"),
    "nan latent into the decoder": (lambda: saved(decoded(nan_latent(base()), latent=("10", 0))),
                                    "the latent given to the decoder holds 2,304 NaN"),
    "nan frames into the saver": (core_decoded_nan, "the frame batch to save holds"),
    "nan cfg": (lambda: saved(decoded(sampled(base(), cfg=NAN))), "the sampler's cfg is nan: give a finite number"),
    "nan denoise": (lambda: saved(decoded(sampled(base(), denoise=NAN))), "denoise must be between 0 and 1, got nan"),
    "an image latent into the decoder": (lambda: saved(decoded(image_latent(base()), latent=("10", 0))),
                                         "is an image latent [batch, channels, height, width]"),
    "an extension too long for memory": (lambda: saved(extended(decoded(sampled(base(832, 480, 1))), add=10_000.0),
                                                       images=("11", 0)),
                                         "the edit makes a clip of 10,001 frames of 832x480, which needs about"),
    "shift 0": (lambda: saved(decoded(sampled(base(), shift=0.0))), "Value 0.0 smaller than min of 0.01"),
    "a latent too large to sample": (lambda: saved(decoded(sampled(base(2048, 2048, 1025)))),
                                     "sampling 1 x 1025 frames of 2048x2048 needs about"),
    "a latent too large to decode": (lambda: saved(decoded(base(2048, 2048, 1025), latent=("5", 0))),
                                     "to hold its frames"),
    "an empty save name": (lambda: good() | saved({}, filename_prefix=""), "filename_prefix is empty"),
    "a newline in the save name": (lambda: good() | saved({}, filename_prefix="a\nb"), "line break"),
    "a save name too long": (lambda: good() | saved({}, filename_prefix="x" * 300), "300 bytes long"),
    "a save name going up": (lambda: good() | saved({}, filename_prefix="../escape"), "leaves the output folder"),
    "an absolute save name": (lambda: good() | saved({}, filename_prefix="/tmp/escape"), "leaves the output folder"),
    "an attention backend this machine lacks": (lambda: loaded(TINY_FILES["diffusion_models"], "sageattention"),
                                                "Load DiT's attention 'sageattention' cannot run here"),
    "a model name going up": (lambda: loaded("../../../../etc/passwd"), "was not found"),
    "an absolute model name": (lambda: loaded("/etc/passwd"), "was not found"),
}
PLAIN = set(CASES)  # the messages above are plain text, the corpus's below patterns
CASES.update({f"model file {name}": (lambda name=name: loaded(f"hostile_{name}.safetensors"), message)
              for name, (_, message) in HOSTILE_FILES.items()})


@pytest.fixture(scope="module")
def planted(comfy_host, tmp_path_factory):
    """The bad model files in the host's models folder, a link out of its output folder and one out of
    its styles folder; yields the folder those links lead to, and every file outside the output folder."""
    outside = tmp_path_factory.mktemp("outside")
    for name, (data, _) in HOSTILE_FILES.items():
        (comfy_host.base / "models" / "diffusion_models" / f"hostile_{name}.safetensors").write_bytes(data)
    comfy_host.outputs.mkdir(parents=True, exist_ok=True)
    (comfy_host.outputs / "hostile_link").symlink_to(outside, target_is_directory=True)
    (outside / "secret.json").write_text(json.dumps({"spacetime_style": 1, "prompt_template": "{prompt}"}))
    styles = comfy_host.base / "user" / "spacetime_styles"
    styles.mkdir(parents=True, exist_ok=True)
    (styles / "hostile link.json").symlink_to(outside / "secret.json")
    yield outside, files_outside_output(comfy_host, outside)


def files_outside_output(host, outside) -> set:
    """Every file under the host's base folder and `outside`, but the output folder's and the user folder's
    (where the pack keeps its own state by design: saved styles, the signing key, a hash cache)."""
    found = set()
    skipped = [os.path.realpath(host.outputs), os.path.realpath(host.base / "user")]
    for root in (host.base, outside):
        for folder, dirs, files in os.walk(root):
            if any(os.path.realpath(folder).startswith(path) for path in skipped):
                dirs.clear()
                continue
            found |= {os.path.join(folder, name) for name in files}
    return found


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_with_its_reason(host, planted, case):
    graph, message = CASES[case]
    problem = problem_of(host, graph()).replace("\\n", "\n")
    assert message in problem if case in PLAIN else re.search(message, problem), problem


def test_a_link_out_of_the_output_folder_is_refused(host, planted):
    outside, _ = planted
    assert "outside the output folder" in problem_of(host, good() | saved({}, filename_prefix="hostile_link/video"))
    assert "outside the output folder" in problem_of(host, good() | saved({}, filename_prefix="hostile_link/new/v"))
    assert sorted(os.listdir(outside)) == ["secret.json"]


def test_a_style_linking_out_of_its_folder_is_never_read(host, planted):
    graph = {"1": {"class_type": "SpacetimeApplyStyle", "inputs": {
        "style": "hostile link", "prompt": "a fox", "negative_prompt": ""}},
        "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
    assert "outside the styles folder" in problem_of(host, graph)


def test_afterwards_the_server_serves_and_nothing_was_written_outside_the_output_folder(host, planted):
    outside, before = planted
    result = host.run(good())
    assert result.status == "success", result.error
    (path,) = host.files_of(result)
    assert os.path.realpath(path).startswith(os.path.realpath(host.outputs))
    assert files_outside_output(host, outside) == before
    assert not [name for _, _, files in os.walk(host.outputs) for name in files if name.endswith(".part")]
