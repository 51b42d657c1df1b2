"""The generic LightningModule, config -> objects (build), regularisation and schedules."""
