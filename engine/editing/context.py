"""How many given frames the model sees beside the frames it generates."""
from ..video_shape import TIME_STRIDE


def leading_context(available: int, wanted: int) -> int:
    """Given frames to show before generated ones: at most `wanted`, and 1 + 4k or 4k of them, so that
    they fill whole latent frames (from the VAE's lone first frame, or after one padding frame)."""
    count = max(1, min(available, wanted))
    return count if count % TIME_STRIDE in (0, 1) else count - (count - 1) % TIME_STRIDE


def trailing_context(available: int, wanted: int) -> int:
    """Given frames to show after generated ones: at most `wanted`, in whole latent frames of 4 where
    there are 4 (fewer are shown as they are, their last frame repeated to fill one)."""
    count = max(1, min(available, wanted))
    return count - count % TIME_STRIDE if count >= TIME_STRIDE else count


def check_count(name: str, value: int, least: int = 1) -> None:
    if value < least:
        raise ValueError(f"{name} is {value}; it must be at least {least}.")
