"""Where the alerts config file is named, without importing anything heavy: every crawl asks
this (AlertsExtension.from_crawler) and most crawls have no alerts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_CONFIG = "OUTSOURCING_ALERTS_CONFIG"
SETTING_CONFIG = "ALERTS_CONFIG"


def config_path(settings: Any = None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The config file named by the environment (OUTSOURCING_ALERTS_CONFIG) or the ALERTS_CONFIG
    setting; None when alerts are not configured."""
    environ = os.environ if environ is None else environ
    value = environ.get(ENV_CONFIG) or (settings.get(SETTING_CONFIG) if settings is not None else None)
    return Path(value).expanduser() if value else None
