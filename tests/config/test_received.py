"""Files someone sent are read as data, within limits: no symlinks out, no FIFOs, no alias bombs,
no interpolation resolved."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from deepimg.config.received import (
    MAX_YAML_NODES,
    ReceivedFileError,
    foreign_resolvers,
    parse_yaml,
    read_text,
    read_yaml,
    select,
)

# 9 levels of 9 aliases: 9**9 (387 million) nodes once expanded, in about 300 bytes.
BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def finishes_within(seconds: float, call) -> tuple[bool, object]:
    """Run ``call`` in a daemon thread: (whether it returned in time, its result or error)."""
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = call()
        except Exception as err:  # noqa: BLE001 - handed back to the test
            box["value"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), box.get("value")


def test_a_symlink_to_a_secret_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN=hunter2\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "train.log").symlink_to(secret)
    with pytest.raises(ReceivedFileError, match="train.log") as caught:
        read_text(run / "train.log", run)
    assert "hunter2" not in str(caught.value)


def test_a_symlink_inside_the_folder_is_refused_too(tmp_path: Path) -> None:
    """O_NOFOLLOW: a symlink is never followed, wherever it points."""
    (tmp_path / "real.log").write_text("fine\n")
    (tmp_path / "link.log").symlink_to(tmp_path / "real.log")
    with pytest.raises(ReceivedFileError, match="a symlink"):
        read_text(tmp_path / "link.log", tmp_path)
    assert read_text(tmp_path / "real.log", tmp_path) == "fine\n"


def test_a_folder_that_leads_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "train.log").write_text("not yours\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "logs").symlink_to(outside)
    with pytest.raises(ReceivedFileError, match="leads outside"):
        read_text(run / "logs" / "train.log", run)


def test_a_fifo_returns_at_once_and_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "train.log"
    os.mkfifo(fifo)
    done, result = finishes_within(10, lambda: read_text(fifo, tmp_path))
    assert done, "reading a FIFO hung"
    assert isinstance(result, ReceivedFileError) and "not a regular file" in str(result)


def test_a_log_is_read_from_its_end_within_the_cap(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text("x" * 5000 + "\nthe last line\n")
    assert read_text(log, tmp_path, limit=100).splitlines()[-1] == "the last line"
    assert len(read_text(log, tmp_path, limit=100)) == 100


def test_a_yaml_file_above_the_size_cap_is_refused(tmp_path: Path, monkeypatch) -> None:
    import deepimg.config.received as received

    monkeypatch.setattr(received, "MAX_YAML_BYTES", 1000)
    big = tmp_path / "config.yaml"
    big.write_text("key: " + "v" * 2000 + "\n")
    with pytest.raises(ReceivedFileError, match="MiB"):
        read_yaml(big)


def test_nested_aliases_are_refused_before_they_expand(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("seed: 0\n" + BILLION_LAUGHS)
    assert len(path.read_bytes()) < 400
    start = time.perf_counter()
    with pytest.raises(ReceivedFileError, match=f"more than {MAX_YAML_NODES:,} YAML nodes"):
        read_yaml(path)
    assert time.perf_counter() - start < 30  # a bound on a hang, not a speed goal


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(ReceivedFileError, match="YAML nodes"):
        parse_yaml("a: &a [1, *a]\n", "loop.yaml")


def test_a_few_aliases_are_still_read() -> None:
    assert parse_yaml("a: &a {x: 1}\nb: *a\n", "ok.yaml") == {"a": {"x": 1}, "b": {"x": 1}}


def test_yaml_is_read_as_omegaconf_reads_it() -> None:
    """1e-3 is a float to OmegaConf (and to Hydra's saved configs), a string to plain PyYAML."""
    tree = parse_yaml("lr: 1e-3\nbits: 4\nname: null\n", "cfg.yaml")
    assert tree == {"lr": 0.001, "bits": 4, "name": None}


def test_broken_yaml_and_binary_files_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ReceivedFileError, match="not readable YAML"):
        parse_yaml("key: [unclosed\n", "bad.yaml")
    binary = tmp_path / "config.yaml"
    binary.write_bytes(bytes(range(128, 256)))
    with pytest.raises(ReceivedFileError, match="not UTF-8"):
        read_yaml(binary)


def test_interpolations_stay_as_written_and_foreign_resolvers_are_named() -> None:
    tree = parse_yaml(
        "tag: ${oc.env:SECRET_TOKEN}\nout: ${hydra:runtime.output_dir}\nx: ${nosuch:y}\n", "c"
    )
    assert select(tree, "tag") == "${oc.env:SECRET_TOKEN}"
    assert foreign_resolvers(tree) == ["oc.env", "nosuch"]  # hydra's own is deepimg's too
    assert foreign_resolvers({"a": ["${ now:%H }", "${paths.output_dir}"]}) == []


def test_select_walks_dicts_and_lists_without_resolving() -> None:
    tree = {"a": {"b": [10, {"c": "${oc.env:HOME}"}]}}
    assert select(tree, "a.b.1.c") == "${oc.env:HOME}"
    assert select(tree, "a.b.0") == 10
    assert select(tree, "a.nope", default="d") == "d"
