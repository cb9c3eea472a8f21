"""Keeping a mount folder current: read every object, write a new generation when something changed, and repeat at
the ``--rotation-poll-interval`` (the CSI driver's auto-rotation), each round through the official SDK."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvconfig.mount._fetch import MountedObject, read_objects
from kvconfig.mount._spc import SecretProviderClass
from kvconfig.mount._writer import write_generation

__all__ = ["DEFAULT_FILE_MODE", "SecretsMount"]

logger = logging.getLogger("kvconfig")

# The driver's default is 0644 (world-readable, inside the pod's volume). kvconfig writes to an ordinary folder of a
# machine where other users may look, so without a filePermission its files are readable by their owner only.
DEFAULT_FILE_MODE = 0o600


@dataclass
class SecretsMount:
    """A SecretProviderClass mounted at ``directory``: :meth:`sync` once, or :meth:`poll` to keep it current."""

    spc: SecretProviderClass
    directory: Path
    credential: Any
    client_options: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    objects: list[MountedObject] = field(default_factory=list)

    def sync(self) -> list[str]:
        """Read every object and write a new generation if anything changed; the file names that changed."""
        mounted = read_objects(self.spc, self.credential, **self.client_options)
        files = {
            item.obj.file_name: (
                item.content,
                item.obj.file_permission if item.obj.file_permission is not None else DEFAULT_FILE_MODE,
            )
            for item in mounted
        }
        before = {item.obj.file_name: item.content for item in self.objects}
        changed = sorted(name for name, (content, _mode) in files.items() if before.get(name) != content)
        write_generation(self.directory, files)
        self.objects = mounted
        self.versions = {item.obj.file_name: item.version for item in mounted}
        return changed

    def files(self) -> dict[str, bytes]:
        """What the folder holds now, by file name (for the Secret manifests)."""
        return {item.obj.file_name: item.content for item in self.objects}

    def poll(
        self,
        interval: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rounds: int | None = None,
        on_change: Callable[[list[str]], None] | None = None,
    ) -> None:
        """Sync every ``interval`` seconds (``rounds`` times, or until interrupted); a failed round keeps the files."""
        done = 0
        while rounds is None or done < rounds:
            sleep(interval)
            done += 1
            try:
                changed = self.sync()
            except Exception as exc:  # a missing object, a denied read, a full disk: the last good files stay
                logger.warning("Rotation poll of %s failed, keeping the mounted files: %s", self.directory, exc)
                continue
            if changed and on_change is not None:
                on_change(changed)
