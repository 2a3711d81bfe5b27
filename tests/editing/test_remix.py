"""Remix: named strengths, the two methods as plans, and its messages."""
import pytest
import torch

from spacetime.engine.editing.remix import STRENGTHS, remix_plan, remix_strength

SOURCE = torch.randn(1, 16, 3, 4, 4)
PROMPT, OTHER = torch.zeros(1, 5, 8), torch.ones(1, 5, 8)


def test_named_strengths_rise():
    values = [remix_strength(name, 0.0) for name in ("subtle", "moderate", "strong")]
    assert values == sorted(values) and values == list(STRENGTHS.values())


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_a_strength_outside_0_to_1_is_refused(value):
    with pytest.raises(ValueError, match="outside 0..1"):
        remix_strength("custom", value)


def test_flowedit_plans_carry_the_source_prompt_and_renoise_plans_do_not():
    flow = remix_plan(SOURCE, PROMPT, OTHER, 0.6, "flowedit", source_prompt=OTHER)
    plain = remix_plan(SOURCE, PROMPT, OTHER, 0.6, "renoise")
    assert flow.source_prompt is OTHER and plain.source_prompt is None
    assert flow.strength == plain.strength == 0.6


def test_an_empty_latent_cannot_be_remixed():
    with pytest.raises(ValueError, match="empty latent"):
        remix_plan(torch.zeros_like(SOURCE), PROMPT, OTHER, 0.6, "renoise")
