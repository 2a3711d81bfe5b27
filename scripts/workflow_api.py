"""Convert a UI-format workflow (what users save and share) into the API format the server executes.

The UI format stores widget values positionally (`widgets_values`), in the order the frontend
creates widgets: each node's inputs in the server's `input_order`, plus a hidden extra value after a
seed with `control_after_generate` and after an upload combo. So the conversion is driven by the
server's own /object_info, not by a hard-coded table of nodes.
"""
from __future__ import annotations

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
FRONTEND_ONLY = {"Note", "MarkdownNote", "PrimitiveNode", "Reroute"}
MUTED, BYPASSED = 2, 4
EXTRA_VALUE_OPTIONS = ("control_after_generate", "image_upload", "video_upload", "audio_upload")


class WorkflowError(ValueError):
    """The workflow cannot be converted: the message says which node and what to fix."""


def to_api(workflow: dict, object_info: dict) -> dict:
    """API-format graph {node_id: {"class_type", "inputs", "_meta"}} for a UI-format workflow."""
    if "nodes" not in workflow or "links" not in workflow:
        raise WorkflowError("this is not a UI-format workflow (no 'nodes' and 'links'); "
                            "an API-format graph can be posted as it is")
    nodes = {node["id"]: node for node in workflow["nodes"]}
    links = {link[0]: link for link in map(_link_tuple, workflow["links"])}
    graph = {}
    for node in workflow["nodes"]:
        if node["type"] in FRONTEND_ONLY or node.get("mode", 0) in (MUTED, BYPASSED):
            continue
        info = object_info.get(node["type"])
        if info is None:
            raise WorkflowError(f"node {node['id']} is of type '{node['type']}', which this ComfyUI does not "
                                "have: install the custom node pack that provides it")
        graph[str(node["id"])] = {
            "class_type": node["type"],
            "inputs": _inputs(node, info, nodes, links),
            "_meta": {"title": node.get("title") or info.get("display_name") or node["type"]},
        }
    return graph


def _link_tuple(link) -> tuple:
    """(id, origin node, origin slot, target node, target slot, type) from either link encoding."""
    if isinstance(link, dict):
        return (link["id"], link["origin_id"], link["origin_slot"], link["target_id"], link["target_slot"],
                link.get("type"))
    return tuple(link[:6])


def _inputs(node: dict, info: dict, nodes: dict, links: dict) -> dict:
    linked = {slot["name"]: slot.get("link") for slot in node.get("inputs", []) if slot.get("link") is not None}
    values = node.get("widgets_values", [])
    by_name = values if isinstance(values, dict) else None
    position = 0
    inputs = {}
    for name, spec in _ordered_specs(info):
        widget = _is_widget(spec)
        if widget and by_name is None:
            value = values[position] if position < len(values) else None
            position += 1 + sum(1 for key in EXTRA_VALUE_OPTIONS if _options(spec).get(key))
        elif widget:
            value = by_name.get(name)
        if name in linked:
            source = _resolve_source(links[linked[name]], nodes, links)
            if source is not None:
                inputs[name] = source
                continue
        if widget and value is not None:
            inputs[name] = value
    return inputs


def _ordered_specs(info: dict):
    order = info.get("input_order") or {group: list(specs) for group, specs in info.get("input", {}).items()}
    for group in ("required", "optional"):
        for name in order.get(group, []):
            yield name, info["input"][group][name]


def _options(spec) -> dict:
    return spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}


def _is_widget(spec) -> bool:
    kind = spec[0]
    if _options(spec).get("forceInput"):
        return False
    return isinstance(kind, list) or kind in WIDGET_TYPES


def _resolve_source(link: tuple, nodes: dict, links: dict):
    """[node id, slot] feeding a link, following Reroutes and bypassed nodes; None for a Primitive."""
    _, origin, slot, *_rest = link
    link_type = link[5]
    seen = set()
    while origin not in seen:
        seen.add(origin)
        node = nodes.get(origin)
        if node is None:
            raise WorkflowError(f"a link comes from node {origin}, which is not in the workflow")
        if node["type"] == "PrimitiveNode":
            return None  # its value is already stored in the target's widgets_values
        if node["type"] == "Reroute" or node.get("mode", 0) == BYPASSED:
            upstream = _passthrough_input(node, link_type)
            if upstream is None:
                return None
            _, origin, slot, *_rest = links[upstream]
            continue
        if node.get("mode", 0) == MUTED:
            return None
        return [str(origin), slot]
    raise WorkflowError(f"the workflow's links form a loop through node {origin}")


def _passthrough_input(node: dict, link_type):
    """The link a Reroute or bypassed node passes on: the first linked input of the same type."""
    candidates = [s for s in node.get("inputs", []) if s.get("link") is not None]
    if node["type"] != "Reroute":
        candidates = [s for s in candidates if s.get("type") == link_type]
    return candidates[0]["link"] if candidates else None
