"""When each commit reached GitHub: the repository activity API, read with the instructor's token.

Commit dates are written by the student (`GIT_COMMITTER_DATE`, a rebase), so they cannot decide
lateness. GitHub records every push, force-push and merge that moved a branch, with its own
timestamp and the commit the branch moved to (`after`): `GET /repos/{owner}/{repo}/activity`.
The base URL is configurable (`--github-api` or `TORCHGRADE_GITHUB_API`), so tests point it at a
stand-in server on the loopback address. The token is only ever sent to that base URL.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime

DEFAULT_API = "https://api.github.com"
API_ENV = "TORCHGRADE_GITHUB_API"
TOKEN_ENV = "GITHUB_TOKEN"
TIMEOUT_SECONDS = 30.0
MAX_PAGES = 50
PER_PAGE = 100
# Activity that moves a branch to `after`; a deletion moves it nowhere.
MOVES_BRANCH = ("push", "force_push", "branch_creation", "pr_merge", "merge_queue_merge")
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')
_GITHUB_REMOTE = re.compile(
    r"^(?:https://(?:[^@/]+@)?github\.com/|git@github\.com:|ssh://git@github\.com/)"
    r"(?P<owner>[A-Za-z0-9-]+)/(?P<repo>[A-Za-z0-9._-]+?)(?:\.git)?/?$"
)


class ActivityError(Exception):
    """The push history could not be read; the message says why."""


@dataclass(frozen=True)
class Push:
    """GitHub moved `ref` to `after` at `timestamp`, by `actor`."""

    after: str
    timestamp: datetime
    ref: str
    kind: str
    actor_id: int | None
    actor_login: str
    actor_is_bot: bool


def parse_remote(url: str) -> tuple[str, str] | None:
    """(owner, repo) of a github.com remote URL, or None."""
    match = _GITHUB_REMOTE.match(url.strip())
    return (match["owner"], match["repo"]) if match else None


def _timestamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value}")
    return parsed


def _get(url: str, token: str) -> tuple[list[object], str | None]:
    request = urllib.request.Request(
        url,
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "torchgrade",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            body = json.loads(response.read())
            link = response.headers.get("Link") or ""
    except urllib.error.HTTPError as exc:
        raise ActivityError(f"HTTP {exc.code} from {url.split('?')[0]}") from None
    except (OSError, ValueError) as exc:
        raise ActivityError(f"{url.split('?')[0]}: {exc}") from None
    if not isinstance(body, list):
        raise ActivityError(f"{url.split('?')[0]}: expected a list of activities")
    found = _NEXT.search(link)
    return body, found.group(1) if found else None


def pushes(owner: str, repo: str, branch: str, token: str, base: str = DEFAULT_API) -> list[Push]:
    """Every activity that moved `branch` (refs/heads/...), oldest first."""
    base = base.rstrip("/")
    path = f"/repos/{urllib.parse.quote(owner)}/{urllib.parse.quote(repo)}/activity"
    query = urllib.parse.urlencode(
        {"ref": branch.removeprefix("refs/heads/"), "per_page": PER_PAGE}
    )
    url: str | None = f"{base}{path}?{query}"
    found: list[Push] = []
    for _ in range(MAX_PAGES):
        if url is None:
            break
        if not url.startswith(base + "/"):
            raise ActivityError("the next page points at another host; refusing to send the token")
        page, url = _get(url, token)
        for item in page:
            if not isinstance(item, dict) or item.get("activity_type") not in MOVES_BRANCH:
                continue
            ref = str(item.get("ref", ""))
            if ref not in (branch, f"refs/heads/{branch.removeprefix('refs/heads/')}"):
                continue
            actor = item.get("actor") if isinstance(item.get("actor"), dict) else {}
            assert isinstance(actor, dict)
            try:
                found.append(
                    Push(
                        after=str(item["after"]),
                        timestamp=_timestamp(str(item["timestamp"])),
                        ref=ref,
                        kind=str(item["activity_type"]),
                        actor_id=actor.get("id") if isinstance(actor.get("id"), int) else None,
                        actor_login=str(actor.get("login", "")),
                        actor_is_bot=actor.get("type") == "Bot"
                        or str(actor.get("login", "")).endswith("[bot]"),
                    )
                )
            except (KeyError, ValueError) as exc:
                raise ActivityError(f"an activity entry is malformed ({exc})") from None
    return sorted(found, key=lambda p: p.timestamp)


def student_id(history: list[Push]) -> int | None:
    """The GitHub id of the one person (not a bot) who pushed, if there is exactly one."""
    people = {p.actor_id for p in history if p.actor_id is not None and not p.actor_is_bot}
    return people.pop() if len(people) == 1 else None
