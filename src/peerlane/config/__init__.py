"""Server settings: one field per option, each also read from ``PEERLANE_<NAME>``.

``peerlane serve --help`` and docs/configuration.md are both derived from
:class:`Settings` (a test checks the doc lists every field), so a new option is added
there only: in the group module it belongs to (network, storage, limits, files, webrtc,
peerjs; operations in settings.py). Import from here: ``from peerlane.config import X``.
"""

from peerlane.config._values import DAY, GIB
from peerlane.config.settings import (
    Settings,
    default_text,
    env_name,
    load_settings,
    markdown_table,
    option_name,
)

__all__ = [
    "DAY",
    "GIB",
    "Settings",
    "default_text",
    "env_name",
    "load_settings",
    "markdown_table",
    "option_name",
]
