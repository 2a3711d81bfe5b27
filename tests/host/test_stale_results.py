"""With ComfyUI's output cache on, as users run it (the other host tests run with --cache-none), a file
replaced between two runs is read again: an edited style preset, and a model file swapped for another
even when the copy keeps the old modification time (`cp -p`, `rsync -t`)."""
import os

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file, save_file

from conftest import tiny_model_host
from graphs import base, decoded, sampled
from tiny_models import TINY_FILES


@pytest.fixture(scope="module")
def caching_host(tmp_path_factory):
    with tiny_model_host(tmp_path_factory.mktemp("caching"), extra_args=()) as host:  # no --cache-none
        yield host


def test_an_edited_style_preset_is_read_again(caching_host):
    preset = caching_host.base / "user" / "spacetime_styles" / "probe.json"
    preset.parent.mkdir(parents=True, exist_ok=True)
    graph = {"1": {"class_type": "SpacetimeApplyStyle", "inputs": {"style": "probe", "prompt": "a fox",
                                                                    "negative_prompt": ""}},
             "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
    texts = []
    for version in ("one", "two"):
        preset.write_text(f'{{"spacetime_style": 1, "prompt_template": "{{prompt}}, version {version}"}}')
        result = caching_host.run(graph)
        assert result.status == "success", result.error
        texts.append(result.outputs["2"]["text"][0])
    assert texts == ["a fox, version one", "a fox, version two"]


def frames_of(host, graph) -> np.ndarray:
    result = host.run(graph)
    assert result.status == "success", result.error
    (path,) = [p for p in host.files_of(result) if p.suffix == ".png"]
    return np.asarray(Image.open(path))


def test_a_model_file_replaced_keeping_its_time_is_loaded_again(caching_host):
    graph = decoded(sampled(base())) | {"8": {"class_type": "SaveImage", "inputs": {
        "images": ["7", 0], "filename_prefix": "stale/frame"}}}
    graph["5"]["inputs"]["length"] = 1
    before = frames_of(caching_host, graph)
    vae = caching_host.base / "models" / "vae" / TINY_FILES["vae"]
    stamp = os.stat(vae)
    weights = load_file(str(vae))
    changed = vae.with_name("replacement.tmp")
    save_file({key: -value if key == "decoder.head.2.weight" else value for key, value in weights.items()},
              str(changed))
    os.replace(changed, vae)
    os.utime(vae, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # as a copy that keeps the time
    assert not np.array_equal(frames_of(caching_host, graph), before)
