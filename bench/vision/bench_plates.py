"""CPU time per plate read: plate crops and photos of a plate folder, one thread.

Run: PYTHONPATH=src .venv/bin/python -m bench.vision.bench_plates [FOLDER] [--crops 200] [--json]

FOLDER is a plate folder (labels.csv: file,plate,color), by default ../shared/data/plates; a
derived set (`jiayuan vision augment`) works the same. Time is the process CPU time with
onnxruntime and OpenCV on one thread, so the figure holds while other work shares the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2

from jiayuan.vision.evaluate import imread, read_labels
from jiayuan.vision.plates import PlateReader

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("JIAYUAN_SHARED_DATA", ROOT.parent / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DATA / "plates")
    parser.add_argument("--crops", type=int, default=200, help="how many crops (the first in labels.csv)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rows = read_labels(args.folder, ("file", "plate", "color"))
    crops = [imread(args.folder / r["file"]) for r in rows if r["file"].startswith("crops/")][: args.crops]
    scenes = [imread(args.folder / r["file"]) for r in rows if r["file"].startswith("scenes/")]
    reader = PlateReader(threads=1)
    reader.read_crop(crops[0])  # the first run loads the model's kernels
    result: dict[str, object] = {"folder": str(args.folder)}
    for name, images, read in (("crop", crops, reader.read_crop), ("photo", scenes, reader.read_scene)):
        started = time.process_time()
        for image in images:
            read(image)
        seconds = time.process_time() - started
        result[f"{name}s"] = len(images)
        result[f"ms_per_{name}"] = round(1000 * seconds / len(images), 1) if images else 0.0
    if args.json:
        print(json.dumps(result))
    else:
        print(", ".join(f"{key} {value}" for key, value in result.items()))


if __name__ == "__main__":
    main()
