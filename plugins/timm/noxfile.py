"""Chores of geo-plugin-timm that are not part of CI (run from the repository root).

.venv/bin/nox -f plugins/timm/noxfile.py -s timm_index
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parents[2]
nox.options.default_venv_backend = "none"


@nox.session
def timm_index(session: nox.Session) -> None:
    """Regenerate the shipped model index for the installed timm."""
    session.run(str(ROOT / ".venv" / "bin" / "python"), "-m", "geo_plugin_timm._generate_index", external=True)
