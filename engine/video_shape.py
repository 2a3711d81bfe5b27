"""Valid video sizes for Wan 2.1: frame counts 1+4k, width and height multiples of 16.

The VAE compresses 4 frames into one latent frame after a lone first frame, and 8x8 pixels into one
latent pixel; the DiT patches 2x2 latent pixels. Messages name the nearest valid values.
"""

SIZE_MULTIPLE = 16
TIME_STRIDE = 4
SPACE_STRIDE = 8
LATENT_CHANNELS = 16


def nearest_valid_lengths(length: int) -> tuple[int, int]:
    """The valid frame counts (1+4k) just below and just above `length` (equal when it is valid)."""
    below = 1 + max(0, (length - 1) // TIME_STRIDE) * TIME_STRIDE
    above = below if below == length else below + TIME_STRIDE
    return below, above


def nearest_valid_sizes(size: int) -> tuple[int, int]:
    """The multiples of 16 just below and just above `size` (never below 16)."""
    below = max(SIZE_MULTIPLE, size // SIZE_MULTIPLE * SIZE_MULTIPLE)
    above = below if below >= size else below + SIZE_MULTIPLE
    return below, above


def length_problem(length: int) -> str | None:
    """Why `length` is not a valid frame count, or None when it is."""
    below, above = nearest_valid_lengths(length)
    if length >= 1 and below == length:
        return None
    options = f"{below} or {above}" if length >= 1 else "1, 5 or 9"
    return f"length {length} is not a valid frame count: it must be 1 + 4·k (1, 5, 9, …, 33, …, 81); use {options}"


def size_problem(name: str, size: int) -> str | None:
    """Why `size` (a width or height in pixels) is invalid, or None when it is a positive multiple of 16."""
    if size >= SIZE_MULTIPLE and size % SIZE_MULTIPLE == 0:
        return None
    below, above = nearest_valid_sizes(size)
    options = f"{below} or {above}" if below != above else f"{below}"
    return f"{name} {size} is not a multiple of {SIZE_MULTIPLE}; use {options}"


def video_problems(width: int, height: int, length: int) -> list[str]:
    """Every reason why (width, height, length) is not a valid Wan 2.1 video size."""
    found = [size_problem("width", width), size_problem("height", height), length_problem(length)]
    return [problem for problem in found if problem]


def latent_frames(length: int) -> int:
    return (length - 1) // TIME_STRIDE + 1


def frame_count(latent_frame_count: int) -> int:
    """Video frames decoded from `latent_frame_count` latent frames: 1 + 4·(T − 1)."""
    return 1 + TIME_STRIDE * (latent_frame_count - 1)


def latent_shape(batch: int, width: int, height: int, length: int) -> tuple[int, int, int, int, int]:
    """Wan 2.1's raw latent layout [B, 16, 1 + (F-1)/4, H/8, W/8] for a valid video size."""
    return batch, LATENT_CHANNELS, latent_frames(length), height // SPACE_STRIDE, width // SPACE_STRIDE
