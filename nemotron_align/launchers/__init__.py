"""Launching NeMo-RL on this machine: the launch, child processes, and the Ray multi-node
bootstrap."""
