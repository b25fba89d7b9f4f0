"""The reward probe: scores reference answers with the real verifier before training."""
