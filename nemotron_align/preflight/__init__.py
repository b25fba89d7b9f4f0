"""Checks before any GPU is allocated, as one registry (checks.CHECKS): NeMo-RL release and
schema, semantics, data, Gym config."""
