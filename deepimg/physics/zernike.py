"""Zernike polynomials: an orthonormal basis for wavefronts over a circular pupil.

Conventions, pinned here and used throughout deepimg:

* Coordinates: ``rho`` in [0, 1] is the radius in the pupil normalised to its edge,
  ``theta`` the angle from the +x axis towards +y (x = columns, y = rows of an image).
* Sign of ``m``: ``m >= 0`` multiplies the radial polynomial by ``cos(m theta)``,
  ``m < 0`` by ``sin(|m| theta)``.
* Normalisation: orthonormal over the disk with the area measure divided by pi,

      (1 / pi) * integral over rho <= 1 of Z_i Z_j dA = delta_ij,

  so a coefficient in waves is that term's RMS wavefront error in waves, and the RMS of
  a sum is the root of the sum of squared coefficients (what the Marechal rule uses).
* Single index: Noll's (J. Opt. Soc. Am. 66, 207, 1976), starting at j = 1 (piston):
  by radial order ``n``, then by ``|m|``; of the two terms sharing ``|m| > 0`` the even
  ``j`` is the cosine, the odd ``j`` the sine. So j = 4 is defocus Z(2, 0), j = 5, 6 the
  astigmatisms Z(2, -2), Z(2, 2), j = 7, 8 the comas Z(3, -1), Z(3, 1), j = 11 spherical
  aberration Z(4, 0).
"""

from __future__ import annotations

import math

import torch


def noll_to_nm(j: int) -> tuple[int, int]:
    """Noll's index ``j >= 1`` -> ``(n, m)``, with the sign of ``m`` choosing cos (+) or sin (-)."""
    if j < 1:
        raise ValueError(f"Noll index j={j} is not accepted; it starts at 1 (piston)")
    n = 0
    while (n + 1) * (n + 2) // 2 < j:  # order n holds the indices up to (n + 1)(n + 2) / 2
        n += 1
    position = j - n * (n + 1) // 2 - 1  # 0-based place of j within order n
    # |m| rises through n % 2, n % 2 + 2, ..., n; every |m| > 0 takes two places.
    orders = [m for m in range(n % 2, n + 1, 2) for _ in range(1 if m == 0 else 2)]
    m = orders[position]
    return (n, m) if m == 0 or j % 2 == 0 else (n, -m)


def radial(n: int, m: int, rho: torch.Tensor) -> torch.Tensor:
    """The radial polynomial R_n^|m|(rho), with R(1) = 1."""
    m = abs(m)
    if m > n or (n - m) % 2:
        raise ValueError(f"Zernike (n={n}, m={m}) does not exist: need |m| <= n and n - |m| even")
    total = torch.zeros_like(rho)
    for k in range((n - m) // 2 + 1):
        fact = math.factorial
        c = (-1) ** k * fact(n - k) // (fact(k) * fact((n + m) // 2 - k) * fact((n - m) // 2 - k))
        total = total + c * rho ** (n - 2 * k)
    return total


def zernike(n: int, m: int, rho: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Z(n, m) at polar pupil coordinates, orthonormal over the unit disk (see the module)."""
    if m == 0:
        return math.sqrt(n + 1) * radial(n, 0, rho)
    angular = torch.cos(m * theta) if m > 0 else torch.sin(-m * theta)
    return math.sqrt(2 * (n + 1)) * radial(n, m, rho) * angular


def noll(j: int, rho: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Z_j in Noll's single index."""
    return zernike(*noll_to_nm(j), rho, theta)
