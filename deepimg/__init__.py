"""deepimg: simulate the physical imaging system, train a network through it, report."""

__version__ = "0.1.0"
