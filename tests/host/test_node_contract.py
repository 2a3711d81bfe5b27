"""Node ids, input names and types, output types, the order of widget values, numeric ranges and combo options
are a public contract: saved workflows use them.

The host's /object_info is compared with tests/node_contract.json (see scripts/node_contract.py for
what counts as a break). New nodes must be recorded there before they ship.
"""
import warnings

import pytest

from node_contract import SNAPSHOT, UPDATE_COMMAND, breaking_changes, load_snapshot, unrecorded


def test_no_node_input_or_output_was_removed_renamed_or_retyped(object_info):
    problems = breaking_changes(load_snapshot(), object_info)
    if problems:
        pytest.fail("These changes break users' saved workflows:\n  " + "\n  ".join(problems) +
                    "\nRestore what was removed or renamed (keep the old name; add a new node or input beside it)."
                    f"\nIf the break is deliberate, edit {SNAPSHOT.relative_to(SNAPSHOT.parents[1])} by hand: "
                    "--update never removes or renames an entry.", pytrace=False)


def test_every_node_is_recorded_in_the_snapshot(object_info):
    new_nodes, new_parts = unrecorded(load_snapshot(), object_info)
    if new_parts:  # allowed, but not protected until recorded
        warnings.warn(f"not in the node contract yet: {', '.join(new_parts)}; record them with {UPDATE_COMMAND}")
    if new_nodes:
        pytest.fail(f"New nodes not in {SNAPSHOT.relative_to(SNAPSHOT.parents[1])}: {', '.join(new_nodes)}.\n"
                    "Once their inputs and outputs are final, record them (from the repository root) with\n"
                    f"    {UPDATE_COMMAND}\n"
                    "and commit the snapshot: from then on their ids, inputs and outputs may not change.",
                    pytrace=False)
