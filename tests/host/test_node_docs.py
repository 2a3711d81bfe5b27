"""Every input and output of every Spacetime node explains itself in the frontend: a tooltip, as /object_info
serves it (inputs: the `tooltip` in each input's options; outputs: `output_tooltips`, one per output)."""


def spacetime_nodes(object_info: dict) -> dict:
    nodes = {name: info for name, info in object_info.items() if name.startswith("Spacetime")}
    assert len(nodes) >= 20, f"only {len(nodes)} Spacetime nodes in /object_info"
    return nodes


def test_every_input_has_a_tooltip(object_info):
    missing = []
    for name, info in spacetime_nodes(object_info).items():
        for section in ("required", "optional"):
            for input_name, spec in info.get("input", {}).get(section, {}).items():
                options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
                if not str(options.get("tooltip") or "").strip():
                    missing.append(f"{name}.{input_name}")
    assert not missing, f"inputs without a tooltip: {', '.join(missing)}"


def test_every_output_has_a_tooltip(object_info):
    missing = []
    for name, info in spacetime_nodes(object_info).items():
        outputs = info.get("output", [])
        tooltips = list(info.get("output_tooltips") or [])
        tooltips += [None] * (len(outputs) - len(tooltips))
        for index, (kind, tooltip) in enumerate(zip(outputs, tooltips)):
            if not str(tooltip or "").strip():
                output_names = info.get("output_name") or []
                label = output_names[index] if index < len(output_names) else kind
                missing.append(f"{name}.{label}")
    assert not missing, f"outputs without a tooltip: {', '.join(missing)}"
