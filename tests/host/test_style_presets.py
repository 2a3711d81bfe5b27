"""Style presets in the real host: the combo lists the shipped presets and the user's, Apply Style's
outputs reach core and our nodes, Save Style writes a file that then appears and applies, and broken
files, taken names and names that are paths get clear messages."""
import json
import uuid

import pytest

from conftest import REPO
from comfy_host import PromptRefused

SHIPPED = sorted(p.stem for p in (REPO / "styles").glob("*.json"))
OUTPUTS = ("prompt", "negative_prompt", "steps", "cfg", "shift", "sampler")


def style_options(host) -> list[str]:
    info = host.get("/object_info/SpacetimeApplyStyle")["SpacetimeApplyStyle"]
    return info["input"]["required"]["style"][1]["options"]


def user_styles(host):
    return host.base / "user" / "spacetime_styles"


def unique(stem: str) -> str:
    return f"{stem} {uuid.uuid4().hex[:8]}"


def applied(host, style: str, prompt="a red fox", negative="") -> dict:
    """Apply Style's six outputs, read back through core's Preview as Text."""
    graph = {"1": {"class_type": "SpacetimeApplyStyle", "inputs": {
        "style": style, "prompt": prompt, "negative_prompt": negative,
        "steps": 7, "cfg": 1.5, "shift": 2.5, "sampler": "euler"}}}
    for slot, name in enumerate(OUTPUTS):
        graph[name] = {"class_type": "PreviewAny", "inputs": {"source": ["1", slot]}}
    result = host.run(graph)
    assert result.status == "success", result.error
    return {name: result.outputs[name]["text"][0] for name in OUTPUTS}


def save_graph(name: str, template: str, **inputs) -> dict:
    values = {"name": name, "description": "made by a test", "prompt_template": template,
              "negative_prompt": "blurry", **inputs}
    return {"1": {"class_type": "SpacetimeSaveStyle", "inputs": values}}


def refused_details(host, graph) -> str:
    with pytest.raises(PromptRefused) as refused:
        host.run(graph)
    assert refused.value.status == 400
    return " ".join(e["details"] for e in refused.value.body["node_errors"]["1"]["errors"])


def test_the_combo_lists_the_shipped_presets(host):
    assert SHIPPED and set(SHIPPED) <= set(style_options(host))


def test_a_shipped_preset_applies(host):
    out = applied(host, "cinematic", "a red fox runs", "cartoon")
    shipped = json.loads((REPO / "styles" / "cinematic.json").read_text())
    assert out["prompt"] == shipped["prompt_template"].replace("{prompt}", "a red fox runs")
    assert out["negative_prompt"] == shipped["negative_prompt"] + ", cartoon"
    assert (out["steps"], out["cfg"], out["shift"], out["sampler"]) == ("7", "1.5", "2.5", "euler")  # its own: none


def test_the_shapes_world_preset_sets_the_sampler(host):
    out = applied(host, "shapes-world", "a red circle moves left on a blue background")
    assert out["prompt"] == "a red circle moves left on a blue background"
    assert (out["steps"], out["cfg"], out["shift"], out["sampler"]) == ("20", "3.0", "3.0", "uni_pc")


def test_a_saved_preset_appears_and_applies(host):
    name = unique("test look")
    graph = save_graph(name, "{prompt}, in pencil", save_sampler_settings=True, steps=9, cfg=4.0, shift=5.0,
                       sampler="euler")
    result = host.run(graph)
    assert result.status == "success", result.error
    path = user_styles(host) / f"{name}.json"
    assert f"Saved style '{name}' as {path}" in result.outputs["1"]["text"][0]
    try:
        assert name in style_options(host)
        out = applied(host, name, "a red fox")
        assert out == {"prompt": "a red fox, in pencil", "negative_prompt": "blurry", "steps": "9", "cfg": "4.0",
                       "shift": "5.0", "sampler": "euler"}
        again = host.run(graph)  # the same style again: nothing written, no error
        assert again.status == "success" and "already saved" in again.outputs["1"]["text"][0]
        changed = host.run(save_graph(name, "{prompt}, in ink"))
        assert changed.status == "error" and "already exists" in changed.error["exception_message"]
        assert json.loads(path.read_text())["prompt_template"] == "{prompt}, in pencil"
    finally:
        path.unlink()


def test_saving_over_a_shipped_preset_is_refused(host):
    result = host.run(save_graph("cinematic", "{prompt}, mine"))
    assert result.status == "error"
    assert "a style named 'cinematic' already exists" in result.error["exception_message"]
    assert not (user_styles(host) / "cinematic.json").exists()


def test_a_broken_preset_is_named_with_what_is_wrong(host):
    name = unique("broken")
    folder = user_styles(host)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text('{"spacetime_style": 1, "prompt_template": "no slot here"}')
    try:
        assert name in style_options(host)
        graph = {"1": {"class_type": "SpacetimeApplyStyle", "inputs": {"style": name, "prompt": "x"}},
                 "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
        details = refused_details(host, graph)
        assert f"style file {path}" in details and "{prompt} exactly once" in details
    finally:
        path.unlink()


@pytest.mark.parametrize("name", ["../outside", "/tmp/outside"])
def test_names_that_are_paths_are_refused(host, name):
    graph = {"1": {"class_type": "SpacetimeApplyStyle", "inputs": {"style": name, "prompt": "x"}},
             "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
    assert f"style '{name}' is not one of" in refused_details(host, graph)
    details = refused_details(host, save_graph(name, "{prompt}"))
    assert f"style name '{name}' is a path" in details
    assert not (host.base / "user" / "outside.json").exists()


def test_a_template_without_its_slot_is_refused_before_saving(host):
    assert "must hold the slot {prompt} exactly once" in refused_details(host, save_graph(unique("x"), "no slot"))
