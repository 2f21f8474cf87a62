"""Reading a cloned student repository without trusting it.

A batch ROOT may hold `.git` folders that came from anywhere, with a hostile `.git/config`. So
the files are read from git's objects with plumbing only (`rev-list`, `ls-tree -z`,
`cat-file --batch`), never `checkout` or `archive`, which run smudge filters, text conversion
and export-subst. Every git call ignores system and global config, disables hooks, fsmonitor,
replace objects, LFS smudging and the network, and passes `safe.directory` for that one path.
None of the plumbing used here reads the index or runs a filter, textconv or hook.

Tree entries get the rules staging and archives apply: symbolic links, submodule links, names
that are not UTF-8, oversized blobs and too many files are left out, each with a note.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from grader.messages import say
from grader.sandbox.staging import MAX_DEPTH, MAX_FILE_BYTES, MAX_FILES, MAX_TOTAL_BYTES

GIT_TIMEOUT = 120.0
_SHA = re.compile(rb"^[0-9a-f]{40}([0-9a-f]{24})?$")
_NEUTRAL = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.pager=cat",
    "core.sshCommand=false",
    "core.askPass=false",
    "credential.helper=",
    "protocol.allow=never",
    "diff.external=",
    "core.alternateRefsCommand=false",
    "uploadpack.packObjectsHook=",
    "filter.lfs.smudge=",
    "filter.lfs.process=",
    "gc.auto=0",
    "maintenance.auto=false",
)


class GitError(Exception):
    """The repository cannot be read; the message says why, for the student's report."""


@dataclass
class Commit:
    sha: str
    committed: datetime


@dataclass
class Extracted:
    commit: Commit
    notes: list[str] = field(default_factory=list)


def is_repository(folder: Path) -> bool:
    return (folder / ".git").exists() or (folder / ".git").is_symlink()


def _environment(scratch_home: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(scratch_home),
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_ATTR_NOSYSTEM": "1",
        "GIT_LFS_SKIP_SMUDGE": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_NO_LAZY_FETCH": "1",
        "GIT_ALLOW_PROTOCOL": "",
        "GIT_PROTOCOL_FROM_USER": "0",
    }
    return env


