"""Video in and provenance out, in the real host on tiny random models: Load Video picks frames and sound
and refuses what would not fit before decoding; names outside the input folder are refused; every saved
mp4/webm carries a signed C2PA manifest that Read Provenance gives back equal to the parameters used,
and an extend of an extend lists its sources' manifests as ingredients of ingredients."""
import hashlib
import json
import math
import shutil
import struct
import uuid

import pytest
import torch

from comfy_host import PromptRefused
from spacetime.engine.video import load_video, read_metadata
from spacetime.engine.video.writer import write_video
from tiny_models import TINY_FILES

HEIGHT, WIDTH = 48, 64


def unique(stem: str) -> str:
    return f"{stem}_{uuid.uuid4().hex[:8]}"


def numbered(count: int) -> torch.Tensor:
    """Frame i is a flat grey of level 10*i."""
    return (torch.arange(count, dtype=torch.float32) * 10 / 255).view(count, 1, 1, 1).expand(count, HEIGHT, WIDTH, 3)


def indices(frames) -> list[int]:
    return [round(float(frame.mean()) * 255 / 10) for frame in frames]


def tone(seconds: float, rate=44100) -> dict:
    t = torch.arange(round(seconds * rate)) / rate
    return {"waveform": (0.5 * torch.sin(2 * math.pi * 330 * t)).view(1, 1, -1), "sample_rate": rate}


def run(host, graph):
    result = host.run(graph)
    assert result.status == "success", result.error
    return result


def refused(host, graph, node="1") -> str:
    with pytest.raises(PromptRefused) as error:
        host.run(graph)
    return " ".join(e["details"] for e in error.value.body["node_errors"][node]["errors"])


def to_input(host, path) -> str:
    """Copy a saved file (and its C2PA sidecar, if any) into the input folder, as a user's upload would."""
    shutil.copy(path, host.base / "input" / path.name)
    sidecar = path.with_suffix(".c2pa")
    if sidecar.exists():
        shutil.copy(sidecar, host.base / "input" / sidecar.name)
    return path.name


def load(file, **selection):
    values = {"file": file, "start": 0, "count": 0, "every_nth": 1, "target_fps": 0.0, "max_frames": 0,
              "max_side": 0, **selection}
    return {"class_type": "SpacetimeLoadVideo", "inputs": values}


def save(images, prefix, format="mp4", **inputs):
    return {"class_type": "SpacetimeSaveVideo", "inputs": {"images": images, "fps": 8.0, "format": format,
                                                         "quality": 85, "filename_prefix": prefix, **inputs}}


def models():
    return {
        "m1": {"class_type": "SpacetimeLoadDiT", "inputs": {"dit_name": TINY_FILES["diffusion_models"],
                                                             "dtype": "default", "attention": "sdpa"}},
        "m2": {"class_type": "SpacetimeLoadTextEncoder",
               "inputs": {"text_encoder_name": TINY_FILES["text_encoders"], "dtype": "default"}},
        "m3": {"class_type": "SpacetimeLoadVAE", "inputs": {"vae_name": TINY_FILES["vae"], "dtype": "default"}},
    }


def sampled(latent, prompt: str, seed: int, steps=1) -> dict:
    """Text encode, sample `latent` and decode as node "d" (IMAGE)."""
    return {
        "t": {"class_type": "SpacetimeTextEncode", "inputs": {"text_encoder": ["m2", 0], "prompt": prompt,
                                                               "negative_prompt": "blurry"}},
        "s": {"class_type": "SpacetimeSampler", "inputs": {
            "dit": ["m1", 0], "positive": ["t", 0], "negative": ["t", 1], "latent": latent, "seed": seed,
            "steps": steps, "cfg": 1.0, "shift": 8.0, "sampler": "euler", "denoise": 1.0}},
        "d": {"class_type": "SpacetimeDecode", "inputs": {"vae": ["m3", 0], "latent": ["s", 0], "tile_size": 0}},
    }


def generated(prefix: str, seed=5, format="mp4", **save_inputs) -> dict:
    graph = {**models(), "e": {"class_type": "SpacetimeEmptyVideoLatent",
                               "inputs": {"width": WIDTH, "height": HEIGHT, "length": 9, "batch_size": 1}},
             **sampled(["e", 0], "a red fox", seed, steps=2)}
    graph["v"] = save(["d", 0], prefix, format, **save_inputs)
    return graph


