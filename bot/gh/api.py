"""The GitHub adapter: the only module that imports PyGithub (a test enforces it).

Every write is idempotent: the sticky comment is found by a hidden marker **and** the bot's own
login and edited in place; status contexts are fixed constants; issues the bot opens carry a
marker too. Requests retry 5xx answers and secondary rate limits with bounded waits (PyGithub's
``GithubRetry``, with any ``Retry-After`` above ``max_wait_s`` refused rather than slept), so a
rate limit can never stall a job for an hour. ``base_url`` comes from ``GITHUB_API_URL``, so
GitHub Enterprise works.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait
from requests.exceptions import RequestException

from ..errors import GitHubError
from .text import one_line

DEFAULT_API_URL = "https://api.github.com"
ACTIONS_BOT = "github-actions[bot]"
WRITE_ROLES = ("admin", "maintain", "write")
STATUS_PR = "ttfb/pr"
# A fork's results come from jobs the fork's own code ran in (it may even edit ttfb-pr.yml in its
# branch): they are shown, but never under the context a branch protection rule can require.
STATUS_PR_FORK = "ttfb/pr (fork, advisory)"
STATUS_RELEASE = "ttfb/release-gate"


def rerun_title(pr: int | str, sha: str) -> str:
    """The ``run-name`` ttfb-pr.yml gives a dispatched rerun; the report job reads it back from
    the event (``display_title``) to bind the run to the pull request and head it measured."""
    return f"ttfb rerun of #{pr} at {sha}"


class BoundedRetry(GithubRetry):
    """GithubRetry that refuses (raises) instead of sleeping longer than ``max_rate_limit_wait``.

    PyGithub caps its own rate-limit backoff with ``max_rate_limit_wait``, but a ``Retry-After``
    header is slept by urllib3 whatever its size; this closes that gap.
    """

    def get_retry_after(self, response: Any) -> float | None:
        value: float | None = super().get_retry_after(response)
        cap = self.max_rate_limit_wait
        if value is not None and cap is not None and value > cap:
            raise RateLimitExceededExceedsMaxWait(
                response.status,
                {"message": f"Retry-After of {value:g} s exceeds the {cap:g} s bound"},
                dict(response.headers),
                wait=value,
            )
        return value


def connect(
    token: str | None,
    *,
    base_url: str | None = None,
    max_wait_s: float = 60.0,
    retries: int = 4,
    backoff_s: float = 0.5,
    throttle: bool = True,
) -> Github:
    """A PyGithub client with bounded retries (see the module docstring).

    5xx gateway errors (502, 503, 504) and rate-limited 403s are retried, POST included:
    the writes that matter are idempotent (the comment upsert removes duplicates). ``throttle``
    keeps PyGithub's spacing between requests, which GitHub asks of integrations.
    """
    retry = BoundedRetry(
        total=retries,
        backoff_factor=backoff_s,
        status_forcelist=[502, 503, 504],
        secondary_rate_wait=min(max_wait_s, 60.0),
        max_rate_limit_wait=max_wait_s,
    )
    spacing: dict[str, Any] = (
        {}
        if throttle
        else {
            "seconds_between_requests": None,
            "seconds_between_writes": None,
        }
    )
    return Github(
        auth=Auth.Token(token) if token else None,
        base_url=(base_url or DEFAULT_API_URL).rstrip("/"),
        retry=retry,
        timeout=30,
        per_page=100,
        **spacing,
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, RateLimitExceededExceedsMaxWait):
        return f"rate limited: waiting {exc.wait:g} s would exceed the bound"
    if isinstance(exc, RequestException) and "too many" in str(exc).lower():
        return "gave up after repeated server errors"
    if isinstance(exc, GithubException):
        data = exc.data if isinstance(exc.data, dict) else {}
        message = data.get("message") or str(exc.data or "")
        return f"{exc.status} {message}".strip()
    return f"{type(exc).__name__}: {exc}"


def _pull_info(pr: Any) -> PullInfo:
    head_repo = pr.head.repo.full_name if pr.head.repo is not None else None
    return PullInfo(
        pr.number,
        pr.head.sha,
        pr.head.ref,
        pr.base.ref,
        pr.base.sha,
        pr.user.login,
        head_repo,
        pr.state,
    )


@dataclass(frozen=True)
class PullInfo:
    number: int
    head_sha: str
    head_ref: str
    base_ref: str
    base_sha: str
    author: str
    head_repo: str | None
    state: str


class GitHubAPI:
    """What the bot does on GitHub, for one repository. Errors are one-line ``GitHubError``."""

    def __init__(
        self,
        gh: Github,
        repository: str,
        *,
        bot_login: str | None = None,
        dry_run: bool = False,
        token: str | None = None,
    ) -> None:
        self.gh = gh
        self.repository = repository
        self.token = token  # for downloads outside PyGithub (artifact archives)
        self._bot_login = bot_login
        self.dry_run = dry_run
        self._repo: Any = None

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args)``; any API failure becomes a one-line ``GitHubError`` naming ``what``."""
        try:
            return fn(*args, **kwargs)
        except (GithubException, RequestException, OSError, ValueError) as exc:
            raise GitHubError(f"GitHub API: {what}: {_describe(exc)}") from None

    def write(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """A write: made through ``call``, or only printed under ``--dry-run``."""
        if self.dry_run:
            print(f"dry-run: would {what}", file=sys.stderr)
            return None
        return self.call(what, fn, *args, **kwargs)

    def _delete(self, what: str, comment: Any) -> None:
        """Delete a comment; one a racing run already deleted (404) is fine."""

        def do() -> None:
            try:
                comment.delete()
            except GithubException as exc:
                if exc.status != 404:
                    raise

        self.write(what, do)

    @property
    def repo(self) -> Any:
        if self._repo is None:
            self._repo = self.call(
                f"GET /repos/{self.repository}", self.gh.get_repo, self.repository
            )
        return self._repo

    @property
    def default_branch(self) -> str:
        return str(self.repo.default_branch)

    @property
    def bot_login(self) -> str:
        """The login our comments carry: ``GET /user``, else the Actions bot."""
        if self._bot_login is None:
            try:
                self._bot_login = self.gh.get_user().login
            except GithubException:  # an Actions token may not read /user
                self._bot_login = ACTIONS_BOT
        return self._bot_login

    # --- comments ---------------------------------------------------------------------------

    def _ours(self, number: int, marker: str) -> list[Any]:
        issue = self.call(f"GET issue #{number}", self.repo.get_issue, number)
        comments = self.call(f"GET comments of #{number}", lambda: list(issue.get_comments()))
        login = self.bot_login
        return sorted(
            (c for c in comments if marker in (c.body or "") and c.user.login == login),
            key=lambda c: c.id,
        )

    def upsert_comment(self, number: int, body: str, *, marker: str) -> tuple[int | None, bool]:
        """Edit the bot's marked comment on #number, or create it; returns (id, created).

        After creating, the comments are listed again: if a racing run created one too, the
        oldest is kept (and given this body) and the others are deleted, so one remains.
        """
        if marker not in body:
            raise ValueError("the comment body must carry the marker")
        ours = self._ours(number, marker)
        if ours:
            if ours[0].body != body:
                self.write(f"PATCH comment {ours[0].id} on #{number}", ours[0].edit, body)
            for extra in ours[1:]:
                self._delete(f"DELETE duplicate comment {extra.id}", extra)
            return ours[0].id, False
        issue = self.call(f"GET issue #{number}", self.repo.get_issue, number)
        created = self.write(
            f"POST comment on #{number} ({len(body)} chars)", issue.create_comment, body
        )
        if created is None:
            return None, True
        again = self._ours(number, marker)
        if len(again) > 1:
            keep = again[0]
            if keep.id != created.id:
                self.write(f"PATCH comment {keep.id} on #{number}", keep.edit, body)
            for extra in again[1:]:
                self._delete(f"DELETE duplicate comment {extra.id}", extra)
            return keep.id, keep.id == created.id
        return created.id, True

    def reply(self, number: int, body: str) -> None:
        issue = self.call(f"GET issue #{number}", self.repo.get_issue, number)
        self.write(
            f"POST reply on #{number}: {body.splitlines()[0][:80]!r}", issue.create_comment, body
        )

    def react(self, number: int, comment_id: int, content: str = "eyes") -> bool:
        """Best effort: a reaction that fails (comment deleted meanwhile) is only reported."""

        def do() -> None:
            comment = self.repo.get_issue(number).get_comment(comment_id)
            comment.create_reaction(content)

        try:
            self.write(f"POST reaction {content!r} on comment {comment_id}", do)
        except GitHubError as exc:
            print(f"warning: {exc}", file=sys.stderr)
            return False
        return True

    # --- permissions, pulls, commits -------------------------------------------------------

    def role(self, user: str) -> str:
        """The user's role on the repository: admin, maintain, write, triage, read or none.

        The role name, not the legacy ``permission`` field, which reads triage as read and
        maintain as write."""
        name = self.call(f"GET permission of {user}", self.repo.get_collaborator_role_name, user)
        return str(name or "none")

    def can_write(self, user: str) -> bool:
        return self.role(user) in WRITE_ROLES

    def can_triage(self, user: str) -> bool:
        return self.role(user) in (*WRITE_ROLES, "triage")

    def pull(self, number: int) -> PullInfo:
        pr = self.call(f"GET pull #{number}", self.repo.get_pull, number)
        return _pull_info(pr)

    def open_pull_for_head(
        self, *, head_sha: str, head_repo: str | None, head_branch: str | None
    ) -> PullInfo | None:
        """The open pull request whose head is exactly ``head_sha`` in ``head_repo``: by
        ``owner:branch`` (a fork's too), else through the commit's pulls. Only the event's
        facts are used; nothing an artifact claims."""
        candidates = []
        owner = (head_repo or "").partition("/")[0]
        if owner and head_branch:
            candidates = self.call(
                "GET pulls by head",
                lambda: list(self.repo.get_pulls(state="open", head=f"{owner}:{head_branch}")),
            )
        if not candidates:
            commit = self.call(f"GET commit {head_sha[:10]}", self.repo.get_commit, head_sha)
            candidates = self.call(
                f"GET pulls of commit {head_sha[:10]}", lambda: list(commit.get_pulls())
            )
        for pr in sorted(candidates, key=lambda p: p.number):
            info = _pull_info(pr)
            if info.state == "open" and info.head_sha == head_sha and info.head_repo == head_repo:
                return info
        return None

    def pulls_for_commit(self, sha: str) -> list[int]:
        """PRs associated with a commit (GitHub's commits → pulls API), oldest first."""
        commit = self.call(f"GET commit {sha[:10]}", self.repo.get_commit, sha)
        pulls = self.call(f"GET pulls of commit {sha[:10]}", lambda: list(commit.get_pulls()))
        return sorted(int(p.number) for p in pulls)

    def commit_author(self, sha: str) -> str | None:
        commit = self.call(f"GET commit {sha[:10]}", self.repo.get_commit, sha)
        return commit.author.login if commit.author is not None else None

    # --- statuses, checks, dispatch, issues --------------------------------------------------

    def set_status(
        self, sha: str, *, state: str, context: str, description: str, target_url: str | None = None
    ) -> None:
        if state not in ("success", "failure", "error", "pending"):
            raise ValueError(f"bad status state {state!r}")

        def do() -> None:
            commit = self.repo.get_commit(sha)
            kwargs = {"state": state, "context": context, "description": one_line(description)}
            if target_url:
                kwargs["target_url"] = target_url
            commit.create_status(**kwargs)

        self.write(f"POST status {context}={state} on {sha[:10]}", do)

    def dispatch(self, workflow: str, *, ref: str, inputs: Mapping[str, str]) -> None:
        def do() -> None:
            wf = self.repo.get_workflow(workflow)
            if not wf.create_dispatch(ref, dict(inputs)):
                raise GithubException(422, {"message": "dispatch refused"}, None)

        self.write(f"POST dispatch {workflow} on {ref} with {dict(inputs)}", do)

    def open_issue_once(
        self, *, title: str, body: str, marker: str, labels: Sequence[str] = ()
    ) -> tuple[int | None, bool]:
        """An open issue carrying ``marker``, created only if none exists; (number, created)."""
        existing = self.call(
            "GET open issues",
            lambda: list(self.repo.get_issues(state="open", creator=self.bot_login)),
        )
        for issue in existing:
            if marker in (issue.body or ""):
                return int(issue.number), False
        made = self.write(
            f"POST issue {title!r}",
            self.repo.create_issue,
            title=title,
            body=body,
            labels=list(labels),
        )
        return (int(made.number) if made is not None else None), True


def from_environment(
    env: Mapping[str, str],
    *,
    dry_run: bool = False,
    max_wait_s: float = 60.0,
    throttle: bool = True,
) -> GitHubAPI:
    """The adapter for ``GITHUB_REPOSITORY`` with ``GITHUB_TOKEN`` at ``GITHUB_API_URL``."""
    repository = env.get("GITHUB_REPOSITORY")
    if not repository or "/" not in repository:
        raise GitHubError("GITHUB_REPOSITORY: not set (expected owner/name)")
    token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN")
    if not token and not dry_run:
        raise GitHubError("GITHUB_TOKEN: not set")
    gh = connect(
        token,
        base_url=env.get("GITHUB_API_URL"),
        max_wait_s=max_wait_s,
        throttle=throttle and env.get("TTFB_LAB_GH_THROTTLE", "1") != "0",
    )
    # Inside Actions the token is the Actions bot's (GET /user would answer 403); a GitHub App
    # token posts as "<app>[bot]": say so with TTFB_LAB_BOT_LOGIN.
    login = env.get("TTFB_LAB_BOT_LOGIN") or (
        ACTIONS_BOT if env.get("GITHUB_ACTIONS") == "true" else None
    )
    return GitHubAPI(gh, repository, bot_login=login, dry_run=dry_run, token=token)


__all__ = ["GitHubAPI", "PullInfo", "connect", "from_environment"]
