"""Launching NeMo-RL on this machine: one plan (plan.prepare: checks, render, record), then one
execution (execute: a strategy per way a run starts), child processes, and the Ray multi-node
bootstrap."""
