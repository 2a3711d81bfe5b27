"""Error measures the tests share."""
import torch


def relative_l2(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """‖actual − expected‖ / ‖expected‖, in float64."""
    return ((actual.double() - expected.double()).norm() / expected.double().norm()).item()
