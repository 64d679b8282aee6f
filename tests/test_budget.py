import pytest

from vae_course.budget import budget


@pytest.mark.parametrize(
    "env, fast",
    [({}, False), ({"CI": "true"}, True), ({"VAE_COURSE_FAST": "1"}, True),
     ({"VAE_COURSE_FAST": "0", "CI": "true"}, False), ({"VAE_COURSE_FAST": "true"}, True)],
)
def test_fast_mode_follows_the_environment(monkeypatch, env, fast):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("VAE_COURSE_FAST", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    B = budget()
    assert B.fast is fast
    assert B.pick(full=10, fast=1) == (1 if fast else 10)
    assert B.mode == ("fast" if fast else "full")


def test_a_garbled_fast_flag_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("VAE_COURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="VAE_COURSE_FAST"):
        budget()
