"""The parts of scripts/snapshot_nemo_rl_keys.py: `source` reads a release's files, `resolve`
finds where a name in NeMo-RL's source is defined, `schema` turns its config classes into key
trees (`node`, with the type names of `type_names`), `yaml_keys` adds the example YAMLs' keys,
`wandb_init` the keyword arguments of wandb.init under logger.wandb, and `snapshot` puts the
trainers' trees together into the snapshot text."""
