"""The node contract check on hand-made /object_info entries (the host test runs it on the real one)."""
import copy

import pytest

from node_contract import breaking_changes, contract_of, unrecorded, updated

PACK = "custom_nodes.Spacetime"
INFO = {
    "SpacetimeSampler": {
        "input": {"required": {"latent": ["LATENT", {}], "seed": ["INT", {"control_after_generate": True}],
                               "sampler": ["COMBO", {"options": ["euler"]}]},
                  "optional": {"mask": ["MASK", {}], "strength": ["FLOAT", {"min": 0.0, "max": 1.0}]},
                  "hidden": {"prompt": ["PROMPT"]}},
        "input_order": {"required": ["latent", "seed", "sampler"], "optional": ["mask", "strength"],
                        "hidden": ["prompt"]},
        "output": ["LATENT", "IMAGE"], "display_name": "Sampler", "python_module": PACK,
    },
    "SpacetimeLoader": {"input": {"required": {"name": [["a.safetensors"], {}]}},
                        "input_order": {"required": ["name"]}, "output": ["SPACETIME_DIT"],
                        "python_module": PACK},
    "KSampler": {"input": {"required": {}}, "output": ["LATENT"], "python_module": "nodes"},
}
SNAPSHOT = updated({}, INFO)[0]


def changed(edit) -> dict:
    info = copy.deepcopy(INFO)
    edit(info)
    return info


def sampler(info) -> dict:
    return info["SpacetimeSampler"]


def test_snapshot_holds_pack_nodes_only_with_widget_values_ranges_and_fixed_options():
    assert sorted(SNAPSHOT) == ["SpacetimeLoader", "SpacetimeSampler"]
    assert SNAPSHOT["SpacetimeSampler"] == {"required": {"latent": "LATENT", "seed": "INT", "sampler": "COMBO"},
                                            "optional": {"mask": "MASK", "strength": "FLOAT"},
                                            "outputs": ["LATENT", "IMAGE"],
                                            "widgets": ["seed", "seed+control_after_generate", "sampler", "strength"],
                                            "ranges": {"strength": [0.0, 1.0]}, "options": {"sampler": ["euler"]}}
    loader = contract_of(INFO["SpacetimeLoader"])
    assert loader["required"] == {"name": "COMBO"} and loader["options"] == {}  # a V1-style list of files
    assert breaking_changes(SNAPSHOT, INFO) == [] and unrecorded(SNAPSHOT, INFO) == ([], [])


def rename_input(info):
    spec = sampler(info)
    spec["input"]["required"]["steps"] = spec["input"]["required"].pop("seed")
    spec["input_order"]["required"][1] = "steps"


@pytest.mark.parametrize("edit, expected", [
    (lambda info: info.update(SpacetimeSampler2=info.pop("SpacetimeSampler")), "SpacetimeSampler: the node is gone"),
    (rename_input, "input 'seed' is gone"),
    (lambda info: sampler(info)["input"]["required"].update(seed=["FLOAT", {}]), "'seed' changed type: INT → FLOAT"),
    (lambda info: sampler(info).update(input_order={"required": ["latent", "seed", "sampler", "mask"],
                                                    "optional": ["strength"]}) or
     sampler(info)["input"]["required"].update(mask=sampler(info)["input"]["optional"].pop("mask")),
     "optional input 'mask' became required"),
    (lambda info: sampler(info)["input"]["required"].update(steps=["INT", {}]) or
     sampler(info)["input_order"]["required"].append("steps"), "new input 'steps' (INT) is required"),
    (lambda info: sampler(info).update(output=["LATENT"]), "output 1 (IMAGE) is gone"),
    (lambda info: sampler(info).update(output=["IMAGE", "LATENT"]), "output 0 changed type: LATENT → IMAGE"),
    (lambda info: sampler(info)["input_order"].update(required=["latent", "sampler", "seed"]),
     "widget values out of place"),
    (lambda info: sampler(info)["input"]["optional"].update(cfg=["FLOAT", {}]) or
     sampler(info)["input_order"].update(optional=["mask", "cfg", "strength"]), "widget values out of place"),
    (lambda info: sampler(info)["input"]["required"]["seed"][1].pop("control_after_generate"),
     "widget values out of place"),
    (lambda info: sampler(info)["input"]["required"]["sampler"][1].update(control_after_generate=True),
     "widget values out of place"),
    (lambda info: sampler(info)["input"]["required"]["seed"][1].update(forceInput=True), "widget values out of place"),
    (lambda info: sampler(info)["input"]["required"]["sampler"][1].update(options=["uni_pc"]),
     "input 'sampler' lost options euler"),
    (lambda info: sampler(info)["input"]["optional"]["strength"][1].update(max=0.5),
     "input 'strength' range narrowed: 0.0..1.0 → 0.0..0.5"),
])
def test_breaking_changes_are_reported(edit, expected):
    problems = breaking_changes(SNAPSHOT, changed(edit))
    assert any(expected in problem for problem in problems), problems


