"""NeMo-Gym: the Gym config NeMo-RL receives, Gym data rows, the config a Gym run executes, the
NeMo-RL API found installed, and the GRPO+Gym runner."""
