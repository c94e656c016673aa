"""Human-readable sizes, shared by the command line and the app."""

from __future__ import annotations


def format_bytes(n: int) -> str:
    """1536 -> "1.5 KB"; bytes are shown whole ("512 B")."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
