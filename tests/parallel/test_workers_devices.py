"""The devices text and the layout the Parallel Devices node builds from it: what is accepted, and what a
mistake is told."""
import pytest

from spacetime.engine.parallel import ParallelLayout
from spacetime.engine.parallel.devices import layout_for, parse_devices


@pytest.mark.parametrize("text, devices", [("cpu:2", ("cpu", "cpu")), (" CPU:1 ", ("cpu",)),
                                           ("cpu:4", ("cpu",) * 4)])
def test_cpu_workers(text, devices):
    assert parse_devices(text) == devices


@pytest.mark.parametrize("text, message", [
    ("2", "is not a device list"), ("gpu:0", "is not a device list"), ("cpu", "is not a device list"),
    ("cpu:0", "1 to 64"), ("cpu:x", "1 to 64"), ("cpu:65", "1 to 64"), ("cpu:²", "1 to 64"),
])
def test_malformed_devices_say_what_to_write(text, message):
    with pytest.raises(ValueError, match=message):
        parse_devices(text)


def test_cuda_without_a_gpu_points_to_the_cpu(monkeypatch):
    monkeypatch.setattr("torch.cuda.device_count", lambda: 0)
    with pytest.raises(ValueError, match="no CUDA GPU .* use cpu:N"):
        parse_devices("cuda:0,1")


@pytest.mark.parametrize("text, devices", [("cuda:all", ("cuda:0", "cuda:1", "cuda:2")),
                                           ("cuda:2, 0", ("cuda:2", "cuda:0")), ("cuda:1", ("cuda:1",))])
def test_cuda_devices(monkeypatch, text, devices):
    monkeypatch.setattr("torch.cuda.device_count", lambda: 3)
    assert parse_devices(text) == devices


@pytest.mark.parametrize("text, message", [("cuda:3", "sees 3 GPU.*no cuda:3"), ("cuda:0,0", "twice"),
                                           ("cuda:0;1", "separated by commas"), ("cuda:", "separated by commas")])
def test_cuda_mistakes(monkeypatch, text, message):
    monkeypatch.setattr("torch.cuda.device_count", lambda: 3)
    with pytest.raises(ValueError, match=message):
        parse_devices(text)


@pytest.mark.parametrize("workers, ulysses, ring, layout", [(2, 0, 1, (2, 1)), (4, 0, 2, (2, 2)), (4, 1, 4, (1, 4)),
                                                            (1, 0, 1, (1, 1)), (6, 3, 2, (3, 2))])
def test_layouts(workers, ulysses, ring, layout):
    assert layout_for(workers, ulysses, ring) == ParallelLayout(*layout)


@pytest.mark.parametrize("workers, ulysses, ring, message", [(2, 4, 1, "is 4 ranks, but the devices give 2"),
                                                             (3, 0, 2, "do not split into 2 rings"),
                                                             (2, 1, 0, "at least 1")])
def test_layouts_that_do_not_fit_the_devices(workers, ulysses, ring, message):
    with pytest.raises(ValueError, match=message):
        layout_for(workers, ulysses, ring)


@pytest.mark.parametrize("workers, ulysses, ring, layout", [(2, 0, 1, (1, 1, 2)), (4, 0, 1, (2, 1, 2)),
                                                            (8, 0, 2, (2, 2, 2)), (4, 1, 2, (1, 2, 2))])
def test_cfg_split_layouts(workers, ulysses, ring, layout):
    assert layout_for(workers, ulysses, ring, cfg=2) == ParallelLayout(*layout)


@pytest.mark.parametrize("workers, ulysses, ring, message", [
    (3, 0, 1, "3 device.* do not split into 2 CFG halves: the CFG split needs an even number of devices"),
    (2, 2, 1, r"CFG split 2 x Ulysses degree 2 x ring degree 1 is 4 ranks, but the devices give 2: .*"
              r"\(per CFG half: ulysses 1 x ring 1;"),
    (4, 0, 4, r"do not split into 4 rings in each of the 2 CFG halves: give a ring degree that divides 2 "
              r"\(per CFG half: ulysses 2 x ring 1, ulysses 1 x ring 2\)"),
])
def test_cfg_split_layouts_that_do_not_fit_the_devices_name_what_does(workers, ulysses, ring, message):
    with pytest.raises(ValueError, match=message):
        layout_for(workers, ulysses, ring, cfg=2)


def test_ray_gpus_are_counted_not_looked_for_on_this_machine(monkeypatch):
    monkeypatch.setattr("torch.cuda.device_count", lambda: 0)  # a head machine without GPUs
    assert parse_devices("cuda:0,1,2,3", here=False) == ("cuda:0", "cuda:1", "cuda:2", "cuda:3")
    assert parse_devices("cpu:2", here=False) == ("cpu", "cpu")
    with pytest.raises(ValueError, match=r"for Ray actors give one GPU number per worker, e.g. cuda:0,1,2,3"):
        parse_devices("cuda:all", here=False)
    with pytest.raises(ValueError, match="give each GPU number once"):
        parse_devices("cuda:0,00", here=False)
