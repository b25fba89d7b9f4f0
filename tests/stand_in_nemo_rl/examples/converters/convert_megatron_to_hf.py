"""Stand-in for NeMo-RL examples/converters/convert_megatron_to_hf.py (tests only)."""

from stand_in_converter import convert

if __name__ == "__main__":
    convert("--megatron-ckpt-path")
