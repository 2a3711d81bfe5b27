"""How the ranks of a parallel run divide the work: the CFG split and the Ulysses and ring degrees."""
from dataclasses import dataclass

# Released Wan 2.1 DiTs by head count, to name the model in messages.
_KNOWN_MODELS = {12: "Wan 2.1 1.3B", 40: "Wan 2.1 14B"}


@dataclass(frozen=True)
class ParallelLayout:
    """`ulysses` ranks split each attention's heads between them (an all-to-all before and after it);
    `ring` groups of them pass keys and values around a ring; with `cfg` 2 the ranks form two such groups,
    one running each step's conditional DiT call and the other its unconditional call at the same time.
    The world size is the product of the three.

    Ulysses moves less data but needs the head count divisible by its degree; ring has no such limit.
    """

    ulysses: int = 1
    ring: int = 1
    cfg: int = 1

    def __post_init__(self):
        for name in ("ulysses", "ring"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"the {name} degree must be a whole number of at least 1; got {value!r}.")
        if not isinstance(self.cfg, int) or isinstance(self.cfg, bool) or self.cfg not in (1, 2):
            raise ValueError(f"the CFG split must be 1 (off) or 2 (the conditional and unconditional DiT calls on "
                             f"two halves of the devices); got {self.cfg!r}.")

    @property
    def world_size(self) -> int:
        return self.cfg * self.ulysses * self.ring

    @property
    def sequence(self) -> "ParallelLayout":
        """The layout of the ranks that share one DiT call: the whole world, or one CFG half of it."""
        return ParallelLayout(self.ulysses, self.ring)

    def __str__(self) -> str:
        split = f"{self.cfg} (CFG) x " if self.cfg > 1 else ""
        return f"{split}{self.ulysses} (Ulysses) x {self.ring} (ring)"

    def check(self, num_heads: int) -> None:
        """Raise ValueError, naming the degrees that work, when the heads do not split `ulysses` ways.

        Called before any collective runs, so a bad layout fails on every rank alike instead of hanging one.
        """
        if num_heads % self.ulysses:
            model = _KNOWN_MODELS.get(num_heads, "This DiT")
            degrees = ", ".join(str(d) for d in range(1, num_heads + 1) if num_heads % d == 0)
            raise ValueError(f"{model} has {num_heads} heads: Ulysses degree must divide {num_heads} ({degrees}); "
                             f"got {self.ulysses}. Use one of those, and the ring degree for the other devices.")
