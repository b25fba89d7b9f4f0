"""From `checkpointing.metric_name` to the TensorBoard tag NeMo-RL logged the same value under.

NeMo-RL names the checkpoint metric `val:<key>` or `train:<key>`, where <key> is a key of the
step's validation or training metrics; its TensorBoard logger writes each metric as
`<prefix>/<key>`. The prefixes: GRPO validation `validation` (`val:accuracy` ->
`validation/accuracy`), DPO validation one per dataset, with the dataset in the key
(`val:validation-default_loss` -> `validation-default/loss`), training `train`.
"""

from __future__ import annotations

from collections.abc import Iterable

VALIDATION_PREFIX = "validation"


def is_validation(tag: str) -> bool:
    return tag.split("/", 1)[0].startswith(VALIDATION_PREFIX)


def candidate_tags(metric_name: str) -> list[str]:
    """The tags `metric_name` may be logged under, most likely first."""
    source, sep, key = metric_name.partition(":")
    if not sep or source not in ("val", "train"):
        return [metric_name]
    if source == "train":
        return [f"train/{key}"]
    tags = [f"{VALIDATION_PREFIX}/{key}"]
    if key.startswith(f"{VALIDATION_PREFIX}-") and "_" in key:
        # DPO: validation-<dataset>_<name>; the dataset name may hold "_" itself.
        tags += [key[:i] + "/" + key[i + 1 :] for i, ch in enumerate(key) if ch == "_"]
    return tags


def tag_for(metric_name: str | None, logged: Iterable[str]) -> str | None:
    """The logged tag that holds metric_name's values, or None (not logged yet)."""
    if not metric_name:
        return None
    present = set(logged)
    return next((t for t in candidate_tags(metric_name) if t in present), None)
