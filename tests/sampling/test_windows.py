"""Windows: which frames each window holds, and that fusing gives the model's own answer where it can."""
import pytest
import torch

from spacetime.engine.sampling.windows import FramePrompts, ramp, window_frames, windowed


def covered(windows, frames):
    return torch.cat(windows.frames).unique().tolist() == list(range(frames))


@pytest.mark.parametrize("frames,window,overlap", [(17, 5, 2), (9, 5, 1), (12, 6, 3), (5, 5, 2), (3, 5, 1)])
def test_windows_cover_every_frame_from_first_to_last_sharing_the_overlap(frames, window, overlap):
    windows = window_frames(frames, window, overlap)
    assert covered(windows, frames)
    assert windows.frames[0][0] == 0 and windows.frames[-1][-1] == frames - 1
    for a, b in zip(windows.frames, windows.frames[1:]):
        assert len(set(a.tolist()) & set(b.tolist())) >= overlap


def test_wrapped_windows_run_past_the_end_into_the_start():
    windows = window_frames(9, 5, 2, wrap=True)
    assert covered(windows, 9)
    assert any((w[:-1] == 8).any() and (w == 0).any() for w in windows.frames)  # a window holds the seam 8 → 0


def test_a_wrapped_clip_no_longer_than_a_window_is_run_twice_rolled_by_half():
    windows = window_frames(6, 9, 2, wrap=True)
    assert [w.tolist() for w in windows.frames] == [[0, 1, 2, 3, 4, 5], [3, 4, 5, 0, 1, 2]]


def test_bad_overlap_is_explained():
    with pytest.raises(ValueError, match="overlap"):
        window_frames(9, 4, 4)


def test_ramp_falls_towards_both_ends():
    assert ramp(6, 2).tolist() == [1, 2, 3, 3, 2, 1]


def frame_local(x, t, context):
    """A velocity that looks at each frame alone (its value, its timestep, its prompt weights)."""
    t = t if t.ndim == 2 else t[:, None].expand(-1, x.shape[2])
    v = x * 2 + t.reshape(t.shape[0], 1, -1, 1, 1)
    if isinstance(context, FramePrompts):
        v = v + context.weights[:, 1].reshape(1, 1, -1, 1, 1)
    return v


@pytest.mark.parametrize("wrap", [False, True])
def test_fusing_a_frame_local_model_changes_nothing(wrap):
    x = torch.randn(2, 3, 11, 2, 2)
    t = torch.rand(2, 11)
    context = FramePrompts(torch.zeros(2, 1, 4), torch.rand(11, 2))
    fused = windowed(frame_local, window_frames(11, 5, 2, wrap))
    assert torch.allclose(fused(x, t, context), frame_local(x, t, context), atol=1e-6)


def test_each_window_sees_only_its_frames():
    seen = []

    def recorder(x, t, context):
        seen.append(x.shape[2])
        return x

    windowed(recorder, window_frames(17, 5, 2))(torch.zeros(1, 1, 17, 1, 1), torch.zeros(1), None)
    assert seen and set(seen) == {5}


def test_chained_windows_hold_what_the_window_before_made():
    from spacetime.engine.sampling.windows import sample_in_turn

    seen = []

    def run_window(k, index, latent, keep):
        seen.append((index.tolist(), keep.tolist()))
        return torch.full_like(latent, float(k + 1))

    keep = torch.zeros(11)
    keep[0] = 1  # a frame the plan itself keeps
    out = sample_in_turn(run_window, window_frames(11, 5, 2), torch.zeros(1, 1, 11, 1, 1), keep)
    assert seen[0] == ([0, 1, 2, 3, 4], [1, 0, 0, 0, 0])
    for (index, held), (before, _) in zip(seen[1:], seen):
        assert held == [float(i in before) for i in index]
    assert (out > 0).all()
