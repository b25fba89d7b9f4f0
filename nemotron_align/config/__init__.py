"""Configuration: where the configs live, resolvers, launch and knob
schemas, NeMo-RL release, rendering, diagnosis of composition errors."""
