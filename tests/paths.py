"""Where the tests find the repository's files (the engine itself never looks into a checkout)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
