"""Composing and checking configs: Hydra composition, value checks, shorthands, constraints."""
