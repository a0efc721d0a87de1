"""The last images a thread had a detection run answer, kept so that "again with confidence 0.6" answers
them again without a new upload.

Each thread has one folder under OUTPUT_ROOT/LAST_IMAGES_FOLDER: the checked images of its last
prediction message (`images/`), which run answered them (`last.json`) and the drawn answers (`drawn/`,
replaced at each answer). A new prediction message replaces the folder; folders untouched for KEPT_DAYS
are removed whenever a thread keeps new images.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from bot.predict.files import Accepted

LAST_IMAGES_FOLDER = "thread-images"
KEPT_DAYS = 7
_RECORD = "last.json"


@dataclass(frozen=True)
class LastImages:
    run_id: int
    images: list[Accepted]


class ThreadImages:
    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, thread: str) -> Path:
        """The folder of `thread` (its ids as one string; hashed, so no id becomes a path)."""
        return self.root / hashlib.sha256(thread.encode()).hexdigest()[:24]

    def keep(self, thread: str, run_id: int, images: list[Accepted]) -> list[Accepted]:
        """Copy the checked `images` into the thread's folder (replacing what it held); returns them as
        kept there, in order."""
        self._sweep()
        folder = self.folder(thread)
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "images").mkdir(parents=True)
        kept = []
        for index, image in enumerate(images):
            target = folder / "images" / f"{index:03d}{image.path.suffix.lower()}"
            shutil.copyfile(image.path, target)
            kept.append(Accepted(image.name, target))
        record = {"run_id": run_id, "images": [[image.name, image.path.name] for image in kept]}
        (folder / _RECORD).write_text(json.dumps(record), encoding="utf-8")
        return kept

    def last(self, thread: str) -> LastImages | None:
        """The thread's last kept images and the run that answered them, if any are still there."""
        folder = self.folder(thread)
        try:
            record = json.loads((folder / _RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        images = [Accepted(name, folder / "images" / file) for name, file in record["images"]]
        if not images or not all(image.path.is_file() for image in images):
            return None
        return LastImages(int(record["run_id"]), images)

    def drawn_folder(self, thread: str) -> Path:
        """An empty folder for this answer's drawn images (the previous answer's are removed)."""
        drawn = self.folder(thread) / "drawn"
        shutil.rmtree(drawn, ignore_errors=True)
        drawn.mkdir(parents=True)
        return drawn

    def _sweep(self) -> None:
        if not self.root.is_dir():
            return
        oldest = time.time() - KEPT_DAYS * 86400
        for folder in self.root.iterdir():
            try:
                if folder.is_dir() and (folder / _RECORD).stat().st_mtime < oldest:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:  # a folder without its record: a keep under way, or one that failed
                continue
