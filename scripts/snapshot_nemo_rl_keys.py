"""Snapshot the config keys a NeMo-RL release knows, for checking configs without NeMo-RL.

    python scripts/snapshot_nemo_rl_keys.py <nemo-rl tree, checkout or git dir> <release> <out>

Per trainer (DPO, GRPO: their MasterConfigs differ), the keys come from two places, neither of
them imported:

1. The config schema in NeMo-RL's Python source: the trainer's `MasterConfig` and every
   TypedDict / pydantic BaseModel its annotations lead to, across modules of `nemo_rl/` (parsed
   with `ast`). From it also which keys are required once their parent is present (TypedDict
   `NotRequired`/`Required`/`total=False`; a pydantic field without a default; the fields of an
   `Optional[X] = None` section), and the types of values.
2. Every key of the release's example YAMLs (`examples/configs/*.yaml`,
   `examples/configs/recipes/**.yaml`, `examples/nemo_gym/**.yaml`) that are configs of the
   trainer, with the files their `defaults:` chain names: NeMo-RL reads keys its schema does not
   declare. These are optional, of any type.

Output: `#` header lines, then a `[dpo]` and a `[grpo]` section of `<path> <presence> <types>`
lines sorted by path; the format is described in nemotron_align/preflight/nemo_rl_keys/__init__.py.

A plain folder (such as an unpacked release archive, or /opt/nemo-rl in the container) is read as
it is; <release> only names it (NeMo-RL's own version string does not tell main from a release).
With a git checkout or git dir the files are read at <release> as a git revision.

The reading is done by the package next to this script, scripts/nemo_rl_keys_snapshot/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nemo_rl_keys_snapshot.snapshot import render, snapshot
from nemo_rl_keys_snapshot.source import Source


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("nemo_rl", type=Path, help="NeMo-RL source tree, checkout or git dir")
    parser.add_argument("tag", help="release name: v0.7.0, main (in a checkout: a revision)")
    parser.add_argument("out", type=Path, help="file to write")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the YAMLs used")
    args = parser.parse_args(argv)
    source = Source(args.nemo_rl, args.tag)
    trainers, unresolved = snapshot(source)
    if args.verbose:
        for name, found in trainers.items():
            print(f"{name}: " + "\n  ".join(found.yamls), file=sys.stderr)
    if unresolved:
        print(f"types read as plain values: {', '.join(sorted(unresolved))}", file=sys.stderr)
    origin = f"commit {source.commit}" if source.commit else "a plain folder"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(args.tag, origin, trainers))
    sizes = ", ".join(f"{name} {len(found.lines)}" for name, found in trainers.items())
    print(f"{args.out}: {sizes} paths", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
