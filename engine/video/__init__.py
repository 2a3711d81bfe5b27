"""Video files: write IMAGE frames (and sound) to mp4/webm/webp/gif with metadata, and read them back (PyAV)."""
from .metadata import PROVENANCE_KEY, provenance
from .reader import (LoadedVideo, Selection, VideoInfo, VideoReadError, VideoTooLarge, load_video, probe_video,
                     read_metadata, read_video)
from .writer import VideoWriteError, frame_rate, next_free_path, write_video

__all__ = [
    "PROVENANCE_KEY", "provenance",
    "LoadedVideo", "Selection", "VideoInfo", "VideoReadError", "VideoTooLarge", "load_video", "probe_video",
    "read_metadata", "read_video",
    "VideoWriteError", "frame_rate", "next_free_path", "write_video",
]
