"""nemotron_align's Optuna sweeper (hydra/sweeper=nemotron_optuna)."""
