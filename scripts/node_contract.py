"""The pack's node contract: node ids, inputs and outputs that saved workflows rely on.

    .host/venv/bin/python scripts/node_contract.py            # compare the nodes with the snapshot
    .host/venv/bin/python scripts/node_contract.py --update   # record new nodes, optional inputs, outputs

tests/node_contract.json records, for every Spacetime node as a real ComfyUI host's /object_info
shows it, each input's name and type under "required" or "optional" (in the host's input order) and
the output types in order. Display names, tooltips, defaults and combo options are not recorded.

What breaks saved workflows (tests/host/test_node_contract.py fails on it): a node, input or output
that is gone (removed or renamed), an input or output of another type, an optional input that became
required, a new required input, and widget inputs out of order (the UI format stores widget values
by position). What does not: a new optional input, a new output after the existing ones, a required
input that became optional.

`--update` only adds: new nodes, and new optional inputs and trailing outputs of recorded nodes. It
never removes, renames or retypes an entry and never records a break; a deliberate removal is done by
editing the snapshot by hand.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile

from comfy_host import PACK_LINK_NAME, REPO, ComfyHost
from workflow_api import _is_widget

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
    """{"required": {name: type}, "optional": {name: type}, "outputs": [type, ...]} of one node."""
    entry = {group: {name: input_type(info["input"][group][name]) for name in _ordered(info, group)}
             for group in GROUPS}
    entry["outputs"] = [str(kind) for kind in info.get("output", [])]
    return entry


def _widgets(info: dict) -> list[str]:
    """The node's widget inputs in the order their values sit in a UI-format workflow."""
    return [name for group in GROUPS for name in _ordered(info, group)
            if _is_widget(info["input"][group][name])]


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
        problems += [f"{name}: {problem}" for problem in _order_problems(recorded, nodes[name])]
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


def _order_problems(recorded: dict, info: dict) -> list[str]:
    widgets = _widgets(info)
    known = [name for group in GROUPS for name in recorded.get(group, {}) if name in widgets]
    if widgets[:len(known)] == known:
        return []
    return [f"widget inputs out of order: expected {', '.join(known)} first, now {', '.join(widgets)} "
            "(saved workflows store widget values by position: existing widgets keep their order and "
            "new ones go after them)"]


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
    return dict(sorted(result.items())), [f"node {name}" for name in new_nodes] + new_parts


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
        snapshot, added = updated(snapshot, object_info)
        if added:
            write_snapshot(snapshot, args.snapshot)
        print(f"added to {args.snapshot}: {', '.join(added)}" if added else f"{args.snapshot} is up to date")
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
