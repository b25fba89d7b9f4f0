"""After the run: what NeMo-RL left in the run folder (metrics, checkpoints), read back."""
