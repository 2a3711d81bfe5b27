"""Image to video: a clip that starts on exactly the given image."""
import torch

from .context import check_count
from .timeline import Timeline


def image_to_video(image: torch.Tensor, length: int) -> Timeline:
    """image [H, W, 3] (or [1, H, W, 3]) as frame 0 of a `length`-frame clip."""
    check_count("length", length, least=2)
    image = image.reshape(1, *image.shape[-3:])
    clip = torch.cat([image, image.new_zeros(length - 1, *image.shape[1:])])
    given = torch.zeros(length, dtype=torch.bool)
    given[0] = True
    return Timeline(clip, given, (0, length))