def extended(file: str, prefix: str, seed: int) -> dict:
    """Load `file`, Re-cut it (keep frames 2-6, add 5), sample, finish and save."""
    graph = {**models(), "l": load(file), **sampled(["x", 0], "a fox runs on", seed)}
    graph["x"] = {"class_type": "SpacetimeExtend", "inputs": {
        "vae": ["m3", 0], "images": ["l", 0], "keep_start": 2, "keep_end": 6, "direction": "forward", "add": 5.0,
        "unit": "frames", "fps": 8.0, "context_frames": 5}}
    graph["f"] = {"class_type": "SpacetimeFinishEdit", "inputs": {"edit": ["x", 1], "images": ["d", 0]}}
    graph["v"] = save(["f", 0], prefix)
    return graph


def provenance_of(host, file: str) -> tuple[dict, str]:
    graph = {"1": {"class_type": "SpacetimeReadProvenance", "inputs": {"file": file}},
             "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
             "3": {"class_type": "PreviewAny", "inputs": {"source": ["1", 1]}}}
    result = run(host, graph)
    return json.loads(result.outputs["2"]["text"][0]), result.outputs["3"]["text"][0]


def generation_record(store: dict, label: str | None = None) -> dict:
    manifest = store["manifests"][label or store["active_manifest"]]
    (record,) = [a["data"] for a in manifest["assertions"] if a["label"].endswith(".generation")]
    return record


def test_load_video_picks_frames_and_carries_the_sound_to_the_saved_file(host):
    name = unique("numbered") + ".mp4"
    write_video(numbered(24), str(host.base / "input" / name), 12, "mp4", quality=100, audio=tone(2.0))
    graph = {"1": load(name, start=2, count=16, every_nth=2, max_frames=6),
             "2": save(["1", 0], unique("io/loaded"), fps=["1", 1], audio=["1", 2])}
    (path,) = host.files_of(run(host, graph))
    saved = load_video(str(path))
    assert indices(saved.frames) == [2, 4, 6, 8, 10, 12] and saved.fps == pytest.approx(6)
    assert saved.audio is not None and saved.audio["waveform"].shape[2] == pytest.approx(44100, rel=0.05)


def test_a_video_that_would_not_fit_is_refused_before_decoding_with_what_fits(host):
    """A webm whose header claims 1000 hours: refused from the header alone; with a frame cap it loads."""
    path = host.base / "input" / (unique("endless") + ".webm")
    write_video(numbered(4), str(path), 8, "webm")
    data = bytearray(path.read_bytes())
    at = data.find(b"\x44\x89\x88")  # Matroska Duration, an 8-byte float in ms
    data[at + 3:at + 11] = struct.pack(">d", 3.6e9)
    path.write_bytes(data)
    name = path.name
    result = host.run({"1": load(name), "2": save(["1", 0], unique("io/endless"))})
    assert result.status == "error"
    message = result.error["exception_message"]
    assert "28800000 frames" in message and "What fits: max_frames" in message
    (path,) = host.files_of(run(host, {"1": load(name, max_frames=100), "2": save(["1", 0], unique("io/capped"))}))
    assert len(load_video(str(path)).frames) == 4


@pytest.mark.parametrize("node", ["SpacetimeLoadVideo", "SpacetimeReadProvenance"])
def test_files_outside_the_input_folder_are_refused(host, tmp_path, node):
    outside = tmp_path / "secret.mp4"
    write_video(numbered(2), str(outside), 8, "mp4")
    link = unique("link") + ".mp4"
    (host.base / "input" / link).symlink_to(outside)
    for name, message in [("../secret.mp4", "outside the input folder"), (str(outside), "outside the input folder"),
                          (link, "links to"), ("missing.mp4", "was not found in the input folder")]:
        inputs = load(name)["inputs"] if node == "SpacetimeLoadVideo" else {"file": name}
        graph = {"1": {"class_type": node, "inputs": inputs}, "2": {"class_type": "PreviewAny",
                                                                     "inputs": {"source": ["1", 0]}}}
        assert message in refused(host, graph), name


