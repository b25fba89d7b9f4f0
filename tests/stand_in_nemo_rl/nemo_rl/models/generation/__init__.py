"""Stand-in for nemo_rl.models.generation (tests only)."""

from nemo_rl import record


def configure_generation_config(
    cfg: dict,
    tokenizer: str,
    is_eval: bool = False,
    has_refit_draft_weights: bool = False,
    trains_mtp: bool = False,
) -> dict:
    record(
        "configure_generation_config",
        has_refit_draft_weights=has_refit_draft_weights,
        trains_mtp=trains_mtp,
    )
    return cfg
