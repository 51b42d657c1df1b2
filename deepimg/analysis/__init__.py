"""Figures and tables made from runs."""
