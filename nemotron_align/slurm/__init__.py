"""Slurm: compose and check every job on the login node, submit job arrays, and run a job
on its nodes."""
