"""Video files: write IMAGE frames to mp4/webm/webp/gif with metadata, and read them back (PyAV)."""
from .metadata import PROVENANCE_KEY, provenance_record
from .reader import VideoReadError, read_metadata, read_video
from .writer import VideoWriteError, frame_rate, next_free_path, write_video

__all__ = [
    "PROVENANCE_KEY", "provenance_record",
    "VideoReadError", "read_metadata", "read_video",
    "VideoWriteError", "frame_rate", "next_free_path", "write_video",
]
