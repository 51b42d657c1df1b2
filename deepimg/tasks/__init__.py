"""Tasks: what the network is asked about the measurement, one file each (see ``base.py``)."""
