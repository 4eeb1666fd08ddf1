"""What the run metadata says of the code and the time behind the figures: the commit, marked where tracked
files differ from it, and when the run finished (a merge of shards gives the range)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.results.merge import merge_run_info
from harness.run.runinfo import git_commit, utc_now


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"})


def test_the_commit_is_marked_where_tracked_files_differ_from_it(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    _git(tmp_path, "add", "a.py")
    _git(tmp_path, "commit", "-q", "-m", "one")
    clean = git_commit(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{7,}", clean)
    (tmp_path / "untracked.txt").write_text("results\n")  # outputs a run writes do not count
    assert git_commit(tmp_path) == clean
    (tmp_path / "a.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == f"{clean} + uncommitted changes"
    assert git_commit(tmp_path / "nowhere") == "unknown"


def test_the_finish_time_is_utc_and_a_merge_gives_its_range():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", utc_now())
    infos = [(Path(f"s{k}.jsonl"), {"finished": t, "options": {"shard": f"{k}/2"}})
             for k, t in ((1, "2026-12-05T08:00:00Z"), (2, "2026-12-05T09:30:00Z"))]
    merged, _ = merge_run_info(infos)
    assert merged["finished"] == "2026-12-05T08:00:00Z to 2026-12-05T09:30:00Z (2 files)"
    assert merge_run_info(infos[:1])[0]["finished"] == "2026-12-05T08:00:00Z"