def add_optional_inputs_and_an_output(info):
    spec = sampler(info)
    spec["input"]["optional"].update(image=["IMAGE", {}], cfg=["FLOAT", {}])
    spec["input_order"]["optional"] = ["image", "mask", "strength", "cfg"]  # a socket may go anywhere
    spec["output"].append("MASK")


def test_new_optional_inputs_and_trailing_outputs_are_allowed_and_recorded_by_update():
    info = changed(add_optional_inputs_and_an_output)
    assert breaking_changes(SNAPSHOT, info) == []
    parts = ["SpacetimeSampler: input 'image'", "SpacetimeSampler: input 'cfg'", "SpacetimeSampler: output 2 (MASK)"]
    assert unrecorded(SNAPSHOT, info) == ([], parts)
    new, added = updated(SNAPSHOT, info)
    assert added == parts and unrecorded(new, info) == ([], [])
    assert list(new["SpacetimeSampler"]["optional"]) == ["mask", "strength", "image", "cfg"]


def test_a_wider_range_and_a_new_option_pass_and_update_records_them():
    def widen(info):
        sampler(info)["input"]["optional"]["strength"][1].update(min=-1.0)
        sampler(info)["input"]["required"]["sampler"][1].update(options=["euler", "uni_pc"])
    info = changed(widen)
    assert breaking_changes(SNAPSHOT, info) == []
    new, _ = updated(SNAPSHOT, info)
    assert new["SpacetimeSampler"]["ranges"] == {"strength": [-1.0, 1.0]}
    assert new["SpacetimeSampler"]["options"] == {"sampler": ["euler", "uni_pc"]}


def test_required_input_may_become_optional():
    def relax(info):
        sampler(info)["input"]["optional"]["sampler"] = sampler(info)["input"]["required"].pop("sampler")
        sampler(info)["input_order"] = {"required": ["latent", "seed"], "optional": ["sampler", "mask", "strength"]}
    assert breaking_changes(SNAPSHOT, changed(relax)) == []


def test_new_node_is_unrecorded_until_update_adds_it():
    info = changed(lambda info: info.update(SpacetimeLoop={**copy.deepcopy(info["SpacetimeLoader"])}))
    assert unrecorded(SNAPSHOT, info) == (["SpacetimeLoop"], [])
    new, added = updated(SNAPSHOT, info)
    assert added == ["node SpacetimeLoop"] and new["SpacetimeLoop"] == SNAPSHOT["SpacetimeLoader"]


def test_update_never_removes_or_renames_entries():
    info = changed(rename_input)
    new, _ = updated(SNAPSHOT, info)
    assert new["SpacetimeSampler"]["required"]["seed"] == "INT"  # kept: the break is still reported
    assert any("input 'seed' is gone" in problem for problem in breaking_changes(new, info))
    gone = changed(lambda info: info.pop("SpacetimeLoader"))
    assert "SpacetimeLoader" in updated(SNAPSHOT, gone)[0]


def test_update_does_not_record_a_new_required_input():
    info = changed(lambda info: sampler(info)["input"]["required"].update(steps=["INT", {}]) or
                   sampler(info)["input_order"]["required"].append("steps"))
    assert unrecorded(SNAPSHOT, info) == ([], [])
    new, added = updated(SNAPSHOT, info)
    assert added == [] and any("new input 'steps'" in problem for problem in breaking_changes(new, info))
