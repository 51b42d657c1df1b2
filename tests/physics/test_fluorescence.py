"""Fluorescence: emission spectra, filters that pass everything or tell spectra apart, learned
bands and smooth free curves."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from deepimg.physics.fluorescence import DYES, Fluorescence, gaussian_spectra, wavelengths


def box_spectra(tmp_path: Path) -> Path:
    """Two fluorophores emitting flat from 460 to 480 nm and from 600 to 620 nm."""
    rows = ["wavelength_nm,blue,red"]
    for nm in range(400, 751, 2):
        rows.append(f"{nm},{float(460 <= nm <= 480)},{float(600 <= nm <= 620)}")
    path = tmp_path / "spectra.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_built_in_spectra_sum_to_one_and_peak_where_the_table_says() -> None:
    grid = wavelengths(400, 750, 1)
    names = ["DAPI", "EGFP", "mCherry", "Cy5"]
    spectra = gaussian_spectra(names, grid)
    assert torch.allclose(spectra.sum(dim=1), torch.ones(4, dtype=torch.float64))
    for name, spectrum in zip(names, spectra, strict=True):
        assert grid[spectrum.argmax()].item() == pytest.approx(DYES[name][0], abs=0.5)
        half = grid[spectrum >= spectrum.max() / 2]
        assert half.max() - half.min() == pytest.approx(DYES[name][1], abs=2.0)  # its FWHM


def test_a_filter_that_passes_everything_measures_the_sum_of_the_concentrations() -> None:
    layer = Fluorescence((3, 6, 6), filters=1, filter_shape="free", photons=None)
    with torch.no_grad():
        layer.transmission.value.fill_(1.0)
    c = torch.rand(2, 3, 6, 6)
    assert torch.allclose(layer(c)[:, 0], c.sum(dim=1), atol=1e-5)


def test_separate_filters_on_separate_spectra_unmix_exactly_without_noise(tmp_path: Path) -> None:
    layer = Fluorescence((2, 5, 5), spectra_file=str(box_spectra(tmp_path)), filters=2,
                         filter_centers_nm=[470, 610], filter_widths_nm=[80, 80], photons=None)  # fmt: skip
    assert torch.allclose(layer.crosstalk(), torch.eye(2), atol=1e-6)
    c = torch.rand(3, 2, 5, 5)
    assert torch.allclose(layer.to_scene(layer(c)), c, atol=1e-5)


def test_bands_placed_between_close_peaks_tell_the_dyes_apart_far_better() -> None:
    """Three green dyes (peaks 507, 520, 527 nm) through three equal bands over 400..750 nm:
    the middle band sees them all and the red one none, so the crosstalk matrix is singular
    in float32; narrow bands across the peaks make it invertible (condition below 1e3)."""
    dyes = ["EGFP", "EYFP", "FITC"]
    equal = Fluorescence((3, 5, 5), fluorophores=dyes, photons=None)
    placed = Fluorescence((3, 5, 5), fluorophores=dyes, photons=None,
                          filter_centers_nm=[490, 515, 550], filter_widths_nm=[20, 10, 30])  # fmt: skip
    assert torch.linalg.cond(equal.crosstalk()) > 1e8
    assert torch.linalg.cond(placed.crosstalk()) < 1e3
    c = torch.rand(2, 3, 5, 5)
    assert torch.allclose(placed.to_scene(placed(c)), c, atol=1e-3)


def test_shot_noise_follows_the_photon_budget() -> None:
    layer = Fluorescence((3, 32, 32), filters=2, photons=50.0).eval()
    c = torch.full((4, 3, 32, 32), 0.5)
    y = layer(c)
    mean = layer.crosstalk().sum(dim=1) * 0.5  # every channel 0.5
    counts = y * 50
    for m in range(2):
        assert counts[:, m].mean().item() == pytest.approx(50 * mean[m].item(), rel=0.05)
        assert counts[:, m].var().item() == pytest.approx(50 * mean[m].item(), rel=0.15)


def test_learned_bands_move_and_stay_in_range() -> None:
    layer = Fluorescence((3, 6, 6), filters=2, learnable=True)
    optimizer = torch.optim.SGD(layer.parameters(), lr=1e4)
    (layer(torch.rand(2, 3, 6, 6)) * torch.randn(2, 2, 6, 6)).sum().backward()
    assert layer.centers.latent.grad.abs().sum() > 0
    optimizer.step()
    layer.project()
    centers, widths = layer.centers(), layer.widths()
    assert ((centers >= 400) & (centers <= 750)).all() and ((widths >= 5) & (widths <= 350)).all()


def test_free_curves_are_penalised_for_roughness_and_the_penalty_smooths_them() -> None:
    torch.manual_seed(0)
    layer = Fluorescence((3, 6, 6), filters=2, filter_shape="free", learnable=True)
    with torch.no_grad():
        layer.transmission.latent.uniform_(0, 1)  # rough curves
    rough = layer.penalty().item()
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.05)
    for _ in range(50):
        optimizer.zero_grad()
        layer.penalty().backward()
        optimizer.step()
        layer.project()
    assert layer.penalty().item() < 0.1 * rough
    assert Fluorescence((3, 6, 6)).penalty() == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fluorophores": ["DAPI", "GFPX", "Cy5"]}, r"fluorophores \['GFPX'\] are not in the built-in table; choose from DAPI"),
        ({"fluorophores": ["DAPI", "Cy5"]}, "2 fluorophores .* but the scenes have 3 channels; set dataset.fluorophores=2"),
        ({"filters": 2, "filter_centers_nm": [500.0]}, "filters=2 needs 2 filter_centers_nm"),
        ({"spectra_file": "/nonexistent.csv"}, "spectra_file '/nonexistent.csv' does not exist"),
        ({"spectra_file": "SHORT"}, "holds a value that is not a number, or a row with too few"),
        ({"spectra_file": "BINARY"}, "is not a CSV text file"),
    ],
)  # fmt: skip
def test_bad_values_are_one_line(kwargs: dict, message: str, tmp_path: Path) -> None:
    files = {"SHORT": b"wavelength_nm,a,b,c\n500,1\n", "BINARY": bytes(range(128, 256))}
    if kwargs.get("spectra_file") in files:  # files someone sent: short rows, not even text
        path = tmp_path / "spectra.csv"
        path.write_bytes(files[kwargs["spectra_file"]])
        kwargs = {"spectra_file": str(path)}
    with pytest.raises(ValueError, match=message):
        Fluorescence((3, 6, 6), **kwargs)
