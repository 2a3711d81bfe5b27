from spacetime.engine.video_shape import (latent_shape, length_problem, nearest_valid_lengths,
                                          nearest_valid_sizes, size_problem, video_problems)


def test_valid_sizes_have_no_problems():
    assert video_problems(832, 480, 81) == []
    assert video_problems(16, 16, 1) == []


def test_length_message_names_nearest_valid_lengths():
    assert nearest_valid_lengths(19) == (17, 21)
    assert "use 17 or 21" in length_problem(19)
    assert length_problem(33) is None
    assert "1 + 4·k" in length_problem(0)


def test_size_message_names_nearest_multiples_of_16():
    assert nearest_valid_sizes(100) == (96, 112)
    assert "use 96 or 112" in size_problem("width", 100)
    assert "use 16" in size_problem("height", 8)


def test_all_problems_reported_together():
    problems = video_problems(100, 50, 10)
    assert [p.split()[0] for p in problems] == ["width", "height", "length"]


def test_latent_shape_is_wan_layout():
    assert latent_shape(2, 832, 480, 81) == (2, 16, 21, 60, 104)