def test_a_saved_mp4_reads_back_its_signed_manifest_equal_to_the_parameters_used(host):
    result = run(host, generated(unique("io/signed"), seed=11))
    (path,) = host.files_of(result)
    store, state = provenance_of(host, to_input(host, path))
    assert state == "Valid"
    record = generation_record(store)
    assert record == json.loads(read_metadata(str(path))["spacetime"])  # the plain record, signed
    assert record["generator"] == "Spacetime" and record["seed"] == 11 and record["sources"] == []
    assert record["prompts"] == [{"node": "SpacetimeTextEncode", "prompt": "a red fox", "negative_prompt": "blurry"}]
    assert record["sampling"] == [{"node": "SpacetimeSampler", "seed": 11, "steps": 2, "cfg": 1.0, "shift": 8.0,
                                   "sampler": "euler", "denoise": 1.0}]
    for entry in record["model_files"]:
        file = host.base / "models" / entry["folder"] / entry["name"]
        assert entry["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    assert {e["folder"] for e in record["model_files"]} == {"diffusion_models", "text_encoders", "vae"}
    assertions = store["manifests"][store["active_manifest"]]["assertions"]
    (action,) = [a["data"]["actions"] for a in assertions if a["label"] == "c2pa.actions.v2"][0]
    assert action["action"] == "c2pa.created" and action["digitalSourceType"].endswith("/trainedAlgorithmicMedia")


def test_lineage_chains_through_an_extend_of_an_extend(host):
    (first,) = host.files_of(run(host, generated(unique("io/first"), seed=1)))
    (second,) = host.files_of(run(host, extended(to_input(host, first), unique("io/second"), seed=2)))
    (third,) = host.files_of(run(host, extended(to_input(host, second), unique("io/third"), seed=3)))
    store, state = provenance_of(host, to_input(host, third))
    assert state == "Valid"
    active = store["manifests"][store["active_manifest"]]
    (b,) = active["ingredients"]
    (a,) = store["manifests"][b["active_manifest"]]["ingredients"]
    assert (b["title"], a["title"]) == (second.name, first.name)
    assert "ingredients" not in store["manifests"][a["active_manifest"]]
    assert [generation_record(store, label)["seed"] for label in
            (store["active_manifest"], b["active_manifest"], a["active_manifest"])] == [3, 2, 1]
    assert generation_record(store)["sources"] == [
        {"file": second.name, "sha256": hashlib.sha256(second.read_bytes()).hexdigest()}]
    assert generation_record(store)["edits"][0]["node"] == "SpacetimeExtend"


def test_webm_with_a_watermark_gets_a_valid_sidecar(host):
    result = run(host, generated(unique("io/marked"), format="webm", watermark="AI generated",
                                 watermark_opacity=0.8, watermark_corner="top left"))
    (path,) = host.files_of(result)
    assert path.with_suffix(".c2pa").exists()
    store, state = provenance_of(host, to_input(host, path))
    assert state == "Valid" and generation_record(store)["watermark"] == "AI generated"


def test_an_extended_video_keeps_its_sound_under_the_kept_frames_and_is_silent_under_new_ones(host):
    """A 9-frame video at 8 fps with a tone: keep frames 2-6 and add 5; Finish Edit's audio, saved and read back,
    is the tone for the first 5 frames (0.625 s) and silence for the last 5."""
    name = unique("toned") + ".mp4"
    write_video(numbered(9), str(host.base / "input" / name), 8, "mp4", quality=100, audio=tone(9 / 8))
    graph = {**models(), "l": load(name), **sampled(["x", 0], "a fox runs on", 3)}
    graph["x"] = {"class_type": "SpacetimeExtend", "inputs": {
        "vae": ["m3", 0], "images": ["l", 0], "keep_start": 2, "keep_end": 6, "direction": "forward", "add": 5.0,
        "unit": "frames", "fps": 8.0, "context_frames": 5, "audio": ["l", 2]}}
    graph["f"] = {"class_type": "SpacetimeFinishEdit", "inputs": {"edit": ["x", 1], "images": ["d", 0]}}
    graph["v"] = save(["f", 0], unique("io/extended_sound"), audio=["f", 1])
    (path,) = host.files_of(run(host, graph))
    sound = load_video(str(path)).audio
    assert sound is not None
    wave, rate = sound["waveform"][0, 0], sound["sample_rate"]
    rms = lambda a, b: float(wave[round(a * rate):round(b * rate)].pow(2).mean().sqrt())  # noqa: E731
    assert rms(0.1, 0.55) == pytest.approx(0.5 / math.sqrt(2), rel=0.15)  # the kept frames' tone
    assert rms(0.75, 1.2) < 0.01  # silence under the new frames
