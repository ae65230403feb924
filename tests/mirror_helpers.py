"""Shared by the mirror's tests and bench: read a directory mirror, check its links."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

LINK = re.compile(r'\b(?:href|src)=\\?"(/[^"\\]*)\\?"')


def release(root: Path) -> Path:
    """The release directory `current` points at (resolved once, as one reader sees it)."""
    return (root / "current").resolve()


def mirror_path(url: str) -> str:
    path = urlsplit(url).path.lstrip("/")
    return path + "index.html" if path == "" or path.endswith("/") else path


def internal_links(text: str) -> set[str]:
    return {link for link in LINK.findall(text) if not link.startswith("//")}


def broken_links(tree: Path) -> dict[str, set[str]]:
    """Every internal link of every HTML page and live.json in the tree that names no file."""
    broken: dict[str, set[str]] = {}
    for path in tree.rglob("*"):
        if path.suffix not in {".html", ".json"} or not path.is_file():
            continue
        for link in internal_links(path.read_text()):
            if not (tree / mirror_path(link)).is_file():
                broken.setdefault(str(path.relative_to(tree)), set()).add(link)
    return broken


def heartbeat(tree: Path) -> dict:
    return json.loads((tree / "mirror.json").read_text())


def every_text(tree: Path) -> str:
    """All the mirror's text, the .gz siblings decompressed (to look for what must not leak)."""
    parts = []
    for path in tree.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".pdf":
            from pypdf import PdfReader

            parts.append("\n".join(p.extract_text() for p in PdfReader(path).pages))
            continue
        body = path.read_bytes()
        if path.suffix == ".gz":
            body = gzip.decompress(body)
        parts.append(body.decode("utf-8", "replace"))
    return "\n".join(parts)
