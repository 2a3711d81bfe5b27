"""Storyboard, windows and Remix in the real host on tiny random models: the text form and card chains give
the same storyboard, one card is the plain prompt exactly, keyframes come back pixel-identical at their
time, a window as long as the clip changes nothing, FlowEdit with the source's own prompt keeps the video,
and bad input is explained."""
import numpy as np
import pytest

from graphs import problem_of
from test_editing import HEIGHT, WIDTH, latents, pictures, run, source_graph

PROMPT_B = "a blue bird"


def sampled(graph, latent=("5", 0), prefix="story/out", **inputs):
    """Graph with our sampler on `latent` as node "21" (its inputs updated by `inputs`), saved as a latent."""
    graph["21"] = {"class_type": "SpacetimeSampler", "inputs": {
        "dit": ["1", 0], "positive": ["4", 0], "negative": ["4", 1], "latent": list(latent), "seed": 2, "steps": 2,
        "cfg": 1.0, "shift": 8.0, "sampler": "euler", "denoise": 1.0, **inputs}}
    graph["26"] = {"class_type": "SaveLatent", "inputs": {"samples": ["21", 0], "filename_prefix": prefix}}
    return graph


def base_graph():
    """source_graph's loaders and prompt (node "4") with a second prompt (node "12"), without the source clip."""
    graph = {k: v for k, v in source_graph().items() if k in ("1", "2", "3", "4", "5")}
    graph["5"]["inputs"]["length"] = 17
    graph["12"] = {"class_type": "SpacetimeTextEncode", "inputs": {"text_encoder": ["2", 0], "prompt": PROMPT_B,
                                                                    "negative_prompt": ""}}
    return graph


def text_storyboard(text, transition=4):
    return {"class_type": "SpacetimeStoryboard", "inputs": {"text_encoder": ["2", 0], "text": text, "fps": 16.0,
                                                            "transition_frames": transition}}


def card(prompt, time, unit="frames", previous=None, image=None, transition=4):
    inputs = {"prompt": prompt, "time": time, "unit": unit, "fps": 16.0, "transition_frames": transition}
    if previous is not None:
        inputs["storyboard"] = previous
    if image is not None:
        inputs["image"] = image
    return {"class_type": "SpacetimeStoryboardCard", "inputs": inputs}


def saved_latent(host, graph):
    return latents(host, run(host, graph))["out"]


def test_text_and_card_chain_give_the_same_storyboard(host):
    graph = base_graph()
    graph["30"] = text_storyboard("0s: a red fox\n0.5s: " + PROMPT_B)
    from_text = saved_latent(host, sampled(graph, storyboard=["30", 0]))
    graph = base_graph()
    graph["30"] = card(["4", 0], 0.0, "seconds")
    graph["31"] = card(["12", 0], 8, "frames", previous=["30", 0])
    from_cards = saved_latent(host, sampled(graph, storyboard=["31", 0]))
    assert np.array_equal(from_text.numpy(), from_cards.numpy())
    plain = saved_latent(host, sampled(base_graph()))
    assert not np.allclose(from_text[:, :, 2:].numpy(), plain[:, :, 2:].numpy())  # the second card reached frames


def test_one_card_at_frame_0_is_the_plain_prompt(host):
    graph = base_graph()
    graph["30"] = card(["12", 0], 0.0)
    story = saved_latent(host, sampled(graph, storyboard=["30", 0]))
    graph = base_graph()
    plain = saved_latent(host, sampled(graph, positive=["12", 0]))
    assert np.abs(story.numpy() - plain.numpy()).max() <= 1e-5


def test_a_keyframe_comes_back_at_its_time(host):
    graph = base_graph()
    graph["7"] = {"class_type": "EmptyImage", "inputs": {"width": WIDTH, "height": HEIGHT, "batch_size": 1,
                                                          "color": 0x3366CC}}
    graph["5"] = {"class_type": "SpacetimeEmptyVideoLatent", "inputs": {"width": WIDTH, "height": HEIGHT,
                                                                        "length": 17, "batch_size": 1}}
    graph["30"] = card(["4", 0], 0.0)
    graph["31"] = card(["12", 0], 6, previous=["30", 0], image=["7", 0])
    graph["32"] = {"class_type": "SpacetimeStoryboardKeyframes", "inputs": {
        "vae": ["3", 0], "storyboard": ["31", 0], "width": WIDTH, "height": HEIGHT, "length": 17}}
    sampled(graph, latent=("32", 0), storyboard=["31", 0])
    graph["22"] = {"class_type": "SpacetimeDecode", "inputs": {"vae": ["3", 0], "latent": ["21", 0], "tile_size": 0}}
    graph["23"] = {"class_type": "SpacetimeFinishEdit", "inputs": {"edit": ["32", 1], "images": ["22", 0]}}
    graph["24"] = {"class_type": "SaveImage", "inputs": {"images": ["23", 0], "filename_prefix": "story/frames"}}
    result = run(host, graph)
    frames = pictures(host, result, "frames")
    assert frames.shape == (17, HEIGHT, WIDTH, 3)
    assert (frames[5:9] == np.array([0x33, 0x66, 0xCC], dtype=np.uint8)).all()  # its latent frame: 5–8


def test_windows_as_long_as_the_clip_change_nothing_and_shorter_ones_run(host):
    plain = saved_latent(host, sampled(base_graph()))
    whole = saved_latent(host, sampled(base_graph(), window_frames=17, window_overlap=8))
    assert np.abs(whole.numpy() - plain.numpy()).max() <= 1e-5
    for mode in ("chained", "fused"):
        short = saved_latent(host, sampled(base_graph(), window_frames=9, window_overlap=4, window_mode=mode))
        assert short.shape == plain.shape and np.isfinite(short.numpy()).all()
        assert not np.allclose(short.numpy(), plain.numpy())
    chained = saved_latent(host, sampled(base_graph(), window_frames=9, window_overlap=4))
    fused = saved_latent(host, sampled(base_graph(), window_frames=9, window_overlap=4, window_mode="fused"))
    assert not np.allclose(fused.numpy(), chained.numpy())


