"""Read a PDF as a person would: its text (pdftotext) and page 1 as a PNG (pdftoppm), both from poppler-utils."""

from __future__ import annotations

import subprocess
from pathlib import Path

OUTPUT = Path(__file__).resolve().parents[2] / "output"


def text(pdf: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60)
    return done.stdout.decode()


def first_page_png(pdf: bytes, name: str) -> Path:
    OUTPUT.mkdir(exist_ok=True)
    target = OUTPUT / f"document-{name}"
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", "-", str(target)],
                   input=pdf, check=True, timeout=60)
    return target.with_suffix(".png")


def flat(value: str) -> str:
    """Text without the spaces and line breaks pdftotext puts between CJK glyphs and at line ends."""
    return "".join(value.split())
