"""Base datasets: where the scenes come from, split and batched in memory."""
