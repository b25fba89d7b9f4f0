"""Stand-in: marks this tree as NeMo-RL v0.7.0 for nemotron_align's release detection, which
recognizes v0.7.0 by this module's `class DataPlaneConfig`. Not NeMo-RL's schema."""


class DataPlaneConfig(dict):
    pass
