"""`deepimg eval`'s own helpers (the command itself runs in tests/test_e2e_zoo.py)."""

from __future__ import annotations


def test_members_get_names_that_tell_them_apart() -> None:
    from pathlib import Path

    from deepimg.commands.evaluate import member_names

    sweeps = [Path(f"/o/{s}/{j}/checkpoints/best.ckpt") for s, j in (("a", 0), ("b", 0), ("b", 1))]
    assert member_names(sweeps) == ["a/0", "b/0", "b/1"]
    assert member_names(sweeps[1:]) == ["0", "1"]
    assert len(set(member_names([Path("x.ckpt"), Path("x.ckpt")]))) == 2
