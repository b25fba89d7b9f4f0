"""Checks before any GPU is allocated: NeMo-RL schema, semantics, data, Gym config."""
