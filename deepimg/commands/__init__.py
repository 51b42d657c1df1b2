"""One module per command (train, evaluate, report) and the run-folder contract they share."""
