"""Reading a checkpoint someone may have sent: weights only, never pickled code, and one line
for every kind of wrong file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from deepimg.errors import UserError
from deepimg.training.checkpoint import load_checkpoint


class Payload:
    """Pickled code: unpickling it would run ``os.system``."""

    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_deepimg_checkpoint_loads(tmp_path: Path) -> None:
    path = tmp_path / "best.ckpt"
    torch.save({"deepimg": {"config": "seed: 0\n"}, "state_dict": {"w": torch.ones(2)}}, path)
    checkpoint = load_checkpoint(path)
    assert checkpoint["deepimg"]["config"] == "seed: 0\n"
    assert torch.equal(checkpoint["state_dict"]["w"], torch.ones(2))


def test_a_folder_or_a_missing_file_is_named_with_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is a folder; give a checkpoint file such as .*best.ckpt"):
        load_checkpoint(tmp_path)
    with pytest.raises(UserError, match="does not exist; give a run's checkpoints/best.ckpt"):
        load_checkpoint(tmp_path / "nothing.ckpt")


def test_pickled_code_is_refused_without_running(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.ckpt"
    torch.save({"deepimg": {}, "state_dict": {}, "x": Payload()}, path)
    with pytest.raises(UserError, match="is not a deepimg checkpoint \\(") as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "content",
    [{"state_dict": {}}, {"deepimg": {}}, [1, 2, 3]],
    ids=["no-deepimg", "no-state", "list"],
)
def test_a_torch_file_not_written_by_deepimg_train_is_refused(tmp_path: Path, content) -> None:
    path = tmp_path / "other.ckpt"
    torch.save(content, path)
    with pytest.raises(UserError, match="it was not written by deepimg train"):
        load_checkpoint(path)


def test_a_file_that_is_no_checkpoint_at_all_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.ckpt"
    path.write_text("just some text\nover two lines\n")
    with pytest.raises(UserError, match="'.*notes.ckpt' is not a deepimg checkpoint \\(") as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value)
