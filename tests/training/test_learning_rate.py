"""The trainers' learning rate: constant, or annealed along a cosine to zero at the run's end."""
import math
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "training"))
from common import learning_rate  # noqa: E402


def test_without_anneal_the_rate_stays_at_its_base():
    assert [learning_rate(3e-4, done, anneal=False) for done in (0.0, 0.5, 1.0)] == [3e-4] * 3


def test_anneal_runs_a_cosine_from_the_base_to_zero_and_stays_there_after_the_end():
    assert learning_rate(3e-4, 0.0, anneal=True) == 3e-4
    assert math.isclose(learning_rate(3e-4, 0.5, anneal=True), 1.5e-4)
    assert math.isclose(learning_rate(3e-4, 0.25, anneal=True), 3e-4 * (2 + math.sqrt(2)) / 4)
    assert learning_rate(3e-4, 1.0, anneal=True) == 0.0
    assert learning_rate(3e-4, 1.2, anneal=True) == 0.0  # the last step often starts past the budget
