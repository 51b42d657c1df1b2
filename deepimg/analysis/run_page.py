"""A run's ``index.html``, assembled from the files in its folder.

The page only shows what exists: ``metrics.json``, the run's overrides, ``analysis/*.png``
and ``per_class.csv``, ``physics/*.png`` and ``class_balance.csv``. So it is the same code
for a training run and for a re-test by ``deepimg eval``, and it can be rebuilt at any time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from deepimg.analysis import html
from deepimg.analysis.html import Html
from deepimg.analysis.tables import headline
from deepimg.config.received import ReceivedFileError, read_bytes, read_yaml

PAGE = "index.html"
MAX_JSON_BYTES = 2**20  # the analysis.json and metrics.json that deepimg writes are a few kB


class Figure(NamedTuple):
    file: str  # in the run's analysis/
    section: str
    caption: str


FIGURES = [  # in the order the page shows them
    Figure(
        "learning_curves.png",
        "Learning curves",
        "Train and validation loss and the task's metric per epoch; the title is the diagnosis, "
        "the dotted line marks the lowest validation loss.",
    ),
    Figure(
        "restore_examples.png",
        "Restorations",
        "Test images: the scene, what the sensor measured, the classical estimate, the "
        "network's output (each with its PSNR) and the network's absolute error.",
    ),
    Figure(
        "psnr_histogram.png",
        "Restorations",
        "Per-image PSNR of the network and of the classical estimate alone.",
    ),
    Figure(
        "error_map.png",
        "Error map",
        "Mean absolute error over the test set at every pixel: where in the field the system "
        "fails.",
    ),
    Figure(
        "positions.png",
        "Localisation",
        "Test canvases with the true (+) and predicted (x) centres, and the sensor's active "
        "pixels when it has a mask.",
    ),
    Figure(
        "position_error.png",
        "Localisation",
        "Each test image's error at its true position on the canvas.",
    ),
    Figure(
        "segment_examples.png",
        "Segmentation",
        "Test images: the scene, what the sensor measured (with the Dice of its thresholded "
        "classical estimate), the predicted and the true mask (with the network's Dice).",
    ),
    Figure(
        "dice_histogram.png",
        "Segmentation",
        "Per-image Dice of the network and of the thresholded classical estimate.",
    ),
    Figure(
        "confusion.png",
        "Confusion matrix",
        "Test images by true class (rows) and predicted class (columns): counts, and each "
        "row divided by its total.",
    ),
    Figure("roc.png", "ROC and precision-recall", "One-vs-rest ROC curves with AUROC."),
    Figure(
        "pr.png",
        "ROC and precision-recall",
        "One-vs-rest precision-recall curves with average precision (AP).",
    ),
    Figure(
        "saliency.png",
        "Saliency",
        "The gradient of the true class's score with respect to the scene, through the "
        "physical layer, beside the sensor image the network saw.",
    ),
    Figure(
        "occlusion.png",
        "Occlusion",
        "How much hiding each part of the scene lowers the true class's probability.",
    ),
    Figure("filters.png", "First-layer filters", "The kernels of the first convolution."),
    Figure(
        "embeddings.png",
        "Learned features",
        "PCA and t-SNE of the penultimate features of test images, coloured by true class, "
        "and the purity of a k-means clustering of them.",
    ),
    Figure(
        "sliding_window.png",
        "Sliding window",
        "A window of the training image size slides over a mosaic of test scenes; each map "
        "shows one class's probability at every position.",
    ),
]


def number(value: object, digits: int = 4) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def describe_run(run_dir: Path, values: dict) -> list[object]:
    """The header lines: what this run is (its overrides, or the checkpoint it re-tested)."""
    overrides = run_dir / ".hydra" / "overrides.yaml"
    if "ckpt" in values:
        return [f"re-test of {values['ckpt']}", f"overrides: {values.get('overrides') or 'none'}"]
    if overrides.is_file():
        saved = read_yaml(overrides)
        saved = saved if isinstance(saved, list) else []
        lines = [str(o) for o in saved if not str(o).startswith("hydra")]
        return [f"overrides: {' '.join(lines) or 'none (the defaults)'}"]
    return []


def metrics_section(values: dict) -> Html | None:
    rows = [
        [key, number(values[key], digits=1 if key.endswith("_s") else 4)]  # seconds: 0.1 s will do
        for key in headline(values)
        if values.get(key) is not None
    ]
    return html.section("Metrics", html.table(["metric", "value"], rows)) if rows else None


def read_json(path: Path) -> dict:
    """A JSON object that deepimg wrote into a run folder, or {} where it is absent or
    unreadable: the folder may have come from someone else (see ``config.received``)."""
    if not (path.exists() or path.is_symlink()):
        return {}
    try:
        values = json.loads(read_bytes(path, path.parent, MAX_JSON_BYTES))
    except (ReceivedFileError, ValueError, RecursionError):
        return {}
    return values if isinstance(values, dict) else {}


def csv_table(path: Path, index_name: str) -> Html:
    frame = pd.read_csv(path, index_col=0)
    values = frame.to_numpy(dtype=object)  # row by row, keeping integer columns integers
    rows = [
        [name, *(number(v) for v in row)] for name, row in zip(frame.index, values, strict=True)
    ]
    return html.table([index_name, *frame.columns], rows)


def figure_sections(run_dir: Path) -> list[Html]:
    """One section per figure group, holding the figures that exist, in the FIGURES order;
    the per-class table goes with the confusion matrix."""
    groups: dict[str, list[Html]] = {}
    for file, section, caption in FIGURES:
        if (run_dir / "analysis" / file).is_file():
            groups.setdefault(section, []).append(html.figure(f"analysis/{file}", caption))
    sections = []
    for title, figures in groups.items():
        parts = [html.grid(*figures) if len(figures) > 1 else figures[0]]
        per_class = run_dir / "analysis" / "per_class.csv"
        if title == "Confusion matrix" and per_class.is_file():
            parts += [
                html.paragraph("Per class, on the test split:"),
                csv_table(per_class, "class"),
            ]
        sections.append(html.section(title, *parts))
    return sections


def physics_section(run_dir: Path) -> Html | None:
    pictures = sorted(
        (run_dir / "physics").glob("*.png"), key=lambda p: (p.name != "examples.png", p.name)
    )
    if not pictures:
        return None
    caption = {"examples.png": "Test scenes (top) and what the sensor delivered (bottom)."}
    figs = [html.figure(f"physics/{p.name}", caption.get(p.name, p.stem)) for p in pictures]
    return html.section("Physical layer", *figs)


def write_run_page(run_dir: Path) -> Path:
    """Write ``run_dir/index.html`` from what the folder holds; returns its path."""
    values = read_json(run_dir / "metrics.json")
    summary = read_json(run_dir / "analysis" / "analysis.json")
    sections = [metrics_section(values)]
    if summary.get("diagnosis"):
        sections.append(html.section("Diagnosis", html.paragraph(summary["diagnosis"])))
    sections += figure_sections(run_dir)
    sections.append(physics_section(run_dir))
    if (run_dir / "class_balance.csv").is_file():
        sections.append(
            html.section(
                "Data",
                html.paragraph("Images per class and split."),
                csv_table(run_dir / "class_balance.csv", "class"),
            )
        )
    status = values.get("status", "no metrics.json: unfinished or failed")
    subtitle = [*describe_run(run_dir, values), f"status: {status}"]
    page = html.page(
        f"deepimg run {'/'.join(run_dir.resolve().parts[-2:])}",
        subtitle,
        [s for s in sections if s is not None],
    )
    (run_dir / PAGE).write_text(page)
    return run_dir / PAGE
