"""Where Hydra finds the bundled configs.

Installed (wheel or `pip install -e .`), the top-level conf/ folder is the subpackage
nemotron_align.conf. Run straight from a checkout without installing, it is the conf/ folder
beside the package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from hydra import initialize_config_dir, initialize_config_module

CONFIG_MODULE = "nemotron_align.conf"


def _config_path() -> str:
    try:
        if importlib.util.find_spec(CONFIG_MODULE) is not None:
            return f"pkg://{CONFIG_MODULE}"
    except ModuleNotFoundError:
        pass
    return str(Path(__file__).resolve().parents[2] / "conf")


CONFIG_PATH = _config_path()


def initialize_app_config() -> Any:
    """Hydra's compose-API context over the app's own configs (tests, diagnosis, benchmarks)."""
    if CONFIG_PATH.startswith("pkg://"):
        return initialize_config_module(
            version_base="1.3", config_module=CONFIG_PATH.removeprefix("pkg://")
        )
    return initialize_config_dir(version_base="1.3", config_dir=CONFIG_PATH)
