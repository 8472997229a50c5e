"""The command line's edges: messages, input files and output paths.

Every message goes through rich with its text escaped, so a path, an id or an install
hint such as ``pip install 'qualitygate[calibrate]'`` prints as written, never as markup.
Input is read as bytes and parsed line by line (``qualitygate.jsonl``), so one bad line
never costs the others. Output paths are checked before any work: a missing folder, a
directory, or an existing file without ``--force`` is one clear line and exit status 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from qualitygate.jsonl import read_jsonl

stderr = Console(stderr=True)


def say(message: str, style: str | None = None, label: str | None = None) -> None:
    """Print one line to stderr: an optional styled label, then the escaped message."""
    prefix = f"[{style}]{escape(label)}[/] " if label and style else ""
    stderr.print(prefix + escape(message), highlight=False, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """The exit for a usage error: one escaped line on stderr, status 2."""
    say(message, style="bold red", label="error:")
    return typer.Exit(code=2)


def check_input(source: str) -> None:
    """Fail unless ``source`` is ``-`` or a readable file."""
    if source == "-":
        return
    path = Path(source)
    if path.is_dir():
        raise fail(f"input {source} is a directory; give a JSONL file, or - for stdin")
    if not path.is_file():
        raise fail(f"input file {source} does not exist")
    if not os.access(path, os.R_OK):
        raise fail(f"input file {source} cannot be read (permission denied)")


def read_input(source: str) -> list[tuple[int, Any]]:
    """(line number, parsed value or LineError) for each non-blank line of the input."""
    if source == "-":
        return read_jsonl(sys.stdin.buffer)
    try:
        with open(source, "rb") as stream:
            return read_jsonl(stream)
    except OSError as exc:
        raise fail(f"input file {source} cannot be read ({exc.strerror or exc})") from None


def check_output(path: Path | None, force: bool, option: str = "--output") -> None:
    """Fail before any work when ``path`` could not be written, or would be overwritten
    without ``--force``."""
    if path is None:
        return
    if path.is_dir():
        raise fail(f"{option} {path} is a directory; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise fail(f"{option} {path}: the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise fail(f"{option} {path}: the folder {folder} is not writable")
    if path.exists() and not force:
        raise fail(f"{path} exists; pass --force to overwrite it, or choose another {option}")


def check_folder(path: Path | None, option: str) -> None:
    """Fail before any work when ``path``'s folder is missing (a file that is replaced
    anyway, such as a plot)."""
    if path is not None and path.is_dir():
        raise fail(f"{option} {path} is a directory; give a file name")
    if path is not None and not path.parent.is_dir():
        raise fail(f"{option} {path}: the folder {path.parent} does not exist; create it first")
