"""Where the project's own files are, for every tool: the repository root, found from this file."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
