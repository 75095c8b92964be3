"""A wheel repacked without some of its folders, its RECORD without their entries.

    python benchmarks/slim_wheel.py WHEEL DEST_DIR [PREFIX ...]   # default: Ray's two below

Why: the GPU machine lacks Ray, and Ray's wheel (~76 MiB) is over what one device call
carries (64 MiB with the working tree). A Python driver that starts no dashboard never
loads ``ray/jars/`` (the Java worker's jars, ~33 MiB) or ``ray/dashboard/client/`` (the
dashboard's web page), so the wheel without them (~42 MiB) goes in the same call as
``benchmarks/gpu.sh`` (``benchmarks/gpu_wheels.sh`` makes it). Every other file is copied
byte for byte, and the RECORD's other lines keep their hashes, so pip installs it as the
released wheel minus those folders.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

RAY_UNUSED = ("ray/jars/", "ray/dashboard/client/")


def slim(wheel: Path, dest_dir: Path, drop: tuple[str, ...] = RAY_UNUSED) -> Path:
    """Write ``dest_dir / wheel.name`` without the members under ``drop``; return its path."""
    out_path = dest_dir / wheel.name
    if out_path.resolve() == wheel.resolve():
        raise ValueError(f"{wheel} would overwrite itself: give another folder")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out_path, "w") as out:
        for info in src.infolist():
            if info.filename.startswith(drop):
                continue
            data = src.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = data.decode().splitlines(keepends=True)
                data = "".join(x for x in lines if not x.startswith(drop)).encode()
            out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out_path


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        out = slim(Path(argv[0]), Path(argv[1]), tuple(argv[2:]) or RAY_UNUSED)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        print(f"slim_wheel: {exc}", file=sys.stderr)
        return 1
    print(
        f"{out}: {Path(argv[0]).stat().st_size / 2**20:.1f} -> {out.stat().st_size / 2**20:.1f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
