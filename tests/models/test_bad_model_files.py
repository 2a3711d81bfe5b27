"""Every malformed model file of the generated corpus is refused with the same clear CheckpointError,
fast: a header naming thousands of blocks is refused before any model is built."""
import time

import pytest

from bad_files import bad_model_files
from spacetime.engine.models.checkpoint import CheckpointError, load_dit

CORPUS = bad_model_files()


@pytest.mark.parametrize("name, data, message", CORPUS, ids=[name for name, _, _ in CORPUS])
def test_a_malformed_file_gets_a_clear_refusal_fast(tmp_path, name, data, message):
    path = tmp_path / f"{name}.safetensors"
    path.write_bytes(data)
    start = time.monotonic()
    with pytest.raises(CheckpointError, match=message) as refusal:
        load_dit(path)
    assert time.monotonic() - start < 5
    assert name in str(refusal.value)  # the message names the file
