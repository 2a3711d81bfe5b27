"""The pack's node contract: node ids, inputs and outputs that saved workflows rely on.

    .host/venv/bin/python scripts/node_contract.py            # compare the nodes with the snapshot
    .host/venv/bin/python scripts/node_contract.py --update   # record new nodes, optional inputs, outputs

tests/node_contract.json records, for every Spacetime node as a real ComfyUI host's /object_info
shows it, each input's name and type under "required" or "optional" (in the host's input order), the
output types in order, the widget values in the order a UI-format workflow stores them (an
input's extra value, such as the seed's "control after generate", after it), the numeric inputs' ranges
and the fixed combo options (not lists of files or styles a user's folders fill). Display names,
output names (ComfyUI releases report them differently), tooltips and defaults are not recorded.

What breaks saved workflows (tests/host/test_node_contract.py fails on it): a node, input or output
that is gone (removed or renamed), an input or output of another type, an
optional input that became required, a new required input, widget values out of place (the UI format
stores them by position: a widget moved, turned into a socket, or an extra value added or dropped), a
narrower range and a combo option gone (saved values would be refused). What does not: a new optional
input, a new output after the existing ones, a required input that became optional, a wider range, a
new combo option.

`--update` only adds: new nodes, new optional inputs and trailing outputs of recorded nodes, and widget
values, ranges and options that keep every recorded one. It never removes, renames or retypes an entry
and never records a break; a deliberate removal is done by editing the snapshot by hand.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile

from comfy_host import PACK_LINK_NAME, REPO, ComfyHost
from workflow_api import EXTRA_VALUE_OPTIONS, _is_widget, _options

SNAPSHOT = REPO / "tests" / "node_contract.json"
UPDATE_COMMAND = ".host/venv/bin/python scripts/node_contract.py --update"
PACK_MODULE = f"custom_nodes.{PACK_LINK_NAME}"
GROUPS = ("required", "optional")
ABOUT = ("Spacetime's public node contract, checked by tests/host/test_node_contract.py. "
         f"`{UPDATE_COMMAND}` adds new nodes, optional inputs and outputs; it never removes or renames an entry. "
         "Remove an entry by hand only when the break is deliberate.")


# --- reading the host's /object_info ----------------------------------------------------------
def pack_nodes(object_info: dict) -> dict:
    """The /object_info entries of this pack's nodes (other packs and core nodes left out)."""
    return {name: info for name, info in object_info.items()
            if info.get("python_module", "").split(".")[:2] == PACK_MODULE.split(".")}


def input_type(spec) -> str:
    kind = spec[0]
    return "COMBO" if isinstance(kind, list) else str(kind)  # a V1-style combo lists its options


def _ordered(info: dict, group: str) -> list[str]:
    specs = info.get("input", {}).get(group, {})
    return list((info.get("input_order") or {}).get(group) or specs)


def contract_of(info: dict) -> dict:
    """{"required": {name: type}, "optional": {name: type}, "outputs": [type, ...], "widgets": [value slot, ...],
    "ranges": {name: [min, max]}, "options": {name: [option, ...]}} of a node."""
    specs = {name: info["input"][group][name] for group in GROUPS for name in _ordered(info, group)}
    entry = {group: {name: input_type(info["input"][group][name]) for name in _ordered(info, group)}
             for group in GROUPS}
    entry["outputs"] = [str(kind) for kind in info.get("output", [])]
    entry["widgets"] = _widget_values(info)
    entry["ranges"] = {name: [_options(spec)["min"], _options(spec)["max"]] for name, spec in specs.items()
                       if "min" in _options(spec) and "max" in _options(spec)}
    entry["options"] = {name: options for name, spec in specs.items() if (options := _fixed_options(spec))}
    return entry


def _widget_values(info: dict) -> list[str]:
    """The node's widget values in the order a UI-format workflow stores them: each widget input, then
    "name+option" for each extra value it stores (the seed's control after generate, an upload button)."""
    slots = []
    for group in GROUPS:
        for name in _ordered(info, group):
            spec = info["input"][group][name]
            if _is_widget(spec):
                slots += [name] + [f"{name}+{key}" for key in EXTRA_VALUE_OPTIONS if _options(spec).get(key)]
    return slots


