"""The UI→API converter on hand-made object_info entries (the host tests run it on the real one)."""
import pytest

from workflow_api import WorkflowError, to_api

INFO = {
    "Sampler": {
        "input": {"required": {"model": ["MODEL"], "seed": ["INT", {"control_after_generate": True}],
                               "steps": ["INT", {}], "name": [["a", "b"], {}]},
                  "optional": {"latent": ["LATENT"], "strength": ["FLOAT", {}]}},
        "input_order": {"required": ["model", "seed", "steps", "name"], "optional": ["latent", "strength"]},
    },
    "Loader": {"input": {"required": {"file": [["x.safetensors"], {}]}}, "input_order": {"required": ["file"]}},
    "LoadImage": {"input": {"required": {"image": [[], {"image_upload": True}]}},
                  "input_order": {"required": ["image"]}},
    "Forced": {"input": {"required": {"value": ["INT", {"forceInput": True}], "label": ["STRING", {}]}},
               "input_order": {"required": ["value", "label"]}},
}


def node(id, type, inputs=(), widgets=(), mode=0, title=None):
    return {"id": id, "type": type, "mode": mode, "title": title,
            "inputs": [{"name": n, "type": t, "link": l} for n, t, l in inputs], "widgets_values": list(widgets)}


def workflow(nodes, links):
    return {"nodes": nodes, "links": links}


def test_widget_values_follow_input_order_and_skip_control_after_generate():
    wf = workflow([node(1, "Loader", widgets=["x.safetensors"]),
                   node(2, "Sampler", [("model", "MODEL", 1)], [42, "randomize", 20, "b", 0.5])],
                  [[1, 1, 0, 2, 0, "MODEL"]])
    api = to_api(wf, INFO)
    assert api["2"]["inputs"] == {"model": ["1", 0], "seed": 42, "steps": 20, "name": "b", "strength": 0.5}
    assert api["1"]["inputs"] == {"file": "x.safetensors"}


def test_widget_converted_to_a_linked_input_takes_the_link():
    wf = workflow([node(1, "Forced", widgets=["hi"]), node(3, "Loader", widgets=["x.safetensors"]),
                   node(2, "Sampler", [("model", "MODEL", 1), ("steps", "INT", 2)], [7, "fixed", 20, "a", 1.0])],
                  [[1, 3, 0, 2, 0, "MODEL"], [2, 1, 0, 2, 2, "INT"]])
    assert to_api(wf, INFO)["2"]["inputs"]["steps"] == ["1", 0]


def test_upload_widget_value_is_skipped():
    api = to_api(workflow([node(1, "LoadImage", widgets=["cat.png", "image"])], []), INFO)
    assert api["1"]["inputs"] == {"image": "cat.png"}


def test_force_input_is_not_a_widget():
    api = to_api(workflow([node(1, "Forced", widgets=["label"])], []), INFO)
    assert api["1"]["inputs"] == {"label": "label"}


def test_reroute_and_bypassed_nodes_are_followed_and_notes_dropped():
    nodes = [node(1, "Loader", widgets=["x.safetensors"]),
             node(5, "Reroute", [("", "*", 1)]),
             node(6, "Sampler", [("model", "MODEL", 2)], [1, "fixed", 2, "a", 1.0], mode=4),
             node(2, "Sampler", [("model", "MODEL", 3)], [1, "fixed", 2, "a", 1.0]),
             node(9, "Note", widgets=["hello"])]
    links = [[1, 1, 0, 5, 0, "MODEL"], [2, 5, 0, 6, 0, "MODEL"], [3, 6, 0, 2, 0, "MODEL"]]
    api = to_api(workflow(nodes, links), INFO)
    assert set(api) == {"1", "2"}
    assert api["2"]["inputs"]["model"] == ["1", 0]


def test_primitive_node_value_comes_from_the_target_widget():
    nodes = [node(7, "PrimitiveNode", widgets=[99, "fixed"]), node(1, "Loader", widgets=["x.safetensors"]),
             node(2, "Sampler", [("model", "MODEL", 1), ("seed", "INT", 2)], [99, "fixed", 3, "a", 1.0])]
    links = [[1, 1, 0, 2, 0, "MODEL"], [2, 7, 0, 2, 1, "INT"]]
    assert to_api(workflow(nodes, links), INFO)["2"]["inputs"]["seed"] == 99


def test_named_widget_values_are_read_by_name():
    api = to_api(workflow([node(1, "Forced", widgets=[])], []), INFO)
    assert api["1"]["inputs"] == {}
    wf = workflow([{**node(1, "Forced"), "widgets_values": {"label": "named"}}], [])
    assert to_api(wf, INFO)["1"]["inputs"] == {"label": "named"}


def test_unknown_node_type_says_which_pack_is_missing():
    with pytest.raises(WorkflowError, match="'Mystery'.*install the custom node pack"):
        to_api(workflow([node(1, "Mystery")], []), INFO)


def test_api_format_input_is_refused_clearly():
    with pytest.raises(WorkflowError, match="not a UI-format workflow"):
        to_api({"1": {"class_type": "Loader", "inputs": {}}}, INFO)
