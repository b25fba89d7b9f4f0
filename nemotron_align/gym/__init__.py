"""NeMo-Gym: the Gym config NeMo-RL receives, Gym data rows, and the in-process GRPO+Gym runner."""
