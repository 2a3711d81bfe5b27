"""Parallel Devices in the real host: the text-to-video graph on the tiny model sampled by 1 and by 2 CPU
worker processes (sharing each DiT call, or with the CFG split: the conditional and unconditional calls on
one worker each; as processes, or as Ray actors) gives the latent and the frames of the in-process run,
with progress; a killed worker is reported by name and cause and the next prompt works; an interrupt stops
the workers' run; a layout the model cannot take is refused with what works."""
import os
import re
import signal

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from graphs import base, decoded, node_of, problem_of, sampled

PARITY = 1e-5  # of the largest latent value: float32 throughout, only summation order differs
READY = re.compile(r"Spacetime: (\d+) parallel worker\(s\) ready on .* \(pids ([\d, ]+)\)")
RAY_READY = re.compile(r"Spacetime: 2 parallel worker\(s\) ready as Ray actors on [\d.]+ \(pids \d+, \d+\)")


def graph(devices=None, steps=3, prefix="parallel/run", **parallel) -> dict:
    """The tiny text-to-video graph at cfg 2 (both prompts sampled), its latent and its frames saved; with
    `devices`, the DiT goes through Parallel Devices."""
    g = decoded(sampled(base(), steps=steps, cfg=2.0, sampler="uni_pc"))
    g["8"] = {"class_type": "SaveLatent", "inputs": {"samples": ["6", 0], "filename_prefix": f"{prefix}_latent"}}
    g["9"] = {"class_type": "SaveImage", "inputs": {"images": ["7", 0], "filename_prefix": f"{prefix}_frame"}}
    if devices is not None:
        g["10"] = {"class_type": "SpacetimeParallel", "inputs": {"dit": ["1", 0], "devices": devices,
                                                                 "ulysses": 0, "ring": 1, **parallel}}
        g["6"]["inputs"]["dit"] = ["10", 0]
    return g


def outputs(host, result):
    assert result.status == "success", result.error
    files = host.files_of(result)
    (latent,) = [path for path in files if path.suffix == ".latent"]
    frames = [np.asarray(Image.open(path)) for path in sorted(files) if path.suffix == ".png"]
    return load_file(str(latent))["latent_tensor"], np.stack(frames).astype(int)


def worker_pids(host, count: int) -> list[int]:
    """The pids of the last pool of `count` workers the server log announced."""
    started = [match for match in READY.finditer(host.log_path.read_text(errors="replace"))
               if int(match.group(1)) == count]
    assert started, "the server log names no parallel workers"
    return [int(pid) for pid in started[-1].group(2).split(", ")]


def sampler_steps(result) -> list[int]:
    return [m["data"]["value"] for m in result.messages if m["type"] == "progress" and m["data"]["node"] == "6"]


@pytest.fixture(scope="module")
def in_process(comfy_host):
    return outputs(comfy_host, comfy_host.run(graph(prefix="parallel/alone")))


@pytest.mark.parametrize("devices, options", [("cpu:1", {}), ("cpu:2", {}), ("cpu:2", {"cfg_split": True}),
                                              ("cpu:2", {"cfg_split": True, "backend": "ray"})],
                         ids=["cpu:1", "cpu:2", "cpu:2 cfg split", "cpu:2 cfg split on ray"])
def test_workers_give_the_in_process_latent_and_frames(host, in_process, devices, options):
    expected_latent, expected_frames = in_process
    prefix = "_".join(["parallel/" + devices.replace(":", ""), *map(str, options.values())])
    result = host.run(graph(devices, prefix=prefix, **options))
    latent, frames = outputs(host, result)
    assert expected_latent.abs().max() > 0.1  # a real sample
    assert (latent - expected_latent).abs().max() <= PARITY * expected_latent.abs().max()
    assert frames.shape == expected_frames.shape == (9, 48, 64, 3)
    assert np.abs(frames - expected_frames).max() <= 1  # a rounding step at most
    assert sampler_steps(result) == [1, 2, 3]  # rank 0's progress reaches the node's bar
    if options.get("backend") == "ray":
        assert RAY_READY.search(host.log_path.read_text(errors="replace"))
    else:
        assert len(worker_pids(host, int(devices[-1]))) == int(devices[-1])


def test_a_killed_worker_is_an_error_naming_it_and_the_next_prompt_works(host, in_process):
    host.run(graph("cpu:2", prefix="parallel/warm"))  # the pool is up: its pids are in the log
    pids = worker_pids(host, 2)
    killed = []

    def kill_rank_one_at_step_two(message):
        if message["type"] == "progress" and message["data"].get("node") == "6" and message["data"]["value"] == 2 \
                and not killed:
            os.kill(pids[1], signal.SIGKILL)
            killed.append(pids[1])

    result = host.run(graph("cpu:2", steps=1000, prefix="parallel/killed"), on_message=kill_rank_one_at_step_two)
    assert killed, "the sampler reported no progress"
    assert result.status == "error"
    message = result.error["exception_message"]
    assert f"parallel worker 1 (cpu, pid {pids[1]}) was killed by SIGKILL" in message
    assert "Connection reset" not in message  # the cause, not rank 0's symptom in its next collective
    assert max(sampler_steps(result)) < 1000
    latent, _ = outputs(host, host.run(graph("cpu:2", prefix="parallel/after")))
    assert (latent - in_process[0]).abs().max() <= PARITY * in_process[0].abs().max()
    assert not set(worker_pids(host, 2)) & set(pids)  # fresh workers


def test_an_interrupt_stops_the_workers_run(host):
    host.run(graph("cpu:2", prefix="parallel/warm"))
    seen = []

    def interrupt_at_step_two(message):
        if message["type"] == "progress" and message["data"].get("node") == "6" and message["data"]["value"] == 2 \
                and not seen:
            seen.append(message)
            host.interrupt()

    result = host.run(graph("cpu:2", steps=1000, prefix="parallel/interrupted"), on_message=interrupt_at_step_two)
    assert seen and result.status == "error"
    assert any(m["type"] == "execution_interrupted" for m in result.messages)
    assert max(sampler_steps(result)) < 1000
    assert host.run(graph("cpu:2", steps=1, prefix="parallel/after_interrupt")).status == "success"


def test_layouts_that_cannot_work_are_refused_with_what_would(host):
    assert "is 4 ranks, but the devices give 2" in problem_of(host, graph("cpu:2", ulysses=4))
    assert "has 2 heads: Ulysses degree must divide 2 (1, 2); got 3" in problem_of(host, graph("cpu:3"))
    assert "is not a device list" in problem_of(host, graph("gpu:0"))
    assert "3 device(s) do not split into 2 CFG halves" in problem_of(host, graph("cpu:3", cfg_split=True))


def test_no_devices_is_the_model_as_loaded(host, in_process):
    latent, _ = outputs(host, host.run(graph("", prefix="parallel/empty")))
    assert torch.equal(latent, in_process[0])
