"""Input checks shared by the nodes (not a node file). Each returns a problem to show, or None."""


def choice_problem(name: str, value: str, choices) -> str | None:
    # ComfyUI 0.3.75 does not check V3 combo values against their options, so the nodes do; newer core
    # does, but skips the inputs a node's validate_inputs names, so our message is the one shown on both.
    # A linked input reaches validate_inputs as None: its value is checked when the node runs.
    return None if value is None or value in choices else f"{name} '{value}' is not one of: {', '.join(choices)}"


def range_problem(name: str, value: float | None, low: float, high: float) -> str | None:
    # NaN fails every comparison, so it is refused here too (the server's own range check lets it through).
    return None if value is None or low <= value <= high else f"{name} must be between {low:g} and {high:g}, got {value}"


def checked(*problems) -> bool | str:
    """What validate_inputs returns: True, or every problem found, joined."""
    found = [p for p in problems if p]
    return "; ".join(found) if found else True
