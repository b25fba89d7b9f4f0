"""Search: an Optuna study whose trials are the launcher's own jobs."""