def _fixed_options(spec) -> list[str]:
    """A combo's options when they are the node's own: not file names (they contain a dot), not an upload
    list, not empty (a folder's files, which differ from machine to machine)."""
    options = spec[0] if isinstance(spec[0], list) else _options(spec).get("options")
    if not isinstance(options, list) or not options or any(key in _options(spec) for key in EXTRA_VALUE_OPTIONS):
        return []
    names = [str(option) for option in options]
    return [] if any("." in name for name in names) else names


# --- comparing --------------------------------------------------------------------------------
def breaking_changes(snapshot: dict, object_info: dict) -> list[str]:
    """Every difference between the snapshot and the host's nodes that breaks a saved workflow."""
    nodes = pack_nodes(object_info)
    problems = []
    for name, recorded in snapshot.items():
        if name not in nodes:
            problems.append(f"{name}: the node is gone (removed or renamed)")
            continue
        now = contract_of(nodes[name])
        problems += [f"{name}: {problem}" for problem in _input_problems(recorded, now)]
        problems += [f"{name}: {problem}" for problem in _output_problems(recorded, now)]
        problems += [f"{name}: {problem}" for problem in _order_problems(recorded, now)]
        problems += [f"{name}: {problem}" for problem in _value_problems(recorded, now)]
    return problems


def _input_problems(recorded: dict, now: dict) -> list[str]:
    problems = []
    for group in GROUPS:
        for name, kind in recorded.get(group, {}).items():
            now_group = "required" if name in now["required"] else "optional" if name in now["optional"] else None
            if now_group is None:
                problems.append(f"input '{name}' is gone (removed or renamed)")
                continue
            if now[now_group][name] != kind:
                problems.append(f"input '{name}' changed type: {kind} → {now[now_group][name]}")
            if group == "optional" and now_group == "required":
                problems.append(f"optional input '{name}' became required")
    known = {name for group in GROUPS for name in recorded.get(group, {})}
    for name, kind in now["required"].items():
        if name not in known:
            problems.append(f"new input '{name}' ({kind}) is required: workflows saved without it fail; "
                            "make it optional")
    return problems


def _output_problems(recorded: dict, now: dict) -> list[str]:
    problems = []
    for slot, kind in enumerate(recorded.get("outputs", [])):
        if slot >= len(now["outputs"]):
            problems.append(f"output {slot} ({kind}) is gone")
        elif now["outputs"][slot] != kind:
            problems.append(f"output {slot} changed type: {kind} → {now['outputs'][slot]} "
                            "(links point at output slots by number: new outputs go after the existing ones)")
    return problems


def _order_problems(recorded: dict, now: dict) -> list[str]:
    known, widgets = recorded.get("widgets", []), now["widgets"]
    if widgets[:len(known)] == known:
        return []
    return [f"widget values out of place: expected {', '.join(known)} first, now {', '.join(widgets)} "
            "(saved workflows store widget values by position: existing widgets keep their order, stay widgets "
            "and keep their extra values such as control after generate; new ones go after them)"]


def _value_problems(recorded: dict, now: dict) -> list[str]:
    """Saved values the node would now refuse: a narrower range, a combo option gone."""
    problems = []
    for name, (low, high) in recorded.get("ranges", {}).items():
        now_low, now_high = now["ranges"].get(name, [low, high])
        if now_low > low or now_high < high:
            problems.append(f"input '{name}' range narrowed: {low}..{high} → {now_low}..{now_high}")
    for name, options in recorded.get("options", {}).items():
        gone = [option for option in options if option not in now["options"].get(name, options)]
        if gone:
            problems.append(f"input '{name}' lost options {', '.join(gone)} (saved workflows that chose them fail)")
    return problems


def unrecorded(snapshot: dict, object_info: dict) -> tuple[list[str], list[str]]:
    """(nodes not in the snapshot, "Node: input 'x'"/"Node: output n (TYPE)" for the new optional inputs
    and trailing outputs of recorded nodes)."""
    nodes = pack_nodes(object_info)
    new_nodes = sorted(set(nodes) - set(snapshot))
    new_parts = []
    for name in sorted(set(nodes) & set(snapshot)):
        recorded, now = snapshot[name], contract_of(nodes[name])
        known = {key for group in GROUPS for key in recorded.get(group, {})}
        # a new required input is a break (breaking_changes reports it), never something to record
        new_parts += [f"{name}: input '{key}'" for key in now["optional"] if key not in known]
        new_parts += [f"{name}: output {slot} ({kind})" for slot, kind in enumerate(now["outputs"])
                      if slot >= len(recorded.get("outputs", []))]
    return new_nodes, new_parts


