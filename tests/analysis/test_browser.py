"""The pages in a real browser: headless Chromium renders them, and every image they use exists."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from deepimg.commands.report import report
from tests.analysis.pages import missing_images, references
from tests.commands.test_report import make_run

CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no chromium or chromium-browser on PATH (make install adds Debian's chromium)",
    ),
]


def screenshot(page: Path, png: Path, size: str = "1280,2000") -> Image.Image:
    """Render ``page`` headless into ``png``; fails with Chromium's own words if it cannot."""
    flags = ["--headless", "--disable-gpu", "--hide-scrollbars", f"--window-size={size}"]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to sandbox itself as root
    result = subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={png}", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert png.is_file(), result.stderr[-2000:]
    return Image.open(png).convert("RGB")


def assert_rendered(image: Image.Image) -> None:
    """A page with plots and tables, not a blank or an error page: many distinct colours."""
    assert image.size == (1280, 2000)
    colours = image.getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 200


def test_the_sweep_report_renders_with_all_its_images(tmp_path: Path, analysed_run: Path) -> None:
    for i, (bits, seed) in enumerate([(1, 0), (1, 1), (4, 0), (4, 1)]):
        make_run(
            tmp_path / "sweep" / str(i),
            [f"physical_layer.bits={bits}", f"seed={seed}"],
            {"physical_layer": {"bits": bits}, "seed": seed},
            {"test/acc": 0.5 + 0.1 * bits + 0.01 * seed},
        )
    shutil.copytree(analysed_run, tmp_path / "sweep" / "0", dirs_exist_ok=True)  # a real run page
    report([tmp_path / "sweep"], metrics=["test/acc"])
    page = tmp_path / "sweep" / "report" / "index.html"
    assert references(page).images and missing_images(page) == []
    png = tmp_path / "report.png"
    assert_rendered(screenshot(page, png))
    assert png.stat().st_size > 20_000


def test_a_run_page_renders_with_all_its_images(analysed_run: Path, tmp_path: Path) -> None:
    page = analysed_run / "index.html"
    assert len(references(page).images) >= 10 and missing_images(page) == []
    assert_rendered(screenshot(page, tmp_path / "run.png"))


def dom(page: Path) -> str:
    """The page's DOM after Chromium has parsed it and run whatever it would run."""
    flags = ["--headless", "--disable-gpu", "--dump-dom"]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")
    result = subprocess.run(
        [CHROMIUM, *flags, page.resolve().as_uri()], capture_output=True, text=True, timeout=120
    )
    assert "</html>" in result.stdout, result.stderr[-2000:]
    return result.stdout


def test_a_class_named_like_markup_appears_as_text(analysed_run: Path, tmp_path: Path) -> None:
    """A class folder named ``<img src=x onerror=...>`` is a name on the page, not an image
    whose error handler runs: the handler would have renamed the page."""
    from deepimg.analysis.run_page import write_run_page

    run = tmp_path / "run"
    shutil.copytree(analysed_run, run)
    name = "<img src=x onerror=document.title='pwned'>"  # as <img src=x onerror=alert(1)>
    (run / "class_balance.csv").write_text(f"class,train,test\n{name},5,2\ncat,4,1\n")
    write_run_page(run)
    rendered = dom(run / "index.html")
    assert "pwned" not in rendered.split("</title>")[0]  # the handler never ran
    assert '<img src="x"' not in rendered
    assert "&lt;img src=x onerror=document.title='pwned'&gt;" in rendered  # shown as text


def test_the_answer_is_the_first_thing_the_report_page_shows(tmp_path: Path) -> None:
    """A design comparison on the same images: Chromium renders the page, and the first
    text after the title is the answer with its CI and p-value."""
    import numpy as np

    rng = np.random.default_rng(0)
    prints = rng.random(300)
    for seed in range(2):
        right = rng.random(300) < 0.7
        for n, (learnable, outcome) in enumerate(
            (("false", right), ("true", right | (rng.random(300) < 0.6)))
        ):
            run = tmp_path / "sweep" / f"{seed}{n}"
            make_run(run, [f"physical_layer.learnable={learnable}", f"seed={seed}"],
                     {"physical_layer": {"learnable": learnable == "true"}, "seed": seed},
                     {"test/acc": float(outcome.mean())})  # fmt: skip
            np.savez(run / "per_image.npz", acc=outcome.astype(float), fingerprint=prints)
    report([tmp_path / "sweep"], metrics=["test/acc"])
    rendered = dom(tmp_path / "sweep" / "report" / "index.html")
    main = rendered.split("<main>", 1)[1]
    first = main.split("<li>", 1)[1].split("</li>", 1)[0]
    assert "learnable=True vs learnable=False: test/acc +0." in first
    assert "2 seeds × 300 test images, McNemar p &lt; 1e-6" in first
    assert_rendered(screenshot(tmp_path / "sweep" / "report" / "index.html", tmp_path / "r.png"))