class Repository:
    """One repository, read through plumbing with every program-running setting neutralised."""

    def __init__(self, folder: Path, scratch_home: Path) -> None:
        git_dir = folder / ".git"
        if git_dir.is_symlink() or not git_dir.is_dir():
            raise GitError(".git is not a folder (a link or a pointer file is not followed)")
        self.folder = folder
        self.git_dir = git_dir.resolve()
        scratch_home.mkdir(parents=True, exist_ok=True)
        self.env = {**_environment(scratch_home), "GIT_DIR": str(self.git_dir)}

    def _command(self, *args: str) -> list[str]:
        options = [item for setting in _NEUTRAL for item in ("-c", setting)]
        options += ["-c", f"safe.directory={self.git_dir}", "-c", f"safe.directory={self.folder}"]
        return ["git", "--no-pager", "--no-replace-objects", *options, *args]

    def run(self, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
        try:
            completed = subprocess.run(
                self._command(*args),
                input=stdin,
                capture_output=True,
                env=self.env,
                cwd=self.git_dir,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GitError(f"git {args[0]}: {exc}") from None
        if check and completed.returncode != 0:
            detail = completed.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"git {args[0]}: {detail[-1] if detail else 'failed'}")
        return completed.stdout

    # ----------------------------------------------------------------- refs and commits

    def head_ref(self) -> str:
        """The branch HEAD names (refs/heads/main), as the clone made it."""
        out = self.run("symbolic-ref", "-q", "HEAD", check=False).strip()
        return out.decode("utf-8", "replace") or "HEAD"

    def resolve(self, rev: str) -> str | None:
        out = self.run(
            "rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}", check=False
        )
        sha = out.strip()
        return sha.decode() if _SHA.match(sha) else None

    def has_commit(self, sha: str) -> bool:
        out = self.run("cat-file", "-t", sha, check=False).strip()
        return out == b"commit"

    def commit(self, sha: str) -> Commit:
        out = self.run("rev-list", "-1", "--format=%ct", sha, "--").split(b"\n")
        stamp = next((line for line in out[1:] if line.strip().isdigit()), b"0")
        return Commit(sha, datetime.fromtimestamp(int(stamp), timezone.utc))

    def last_commit_dated_by(self, ref: str, deadline: datetime) -> Commit | None:
        """The newest commit on `ref` whose committer date is at or before `deadline`."""
        stamp = int(deadline.timestamp())
        out = self.run("rev-list", "-1", f"--min-age={stamp}", ref, "--", check=False).strip()
        return self.commit(out.decode()) if _SHA.match(out) else None

    def commits_dated_after(self, ref: str, deadline: datetime) -> bool:
        stamp = int(deadline.timestamp()) + 1
        out = self.run("rev-list", "--count", f"--max-age={stamp}", ref, "--", check=False)
        return out.strip().isdigit() and int(out.strip()) > 0

    def origin_url(self) -> str:
        """remote.origin.url, parsed from the config file without following includes."""
        config = self.git_dir / "config"
        out = self.run(
            "config",
            "--file",
            str(config),
            "--no-includes",
            "--get",
            "remote.origin.url",
            check=False,
        )
        return out.decode("utf-8", "replace").strip()

    # ----------------------------------------------------------------- files

    def extract(self, commit: Commit, target: Path) -> Extracted:
        """Write the files of `commit` into `target` (a new folder), under staging's rules."""
        listing = self.run("ls-tree", "-r", "-z", "-l", "--full-tree", commit.sha)
        extracted = Extracted(commit)
        wanted: list[tuple[bytes, PurePosixPath]] = []
        total = 0
        for record in listing.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            parts = meta.split()
            if len(parts) != 4:
                continue
            mode, kind, sha, size = parts
            try:
                name = raw_path.decode("utf-8")
            except UnicodeDecodeError:
                shown = raw_path.decode("utf-8", "backslashreplace")
                extracted.notes.append(say("git_entry_name", name=shown))
                continue
            path = PurePosixPath(name)
            if any(p in ("", ".", "..") or p.lower() == ".git" for p in path.parts):
                continue
            if mode == b"120000":
                extracted.notes.append(say("git_entry_link", path=name))
                continue
            if mode == b"160000" or kind == b"commit":
                extracted.notes.append(say("git_entry_submodule", path=name))
                continue
            if kind != b"blob" or not _SHA.match(sha):
                continue
            if len(path.parts) > MAX_DEPTH + 1:
                continue
            blob_size = int(size) if size.isdigit() else MAX_FILE_BYTES + 1
            if blob_size > MAX_FILE_BYTES or total + blob_size > MAX_TOTAL_BYTES:
                extracted.notes.append(
                    say("git_entry_large", path=name, limit=MAX_FILE_BYTES // (1 << 20))
                )
                continue
            if len(wanted) >= MAX_FILES:
                extracted.notes.append(say("git_entry_count", limit=MAX_FILES))
                break
            total += blob_size
            wanted.append((sha, path))
        _refuse_clashes([path for _, path in wanted])
        target.mkdir(parents=True)
        contents = self._blobs([sha for sha, _ in wanted])
        for (_sha, path), data in zip(wanted, contents, strict=True):
            out = target.joinpath(*path.parts)
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            except OSError:  # a clash _refuse_clashes did not foresee: refused all the same
                raise GitError(say("git_entry_clash", path=str(path))) from None
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        return extracted

    def _blobs(self, shas: list[bytes]) -> list[bytes]:
        """The contents of `shas`, in order, from one `cat-file --batch`."""
        if not shas:
            return []
        out = self.run("cat-file", "--batch", stdin=b"".join(s + b"\n" for s in shas))
        contents: list[bytes] = []
        position = 0
        for sha in shas:
            end = out.index(b"\n", position)
            header = out[position:end].split()
            if len(header) != 3 or header[0] != sha or header[1] != b"blob":
                raise GitError(f"git cat-file: unexpected answer for {sha.decode()}")
            size = int(header[2])
            contents.append(out[end + 1 : end + 1 + size])
            position = end + 1 + size + 1
        return contents


def _refuse_clashes(paths: list[PurePosixPath]) -> None:
    """A hand-made tree can name a file twice, or hold a file `a` and a file `a/b`: no
    checkout of it exists, so the commit is refused (GitError) before anything is written."""
    files: set[PurePosixPath] = set()
    folders: set[PurePosixPath] = set()
    for path in paths:
        if path in files or path in folders:
            raise GitError(say("git_entry_clash", path=str(path)))
        files.add(path)
        for parent in path.parents:
            if parent in files:
                raise GitError(say("git_entry_clash", path=str(parent)))
            folders.add(parent)