def remixed(strength="moderate", method="flowedit", source_positive=("4", 0), custom=0.5, with_source=True):
    """Remix of source_graph's clip towards PROMPT_B as "21"; the source's latent saved too, unless asked not
    to (a graph whose remix is refused would still run that output)."""
    graph = source_graph()
    graph["9"] = {"class_type": "SpacetimeEncode", "inputs": {"vae": ["3", 0], "images": ["7", 0]}}
    graph["12"] = {"class_type": "SpacetimeTextEncode", "inputs": {"text_encoder": ["2", 0], "prompt": PROMPT_B,
                                                                    "negative_prompt": ""}}
    inputs = {"dit": ["1", 0], "positive": ["12", 0], "negative": ["4", 1], "latent": ["9", 0], "seed": 3, "steps": 4,
              "cfg": 1.0, "shift": 8.0, "sampler": "euler", "strength": strength, "custom_strength": custom,
              "method": method}
    if source_positive is not None:
        inputs["source_positive"] = list(source_positive)
    graph["21"] = {"class_type": "SpacetimeRemix", "inputs": inputs}
    graph["26"] = {"class_type": "SaveLatent", "inputs": {"samples": ["21", 0], "filename_prefix": "remix/out"}}
    del graph["8"]  # the source's frames are not needed
    if with_source:
        graph["27"] = {"class_type": "SaveLatent", "inputs": {"samples": ["9", 0], "filename_prefix": "remix/source"}}
    return graph


def test_flowedit_with_the_source_prompt_as_target_keeps_the_video(host):
    graph = remixed(source_positive=("12", 0))  # target and source prompt the same: nothing to change
    saved = latents(host, run(host, graph))
    assert np.abs(saved["out"].numpy() - saved["source"].numpy()).max() <= 1e-4


def test_renoise_changes_more_with_strength(host):
    """(FlowEdit's change grows with strength on average on a trained model, bench/remix.py; on a random one
    the two prompts' predictions differ by noise, which need not grow.)"""
    change = []
    for strength in ("subtle", "moderate", "strong"):
        saved = latents(host, run(host, remixed(strength, "renoise")))
        change.append(float(np.abs(saved["out"].numpy() - saved["source"].numpy()).mean()))
    assert change[0] < change[1] < change[2]


def clashing_keyframes():
    graph = base_graph()
    graph["7"] = {"class_type": "EmptyImage", "inputs": {"width": WIDTH, "height": HEIGHT, "batch_size": 1, "color": 0}}
    graph["30"] = card(["4", 0], 5, image=["7", 0])
    graph["31"] = card(["12", 0], 7, previous=["30", 0], image=["7", 0])
    return sampled(graph, storyboard=["31", 0])


def rgba_keyframe():
    graph = base_graph()
    graph["7"] = {"class_type": "EmptyImage", "inputs": {"width": WIDTH, "height": HEIGHT, "batch_size": 1, "color": 0}}
    graph["8"] = {"class_type": "SolidMask", "inputs": {"value": 1.0, "width": WIDTH, "height": HEIGHT}}
    graph["9"] = {"class_type": "JoinImageWithAlpha", "inputs": {"image": ["7", 0], "alpha": ["8", 0]}}
    graph["30"] = card(["4", 0], 5, image=["9", 0])
    return sampled(graph, storyboard=["30", 0])


@pytest.mark.parametrize("graph, message", [
    (rgba_keyframe, f"the keyframe image must be RGB frames [frames, height, width, 3]; got shape (1, {HEIGHT}, {WIDTH}, 4)"),
    (clashing_keyframes, "the keyframes of 'frame 5' (frame 5) and 'frame 7' (frame 7) fall in one latent frame"),
    (lambda: sampled(base_graph() | {"30": text_storyboard("0s: a\nlater: b")}, storyboard=["30", 0]),
     "storyboard line 2 ('later: b') is not 'TIME: prompt'"),
    (lambda: sampled(base_graph() | {"30": text_storyboard("1s: a\n0.5s: b")}, storyboard=["30", 0]),
     "is not after the card before it"),
    (lambda: sampled(base_graph() | {"30": text_storyboard("0s: a\n3s: b")}, storyboard=["30", 0]),
     "starts at frame 48, past the clip's end (it has 17 frames"),
    (lambda: sampled(base_graph(), window_frames=10), "window_frames: a window of 10 is not a valid frame count"),
    (lambda: sampled(base_graph(), window_frames=9, window_overlap=12),
     "window_overlap 12 must be a multiple of 4 (whole latent frames) and less than window_frames (9)"),
    (lambda: sampled(base_graph() | {"30": text_storyboard("0s: a\n1:00 b")}, storyboard=["30", 0]),
     "a clock time is minutes:seconds followed by a colon"),
    (lambda: remixed(strength="wild", with_source=False), "strength 'wild' is not one of: subtle, moderate, strong, custom"),
])
def test_bad_storyboards_windows_and_strengths_are_explained(host, graph, message):
    assert message in problem_of(host, graph())


def test_a_custom_strength_outside_0_to_1_is_refused(host):
    assert "Value 1.5 bigger than max of 1.0" in problem_of(host, remixed(strength="custom", custom=1.5,
                                                                                          with_source=False))
