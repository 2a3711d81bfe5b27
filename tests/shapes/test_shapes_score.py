from spacetime.engine.shapes.analyse import ClipAnalysis, ObjectTrack
from spacetime.engine.shapes.score import accuracy, attribute_hits
from spacetime.engine.shapes.world import ClipSpec, ObjectSpec


def _seen(*objects, background="blue"):
    return ClipAnalysis(background, tuple(ObjectTrack(c, s, m, (0.0, 0.0), 17, (32.0, 32.0)) for c, s, m in objects), ())


def test_objects_are_matched_by_colour_whatever_their_order():
    spec = ClipSpec("blue", (ObjectSpec("circle", "red", "left"), ObjectSpec("square", "white", "up")))
    seen = _seen(("white", "square", "up"), ("red", "circle", "left"))
    assert all(attribute_hits(spec, seen).values())


def test_a_wrong_colour_costs_only_the_colour():
    spec = ClipSpec("blue", (ObjectSpec("circle", "red", "left"),))
    hits = attribute_hits(spec, _seen(("yellow", "circle", "left"), background="black"))
    assert hits == {"background": False, "colour": False, "shape": True, "motion": True}


def test_accuracy_is_the_fraction_right_per_attribute():
    hits = [{"background": True, "colour": True, "shape": False, "motion": True},
            {"background": True, "colour": False, "shape": False, "motion": True}]
    assert accuracy(hits) == {"background": 1.0, "colour": 0.5, "shape": 0.0, "motion": 1.0}