def updated(snapshot: dict, object_info: dict) -> tuple[dict, list[str]]:
    """The snapshot with new nodes, optional inputs and outputs added, and what was added. Nothing is
    removed or changed, and a new required input is not added: what breaks a saved workflow stays for
    breaking_changes to report."""
    nodes = pack_nodes(object_info)
    result = json.loads(json.dumps(snapshot))
    new_nodes, new_parts = unrecorded(snapshot, object_info)
    for name in new_nodes:
        result[name] = contract_of(nodes[name])
    for name in {part.split(":")[0] for part in new_parts}:
        recorded, now = result[name], contract_of(nodes[name])
        known = {key for group in GROUPS for key in recorded.get(group, {})}
        for key, kind in now["optional"].items():
            if key not in known:
                recorded.setdefault("optional", {})[key] = kind
        recorded["outputs"] = recorded.get("outputs", []) + now["outputs"][len(recorded.get("outputs", [])):]
    for name in set(result) & set(nodes):  # what keeps every recorded value: more widgets, options, ranges
        recorded, now = result[name], contract_of(nodes[name])
        if not _order_problems(recorded, now):
            recorded["widgets"] = now["widgets"]
        if not _value_problems(recorded, now):
            recorded["ranges"] = {**recorded.get("ranges", {}), **now["ranges"]}
            recorded["options"] = _merged_options(recorded.get("options", {}), now["options"])
    return dict(sorted(result.items())), [f"node {name}" for name in new_nodes] + new_parts


def _merged_options(recorded: dict, now: dict) -> dict:
    """Each combo's recorded options, then its new ones."""
    merged = dict(recorded)
    for key, options in now.items():
        merged[key] = merged.get(key, []) + [option for option in options if option not in merged.get(key, [])]
    return merged


# --- the snapshot file ------------------------------------------------------------------------
def load_snapshot(path: pathlib.Path = SNAPSHOT) -> dict:
    """The recorded nodes ({} when there is no snapshot yet)."""
    if not path.exists():
        return {}
    return json.loads(path.read_text())["nodes"]


def write_snapshot(nodes: dict, path: pathlib.Path = SNAPSHOT) -> None:
    for entry in nodes.values():
        for group in GROUPS:
            entry.setdefault(group, {})
    text = json.dumps({"about": ABOUT, "nodes": nodes}, indent=2, ensure_ascii=False)
    path.write_text(text + "\n")


def host_object_info() -> dict:
    with tempfile.TemporaryDirectory(prefix="spacetime-contract-") as base:
        with ComfyHost(base=pathlib.Path(base)) as host:
            return host.object_info()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help="add new nodes, inputs and outputs to the snapshot")
    parser.add_argument("--snapshot", type=pathlib.Path, default=SNAPSHOT)
    args = parser.parse_args()
    object_info = host_object_info()
    snapshot = load_snapshot(args.snapshot)
    if not pack_nodes(object_info):
        print(f"the host shows no nodes from {PACK_MODULE}: did the pack fail to load?", file=sys.stderr)
        return 1
    problems = breaking_changes(snapshot, object_info)
    new_nodes = []
    if args.update:
        before = json.dumps(snapshot, sort_keys=True)
        snapshot, added = updated(snapshot, object_info)
        refreshed = json.dumps(snapshot, sort_keys=True) != before  # also widgets, ranges, options, names
        if refreshed:
            write_snapshot(snapshot, args.snapshot)
        print(f"added to {args.snapshot}: {', '.join(added)}" if added else
              f"{args.snapshot}: widget values, ranges and options recorded" if refreshed else
              f"{args.snapshot} is up to date")
    else:
        new_nodes, new_parts = unrecorded(snapshot, object_info)
        for item in [f"node {name}" for name in new_nodes] + new_parts:
            print(f"not in the snapshot yet: {item} (run {UPDATE_COMMAND})")
    for problem in problems:
        print(f"BREAKING: {problem}", file=sys.stderr)
    if problems:
        print("--update does not fix these: restore the node, input or output, or, if the break is deliberate, "
              f"edit {args.snapshot} by hand.", file=sys.stderr)
    return 1 if problems or new_nodes else 0

if __name__ == "__main__":
    sys.exit(main())
