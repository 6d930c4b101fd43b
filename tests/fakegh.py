"""A local fake of GitHub's REST API (v3) that real PyGithub can talk to.

``FakeGitHub`` runs an HTTP server on ``127.0.0.1`` (a free port) in a background thread. It keeps
repository state in memory (issues, pull requests, comments, reactions, commits, statuses, check
runs, workflows, workflow runs, artifacts), records every request as a :class:`Call`, and can
inject failures::

    with FakeGitHub() as fake:
        fake.add_pull(7, head_sha="a" * 40)
        gh = fake.client()  # a github.Github pointed at the fake, no throttling, no retries
        gh.get_repo("octo/lab").get_issue(7).create_comment("hi")
        gh.close()
        assert fake.comments(7)[0]["body"] == "hi"

Responses carry the fields PyGithub reads, with absolute URLs on this server, so PyGithub never
has to fetch an object again to complete it. Objects are rendered afresh on every request (dicts
returned by the ``add_*`` helpers before :meth:`FakeGitHub.start` carry port-0 URLs).

Where GitHub's behaviour is surprising the fake follows GitHub: the collaborator ``permission``
field is the legacy one (``maintain`` reads as ``write`` and ``triage`` as ``read``;
``role_name`` is exact), lists of issues and pulls are newest first, commit statuses and check
runs need a known commit (422 otherwise; ``add_pull`` registers its head commit), and
``POST /issues/comments/{id}/reactions`` answers 200 with the existing reaction when the same
user reacts the same way twice. Workflow runs are listed newest first (``created_at``) and their
``status`` filter takes a conclusion too; ``GET .../actions/artifacts/{id}/zip`` answers 302 to a
signed blob URL on this server (``/_blobs/artifact-{id}.zip?sig=...``, no token needed, no rate
limit headers), or 410 once the artifact has expired.
"""

from __future__ import annotations

import copy
import hashlib
import io
import itertools
import json
import math
import re
import secrets
import threading
import time
import traceback
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import github
from urllib3.util.retry import Retry

JSON = dict[str, Any]

DOCS_URL = "https://docs.github.com/rest"
SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit and have been temporarily blocked from content "
    "creation. Please retry your request again later."
)
SECONDARY_RATE_LIMIT_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
RATE_LIMIT = 5000
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
MAX_COMMENT_BODY = 65536
MAX_STATUS_DESCRIPTION = 140
REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
STATUS_STATES = ("error", "failure", "pending", "success")
CHECK_STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CHECK_CONCLUSIONS = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
)
RUN_CONCLUSIONS = (*CHECK_CONCLUSIONS, "startup_failure")
ARTIFACT_RETENTION = timedelta(days=90)
# role (what add_user takes, what role_name shows) -> the legacy ``permission`` field
LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
    "none": "none",
}
_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_BLOBS = "/_blobs/"
_BLANK_SHA = "0" * 40


@dataclass(frozen=True)
class Call:
    """One request the fake answered (``path`` is percent-decoded, ``query`` keeps last values)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any | None
    status: int
    authorization: str | None = None


class ApiError(Exception):
    """Raised inside a handler to answer with a GitHub-style error body."""

    def __init__(self, status: int, message: str, errors: list[JSON] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors

    def payload(self) -> JSON:
        """The JSON body GitHub sends with this error."""
        body: JSON = {"message": self.message, "documentation_url": DOCS_URL}
        if self.errors is not None:
            body["errors"] = self.errors
        body["status"] = str(self.status)
        return body


def _not_found() -> ApiError:
    return ApiError(404, "Not Found")


def _invalid(resource: str, field_name: str, code: str = "missing_field") -> ApiError:
    return ApiError(
        422, "Validation Failed", [{"resource": resource, "code": code, "field": field_name}]
    )


def _too_long(resource: str, field_name: str, message: str) -> ApiError:
    error = {"resource": resource, "code": "custom", "field": field_name, "message": message}
    return ApiError(422, "Validation Failed", [error])


def _now() -> str:
    return _iso(datetime.now(timezone.utc))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Response:
    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None  # for a ``bytes`` payload

    def encode(self) -> tuple[bytes, str | None]:
        """The body bytes and their content type (None for an empty body)."""
        if self.payload is None:
            return b"", None
        if isinstance(self.payload, bytes):
            return self.payload, self.content_type or "application/octet-stream"
        if isinstance(self.payload, str):
            return self.payload.encode(), "text/html; charset=utf-8"
        return json.dumps(self.payload).encode(), "application/json; charset=utf-8"


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    body: Any
    authorization: str | None

    def json(self) -> JSON:
        """The request body as an object; GitHub answers 400 to anything else."""
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return self.body


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    headers: dict[str, str]
    body: Any
    apply_first: bool

    def matches(self, method: str, path: str) -> bool:
        """True if this fault applies to a request."""
        method_ok = self.method in ("*", method)
        return self.remaining > 0 and method_ok and self.pattern.search(path) is not None

    def response(self) -> _Response:
        """The injected answer."""
        return _Response(self.status, copy.deepcopy(self.body), dict(self.headers))


@dataclass
class _Issue:
    number: int
    id: int
    title: str
    body: str | None
    user: str
    state: str
    labels: list[str]
    created_at: str
    updated_at: str
    is_pull: bool = False


@dataclass
class _Pull:
    number: int
    id: int
    head_sha: str
    head_ref: str
    base_ref: str
    base_sha: str
    head_owner: str
    merged: bool


@dataclass
class _Comment:
    id: int
    issue_number: int
    body: str
    user: str
    created_at: str
    updated_at: str


@dataclass
class _Reaction:
    id: int
    comment_id: int
    user: str
    content: str
    created_at: str


@dataclass
class _Commit:
    sha: str
    pulls: tuple[int, ...]
    author: str
    message: str
    date: str


@dataclass
class _Status:
    id: int
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: str


@dataclass
class _Workflow:
    id: int
    file: str
    name: str
    created_at: str


@dataclass
class _Run:
    id: int
    workflow_id: int
    head_sha: str
    head_branch: str
    head_owner: str
    event: str
    status: str
    conclusion: str | None
    pulls: tuple[int, ...]
    run_number: int
    created_at: str
    updated_at: str
    run_started_at: str
    run_attempt: int = 1


@dataclass
class _Artifact:
    id: int
    run_id: int
    name: str
    data: bytes
    size_in_bytes: int
    expired: bool
    created_at: str
    expires_at: str
    sig: str


_RouteHandler = Callable[[_Request, dict[str, str]], _Response]


class FakeGitHub:
    """An in-memory GitHub REST API for one repository, served over real HTTP."""

    def __init__(
        self,
        *,
        owner: str = "octo",
        repo: str = "lab",
        bot_login: str = "github-actions[bot]",
        user_endpoint: bool = False,
        default_branch: str = "main",
        port: int = 0,
    ) -> None:
        """Create the fake; nothing listens until :meth:`start` (or ``with``)."""
        self.port = port
        self.owner = owner
        self.repo = repo
        self.bot_login = bot_login
        self.user_endpoint = user_endpoint
        self.default_branch = default_branch
        self._lock = threading.RLock()
        self._ids = itertools.count(1001)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._root = "http://127.0.0.1:0"
        self._calls: list[Call] = []
        self._faults: list[_Fault] = []
        self._rate_used = 0
        self._rate_reset = int(time.time()) + 3600
        self._repo_id = next(self._ids)
        self._created_at = _now()
        self._stable_ids: dict[str, int] = {}
        self._roles: dict[str, str] = {}
        self._issues: dict[int, _Issue] = {}
        self._pulls: dict[int, _Pull] = {}
        self._comments: dict[int, _Comment] = {}
        self._reactions: list[_Reaction] = []
        self._commits: dict[str, _Commit] = {}
        self._statuses: list[_Status] = []
        self._check_runs: dict[int, JSON] = {}
        self._workflows: dict[int, _Workflow] = {}
        self._dispatches: list[JSON] = []
        self._runs: dict[int, _Run] = {}
        self._reruns: list[int] = []
        self._artifacts: dict[int, _Artifact] = {}
        self._routes = self._build_routes()

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``; the base_url to give PyGithub."""
        if self._server is None:
            raise RuntimeError("FakeGitHub is not started")
        return self._root

    def start(self) -> FakeGitHub:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        if self._server is not None:
            return self
        server = _Server(self)
        self._root = f"http://127.0.0.1:{server.server_address[1]}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="fakegh", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, join the serving and request threads, close the socket."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.shutdown()
        thread.join()
        server.server_close()

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def client(
        self,
        *,
        token: str = "t",
        retry: int | Retry | None = None,
        per_page: int = DEFAULT_PER_PAGE,
        **kwargs: Any,
    ) -> github.Github:
        """A ``github.Github`` for this server: no throttling, and no retries unless given.

        PyGithub's defaults would sleep 0.25 s between requests and 1 s between writes, and
        retry 5xx ten times; close the client (``with`` or ``.close()``) when done.
        """
        return github.Github(
            base_url=self.url,
            auth=github.Auth.Token(token),
            retry=retry,
            per_page=per_page,
            seconds_between_requests=None,
            seconds_between_writes=None,
            **kwargs,
        )

    # ------------------------------------------------------------- state setup

    def add_user(self, login: str, *, permission: str = "read") -> JSON:
        """Make ``login`` a collaborator with a role: admin|maintain|write|triage|read|none."""
        if permission not in LEGACY_PERMISSION:
            raise ValueError(f"unknown permission {permission!r}")
        with self._lock:
            self._roles[login] = permission
            return self._user(login)

    def add_pull(
        self,
        number: int,
        *,
        head_sha: str,
        head_ref: str = "feature",
        base_ref: str = "main",
        user: str = "alice",
        head_owner: str | None = None,
        state: str = "open",
        title: str | None = None,
        body: str | None = None,
        base_sha: str = _BLANK_SHA,
    ) -> JSON:
        """Add an open|closed|merged pull request; its head commit becomes known too."""
        if state not in ("open", "closed", "merged"):
            raise ValueError(f"unknown pull state {state!r}")
        with self._lock:
            self._check_number_free(number)
            issue = self._new_issue(number, title or f"PR {number}", body, user, (), state)
            issue.state = "open" if state == "open" else "closed"
            issue.is_pull = True
            self._pulls[number] = _Pull(
                number=number,
                id=next(self._ids),
                head_sha=head_sha,
                head_ref=head_ref,
                base_ref=base_ref,
                base_sha=base_sha,
                head_owner=head_owner or self.owner,
                merged=state == "merged",
            )
            if head_sha not in self._commits:
                self._commits[head_sha] = _Commit(head_sha, (), user, f"PR {number} head", _now())
            return self._pull_json(number)

    def add_commit(
        self, sha: str, *, pulls: Iterable[int] = (), author: str = "alice", message: str = "msg"
    ) -> JSON:
        """Add a commit; ``pulls`` lists PRs associated with it (besides PRs it heads)."""
        with self._lock:
            self._commits[sha] = _Commit(sha, tuple(pulls), author, message, _now())
            return self._commit_json(self._commits[sha])

    def add_issue(
        self,
        number: int,
        *,
        title: str = "t",
        user: str = "alice",
        body: str | None = None,
        labels: Iterable[str] = (),
        state: str = "open",
    ) -> JSON:
        """Add a plain issue (no ``pull_request`` key)."""
        with self._lock:
            self._check_number_free(number)
            self._new_issue(number, title, body, user, labels, state)
            return self._issue_json(self._issues[number])

    def add_comment(self, issue_number: int, body: str, *, user: str) -> JSON:
        """Add a pre-existing comment by ``user`` on an issue or pull request."""
        with self._lock:
            if issue_number not in self._issues:
                raise ValueError(f"no issue or pull #{issue_number}; add it first")
            return self._comment_json(self._new_comment(issue_number, body, user))

    def add_workflow(
        self, workflow_id_or_file: str, *, id: int = 1, name: str | None = None
    ) -> JSON:
        """Add a workflow file (e.g. ``"ttfb-pr.yml"``), reachable by file name or ``id``."""
        file = workflow_id_or_file.rsplit("/", 1)[-1]
        with self._lock:
            self._workflows[id] = _Workflow(id, file, name or file.rsplit(".", 1)[0], _now())
            return self._workflow_json(self._workflows[id])

    def add_run(
        self,
        run_id: int,
        *,
        workflow: str = "ttfb-pr.yml",
        head_sha: str,
        event: str = "pull_request",
        head_branch: str = "feature",
        head_owner: str | None = None,
        status: str = "completed",
        conclusion: str | None = "success",
        created_at: str | None = None,
        pull_requests: Iterable[int] = (),
    ) -> JSON:
        """Add a run of a workflow added before (by file name or id); pulls are PR numbers.

        A ``head_owner`` other than the owner makes it a fork's run (its ``head_repository`` is
        the fork; GitHub attaches no ``pull_requests`` to those, so pass none).
        ``conclusion`` is kept only when ``status`` is ``completed`` (GitHub sends null before);
        ``created_at`` (ISO 8601, ``Z``) orders the lists, newest first; it defaults to now.
        """
        if status not in CHECK_STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        if status != "completed":
            conclusion = None
        elif conclusion not in RUN_CONCLUSIONS:
            raise ValueError(f"a completed run needs a conclusion, not {conclusion!r}")
        with self._lock:
            try:
                flow = self._workflow(workflow)
            except ApiError:
                raise ValueError(f"no workflow {workflow!r}; add_workflow it first") from None
            if run_id in self._runs:
                raise ValueError(f"run {run_id} already exists")
            stamp = created_at or _now()
            number = 1 + sum(r.workflow_id == flow.id for r in self._runs.values())
            self._runs[run_id] = _Run(
                id=run_id,
                workflow_id=flow.id,
                head_sha=head_sha,
                head_branch=head_branch,
                head_owner=head_owner or self.owner,
                event=event,
                status=status,
                conclusion=conclusion,
                pulls=tuple(pull_requests),
                run_number=number,
                created_at=stamp,
                updated_at=stamp,
                run_started_at=stamp,
            )
            return self._run_json(self._runs[run_id])

    def add_artifact(
        self,
        run_id: int,
        name: str,
        files: Mapping[str, bytes] | None = None,
        *,
        expired: bool = False,
        size_in_bytes: int | None = None,
        raw_zip: bytes | None = None,
    ) -> JSON:
        """Add an artifact of run ``run_id``: a deflated zip of ``files``, or ``raw_zip`` as is.

        ``files`` maps member names to bytes; names go into the zip exactly as given (``dir/x``,
        ``../evil`` and ``/abs`` included). ``size_in_bytes`` defaults to what GitHub reports,
        the uncompressed total (for a ``raw_zip`` that is not a zip: its length); give it to
        model a lying or huge artifact.
        """
        if raw_zip is not None and files:
            raise ValueError("give files or raw_zip, not both")
        data = raw_zip if raw_zip is not None else _zip(files or {})
        with self._lock:
            if run_id not in self._runs:
                raise ValueError(f"no run {run_id}; add_run it first")
            moment = datetime.now(timezone.utc)
            if expired:
                moment -= ARTIFACT_RETENTION + timedelta(days=1)
            artifact = _Artifact(
                id=next(self._ids),
                run_id=run_id,
                name=name,
                data=data,
                size_in_bytes=_unzipped_size(data) if size_in_bytes is None else size_in_bytes,
                expired=expired,
                created_at=_iso(moment),
                expires_at=_iso(moment + ARTIFACT_RETENTION),
                sig=secrets.token_hex(16),
            )
            self._artifacts[artifact.id] = artifact
            return self._artifact_json(artifact)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        *,
        status: int = 502,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        apply_first: bool = False,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status``.

        ``method`` is an HTTP verb or ``"*"``; ``path_regex`` is searched (``re.search``) in the
        percent-decoded path. ``body`` defaults to ``{"message": <reason phrase>}``; a ``str`` is
        sent as is. With ``apply_first`` the request takes effect before the failure is sent (a
        gateway error after the write landed).
        """
        if body is None:
            body = {"message": HTTPStatus(status).phrase, "documentation_url": DOCS_URL}
        fault = _Fault(
            method=method.upper(),
            pattern=re.compile(path_regex),
            status=status,
            remaining=times,
            headers=dict(headers or {}),
            body=body,
            apply_first=apply_first,
        )
        with self._lock:
            self._faults.append(fault)

    def rate_limit_next(
        self, method: str, path_regex: str, *, retry_after: int | None = 1, times: int = 1
    ) -> None:
        """Answer the next ``times`` matching requests with GitHub's secondary rate limit 403.

        ``Retry-After: <retry_after>`` is sent unless ``retry_after`` is None.
        """
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        body = {
            "message": SECONDARY_RATE_LIMIT_MESSAGE,
            "documentation_url": SECONDARY_RATE_LIMIT_DOCS,
        }
        self.fail_next(method, path_regex, status=403, times=times, headers=headers, body=body)

    # -------------------------------------------------------------- inspection

    @property
    def calls(self) -> list[Call]:
        """Every request answered so far, in order (a copy)."""
        with self._lock:
            return list(self._calls)

    def find_calls(self, method: str, path_regex: str) -> list[Call]:
        """The calls with this method (or ``"*"``) whose path matches ``path_regex``."""
        pattern = re.compile(path_regex)
        return [
            c
            for c in self.calls
            if method.upper() in ("*", c.method) and pattern.search(c.path) is not None
        ]

    def clear_calls(self) -> None:
        """Forget the calls recorded so far."""
        with self._lock:
            self._calls.clear()

    def comments(self, issue_number: int) -> list[JSON]:
        """The comments on an issue or pull request, oldest first."""
        with self._lock:
            return [self._comment_json(c) for c in self._comments_on(issue_number)]

    def statuses(self, sha: str) -> list[JSON]:
        """The commit statuses set on ``sha``, oldest first."""
        with self._lock:
            return [self._status_json(s) for s in self._statuses if s.sha == sha]

    def check_runs(self) -> list[JSON]:
        """All check runs, oldest first."""
        with self._lock:
            return [self._check_run_json(run_id) for run_id in sorted(self._check_runs)]

    @property
    def dispatches(self) -> list[JSON]:
        """Workflow dispatches: ``{"workflow_id", "workflow", "ref", "inputs"}``, in order."""
        with self._lock:
            return copy.deepcopy(self._dispatches)

    @property
    def reruns(self) -> list[int]:
        """The ids of the workflow runs re-run through the API, in order."""
        with self._lock:
            return list(self._reruns)

    def reactions(self, comment_id: int) -> list[JSON]:
        """The reactions on an issue comment, oldest first."""
        with self._lock:
            return [self._reaction_json(r) for r in self._reactions if r.comment_id == comment_id]

    @property
    def issues(self) -> list[JSON]:
        """The plain issues (not pull requests), by number."""
        with self._lock:
            plain = [i for i in self._issues.values() if not i.is_pull]
            return [self._issue_json(i) for i in sorted(plain, key=lambda i: i.number)]

    # ------------------------------------------------------------ request path

    def _handle_raw(
        self, method: str, target: str, raw: bytes, authorization: str | None
    ) -> _Response:
        """Answer one HTTP request and record it."""
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        path = unquote(split.path)
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        req = _Request(method, path, split.path, query, body, authorization)
        with self._lock:
            response = self._answer(req, bad_json)
            if not path.startswith(_BLOBS):  # blob storage is not the API: no rate limit
                self._rate_used += 1
                response.headers.update(self._rate_headers())
            self._calls.append(Call(method, path, query, body, response.status, authorization))
        return response

    def _answer(self, req: _Request, bad_json: bool) -> _Response:
        fault = next((f for f in self._faults if f.matches(req.method, req.path)), None)
        if fault is not None:
            fault.remaining -= 1
            self._faults = [f for f in self._faults if f.remaining > 0]
            if not fault.apply_first:
                return fault.response()
        try:
            if bad_json:
                raise ApiError(400, "Problems parsing JSON")
            response = self._route(req)
        except ApiError as error:
            response = _Response(error.status, error.payload())
        except Exception as error:  # a bug in the fake: say so instead of dropping the connection
            traceback.print_exc()
            response = _Response(500, {"message": f"FakeGitHub internal error: {error!r}"})
        return response if fault is None else fault.response()

    def _route(self, req: _Request) -> _Response:
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(req.path)
            if match is None or method != req.method:
                continue
            params = match.groupdict()
            if "owner" in params and not self._is_our_repo(params["owner"], params["repo"]):
                raise _not_found()
            return handler(req, params)
        raise _not_found()

    def _is_our_repo(self, owner: str, repo: str) -> bool:
        return (owner.lower(), repo.lower()) == (self.owner.lower(), self.repo.lower())

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(max(RATE_LIMIT - self._rate_used, 0)),
            "X-RateLimit-Reset": str(self._rate_reset),
            "X-RateLimit-Used": str(self._rate_used),
            "X-RateLimit-Resource": "core",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": f"FAKE:{self._rate_used:08X}",
        }

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], _RouteHandler]]:
        table: list[tuple[str, str, _RouteHandler]] = [
            ("GET", "/user", self._get_authenticated_user),
            ("GET", "/users/(?P<login>[^/]+)", self._get_user),
            ("GET", _REPO, self._get_repo),
            ("GET", _REPO + "/issues", self._list_issues),
            ("POST", _REPO + "/issues", self._create_issue),
            ("GET", _REPO + r"/issues/(?P<number>\d+)", self._get_issue),
            ("GET", _REPO + r"/issues/(?P<number>\d+)/comments", self._list_comments),
            ("POST", _REPO + r"/issues/(?P<number>\d+)/comments", self._create_comment),
            ("GET", _REPO + r"/issues/comments/(?P<id>\d+)", self._get_comment),
            ("PATCH", _REPO + r"/issues/comments/(?P<id>\d+)", self._edit_comment),
            ("DELETE", _REPO + r"/issues/comments/(?P<id>\d+)", self._delete_comment),
            ("GET", _REPO + r"/issues/comments/(?P<id>\d+)/reactions", self._list_reactions),
            ("POST", _REPO + r"/issues/comments/(?P<id>\d+)/reactions", self._create_reaction),
            ("GET", _REPO + "/pulls", self._list_pulls),
            ("GET", _REPO + r"/pulls/(?P<number>\d+)", self._get_pull),
            ("GET", _REPO + "/commits/(?P<sha>[^/]+)", self._get_commit),
            ("GET", _REPO + "/commits/(?P<sha>[^/]+)/pulls", self._commit_pulls),
            ("GET", _REPO + "/commits/(?P<sha>[^/]+)/statuses", self._commit_statuses),
            ("GET", _REPO + "/commits/(?P<sha>[^/]+)/status", self._combined_status),
            ("GET", _REPO + "/commits/(?P<sha>[^/]+)/check-runs", self._commit_check_runs),
            ("GET", _REPO + "/statuses/(?P<sha>[^/]+)", self._commit_statuses),
            ("POST", _REPO + "/statuses/(?P<sha>[^/]+)", self._create_status),
            ("GET", _REPO + "/collaborators/(?P<login>[^/]+)/permission", self._permission),
            ("POST", _REPO + "/check-runs", self._create_check_run),
            ("GET", _REPO + r"/check-runs/(?P<id>\d+)", self._get_check_run),
            ("PATCH", _REPO + r"/check-runs/(?P<id>\d+)", self._edit_check_run),
            ("GET", _REPO + "/actions/workflows/(?P<wf>[^/]+)", self._get_workflow),
            ("POST", _REPO + "/actions/workflows/(?P<wf>[^/]+)/dispatches", self._dispatch),
            ("GET", _REPO + "/actions/workflows/(?P<wf>[^/]+)/runs", self._list_runs),
            ("GET", _REPO + "/actions/runs", self._list_runs),
            ("GET", _REPO + r"/actions/runs/(?P<run>\d+)", self._get_run),
            ("POST", _REPO + r"/actions/runs/(?P<run>\d+)/rerun", self._rerun),
            ("GET", _REPO + r"/actions/runs/(?P<run>\d+)/artifacts", self._list_artifacts),
            ("GET", _REPO + "/actions/artifacts", self._list_artifacts),
            ("GET", _REPO + r"/actions/artifacts/(?P<id>\d+)", self._get_artifact),
            ("GET", _REPO + r"/actions/artifacts/(?P<id>\d+)/zip", self._artifact_zip),
            ("GET", _BLOBS + r"artifact-(?P<id>\d+)\.zip", self._get_blob),
        ]
        return [(method, re.compile(regex), handler) for method, regex, handler in table]

    # ------------------------------------------------------------ pagination

    def _paginate(self, req: _Request, items: list[JSON]) -> _Response:
        """One page of ``items`` as GitHub pages it: ``per_page``/``page`` and a Link header."""
        per_page = min(max(_int_param(req.query, "per_page", DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
        page = max(_int_param(req.query, "page", 1), 1)
        last = max(math.ceil(len(items) / per_page), 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if last > 1 or page > 1:
            headers["Link"] = self._link_header(req, page, last)
        return _Response(200, chunk, headers)

    def _paginate_wrapped(self, req: _Request, list_item: str, items: list[JSON]) -> _Response:
        """One page as the Actions and Checks lists wrap it: ``{"total_count", list_item}``."""
        response = self._paginate(req, items)
        response.payload = {"total_count": len(items), list_item: response.payload}
        return response

    def _link_header(self, req: _Request, page: int, last: int) -> str:
        rels: list[tuple[str, int]] = []
        if page > 1:
            rels += [("prev", min(page - 1, last)), ("first", 1)]
        if page < last:
            rels += [("next", page + 1), ("last", last)]
        return ", ".join(f'<{self._page_url(req, n)}>; rel="{rel}"' for rel, n in rels)

    def _page_url(self, req: _Request, page: int) -> str:
        query = {**req.query, "page": str(page)}
        return f"{self._root}{req.raw_path}?{urlencode(query)}"

    # ----------------------------------------------------------- users, repo

    def _get_authenticated_user(self, req: _Request, params: dict[str, str]) -> _Response:
        if not self.user_endpoint:
            raise ApiError(403, "Resource not accessible by integration")
        return _Response(200, self._user(self.bot_login))

    def _get_user(self, req: _Request, params: dict[str, str]) -> _Response:
        return _Response(200, self._user(params["login"]))

    def _get_repo(self, req: _Request, params: dict[str, str]) -> _Response:
        return _Response(200, self._repo_json(self.owner))

    def _permission(self, req: _Request, params: dict[str, str]) -> _Response:
        login = params["login"]
        role = self._roles.get(login, "none")
        user = self._user(login)
        user["permissions"] = _permission_flags(role)
        user["role_name"] = role
        payload = {"permission": LEGACY_PERMISSION[role], "role_name": role, "user": user}
        return _Response(200, payload)

    # ---------------------------------------------------------------- issues

    def _list_issues(self, req: _Request, params: dict[str, str]) -> _Response:
        state = req.query.get("state", "open")
        labels = {name for name in req.query.get("labels", "").split(",") if name}
        creator = req.query.get("creator")
        issues = [
            i
            for i in self._issues.values()
            if state in ("all", i.state) and labels <= set(i.labels) and creator in (None, i.user)
        ]
        issues = _sort(issues, req.query, {"created": "id", "updated": "updated_at"})
        return self._paginate(req, [self._issue_json(i) for i in issues])

    def _create_issue(self, req: _Request, params: dict[str, str]) -> _Response:
        data = req.json()
        title = data.get("title")
        if not isinstance(title, str) or not title:
            raise _invalid("Issue", "title")
        labels = [
            lbl["name"] if isinstance(lbl, dict) else str(lbl) for lbl in data.get("labels", [])
        ]
        number = max(self._issues, default=0) + 1
        issue = self._new_issue(number, title, data.get("body"), self.bot_login, labels, "open")
        return _Response(201, self._issue_json(issue))

    def _get_issue(self, req: _Request, params: dict[str, str]) -> _Response:
        return _Response(200, self._issue_json(self._issue(int(params["number"]))))

    def _issue(self, number: int) -> _Issue:
        if number not in self._issues:
            raise _not_found()
        return self._issues[number]

    def _check_number_free(self, number: int) -> None:
        if number in self._issues:
            raise ValueError(f"#{number} already exists")

    def _new_issue(
        self,
        number: int,
        title: str,
        body: str | None,
        user: str,
        labels: Iterable[str],
        state: str,
    ) -> _Issue:
        stamp = _now()
        issue = _Issue(
            number, next(self._ids), title, body, user, state, list(labels), stamp, stamp
        )
        self._issues[number] = issue
        return issue

    # -------------------------------------------------------------- comments

    def _list_comments(self, req: _Request, params: dict[str, str]) -> _Response:
        number = self._issue(int(params["number"])).number
        since = req.query.get("since", "")
        comments = [c for c in self._comments_on(number) if c.updated_at >= since]
        return self._paginate(req, [self._comment_json(c) for c in comments])

    def _create_comment(self, req: _Request, params: dict[str, str]) -> _Response:
        number = self._issue(int(params["number"])).number
        body = _comment_body(req.json())
        return _Response(201, self._comment_json(self._new_comment(number, body, self.bot_login)))

    def _get_comment(self, req: _Request, params: dict[str, str]) -> _Response:
        return _Response(200, self._comment_json(self._comment(int(params["id"]))))

    def _edit_comment(self, req: _Request, params: dict[str, str]) -> _Response:
        comment = self._comment(int(params["id"]))
        comment.body = _comment_body(req.json())
        comment.updated_at = _now()
        return _Response(200, self._comment_json(comment))

    def _delete_comment(self, req: _Request, params: dict[str, str]) -> _Response:
        comment = self._comment(int(params["id"]))
        del self._comments[comment.id]
        self._reactions = [r for r in self._reactions if r.comment_id != comment.id]
        return _Response(204)

    def _comment(self, comment_id: int) -> _Comment:
        if comment_id not in self._comments:
            raise _not_found()
        return self._comments[comment_id]

    def _comments_on(self, number: int) -> list[_Comment]:
        return sorted(
            (c for c in self._comments.values() if c.issue_number == number), key=lambda c: c.id
        )

    def _new_comment(self, number: int, body: str, user: str) -> _Comment:
        stamp = _now()
        comment = _Comment(next(self._ids), number, body, user, stamp, stamp)
        self._comments[comment.id] = comment
        self._issues[number].updated_at = stamp
        return comment

    # ------------------------------------------------------------- reactions

    def _list_reactions(self, req: _Request, params: dict[str, str]) -> _Response:
        comment = self._comment(int(params["id"]))
        mine = [self._reaction_json(r) for r in self._reactions if r.comment_id == comment.id]
        return self._paginate(req, mine)

    def _create_reaction(self, req: _Request, params: dict[str, str]) -> _Response:
        comment = self._comment(int(params["id"]))
        content = req.json().get("content")
        if content not in REACTIONS:
            raise _invalid("Reaction", "content", "invalid")
        for old in self._reactions:
            if (old.comment_id, old.user, old.content) == (comment.id, self.bot_login, content):
                return _Response(200, self._reaction_json(old))
        reaction = _Reaction(next(self._ids), comment.id, self.bot_login, content, _now())
        self._reactions.append(reaction)
        return _Response(201, self._reaction_json(reaction))

    # ----------------------------------------------------------------- pulls

    def _list_pulls(self, req: _Request, params: dict[str, str]) -> _Response:
        state = req.query.get("state", "open")
        head = req.query.get("head")
        base = req.query.get("base")
        pulls = [
            p
            for p in self._pulls.values()
            if state in ("all", self._issues[p.number].state)
            and head in (None, f"{p.head_owner}:{p.head_ref}", p.head_ref)
            and base in (None, p.base_ref)
        ]
        pulls = _sort(pulls, req.query, {"created": "id"})
        return self._paginate(req, [self._pull_json(p.number) for p in pulls])

    def _get_pull(self, req: _Request, params: dict[str, str]) -> _Response:
        number = int(params["number"])
        if number not in self._pulls:
            raise _not_found()
        return _Response(200, self._pull_json(number))

    # --------------------------------------------------------------- commits

    def _commit(self, sha: str) -> _Commit:
        if sha not in self._commits:
            raise ApiError(422, f"No commit found for SHA: {sha}")
        return self._commits[sha]

    def _get_commit(self, req: _Request, params: dict[str, str]) -> _Response:
        return _Response(200, self._commit_json(self._commit(params["sha"])))

    def _commit_pulls(self, req: _Request, params: dict[str, str]) -> _Response:
        commit = self._commit(params["sha"])
        heads = [p.number for p in self._pulls.values() if p.head_sha == commit.sha]
        numbers = sorted({n for n in (*commit.pulls, *heads) if n in self._pulls}, reverse=True)
        return self._paginate(req, [self._pull_json(n) for n in numbers])

    def _commit_statuses(self, req: _Request, params: dict[str, str]) -> _Response:
        sha = self._commit(params["sha"]).sha
        newest_first = [self._status_json(s) for s in reversed(self._statuses) if s.sha == sha]
        return self._paginate(req, newest_first)

    def _combined_status(self, req: _Request, params: dict[str, str]) -> _Response:
        sha = self._commit(params["sha"]).sha
        latest: dict[str, _Status] = {}
        for status in self._statuses:
            if status.sha == sha:
                latest[status.context] = status
        states = {s.state for s in latest.values()}
        if states & {"error", "failure"}:
            state = "failure"
        elif not states or "pending" in states:
            state = "pending"
        else:
            state = "success"
        commit_url = f"{self._repo_url()}/commits/{sha}"
        payload = {
            "state": state,
            "statuses": [self._status_json(s) for s in latest.values()],
            "sha": sha,
            "total_count": len(latest),
            "repository": self._repo_json(self.owner),
            "commit_url": commit_url,
            "url": f"{commit_url}/status",
        }
        return _Response(200, payload)

    def _create_status(self, req: _Request, params: dict[str, str]) -> _Response:
        sha = self._commit(params["sha"]).sha
        data = req.json()
        if data.get("state") not in STATUS_STATES:
            raise _invalid("Status", "state", "custom")
        description = data.get("description")
        if description is not None and len(description) > MAX_STATUS_DESCRIPTION:
            raise _too_long(
                "Status", "description", "description is too long (maximum is 140 characters)"
            )
        status = _Status(
            id=next(self._ids),
            sha=sha,
            state=data["state"],
            context=data.get("context") or "default",
            description=description,
            target_url=data.get("target_url"),
            creator=self.bot_login,
            created_at=_now(),
        )
        self._statuses.append(status)
        return _Response(201, self._status_json(status))

    # ------------------------------------------------------------ check runs

    def _create_check_run(self, req: _Request, params: dict[str, str]) -> _Response:
        data = req.json()
        for required in ("name", "head_sha"):
            if not isinstance(data.get(required), str):
                raise _invalid("CheckRun", required)
        self._commit(data["head_sha"])
        run_id = next(self._ids)
        self._check_runs[run_id] = {
            "name": data["name"],
            "head_sha": data["head_sha"],
            "status": "queued",
            "conclusion": None,
            "details_url": None,
            "external_id": "",
            "started_at": _now(),
            "completed_at": None,
            "output": {"title": None, "summary": None, "text": None, "annotations_count": 0},
        }
        self._update_check_run(run_id, data)
        return _Response(201, self._check_run_json(run_id))

    def _get_check_run(self, req: _Request, params: dict[str, str]) -> _Response:
        run_id = int(params["id"])
        if run_id not in self._check_runs:
            raise _not_found()
        return _Response(200, self._check_run_json(run_id))

    def _edit_check_run(self, req: _Request, params: dict[str, str]) -> _Response:
        run_id = int(params["id"])
        if run_id not in self._check_runs:
            raise _not_found()
        self._update_check_run(run_id, req.json())
        return _Response(200, self._check_run_json(run_id))

    def _update_check_run(self, run_id: int, data: JSON) -> None:
        status = data.get("status")
        conclusion = data.get("conclusion")
        if status is not None and status not in CHECK_STATUSES:
            raise _invalid("CheckRun", "status", "invalid")
        if conclusion is not None and conclusion not in CHECK_CONCLUSIONS:
            raise _invalid("CheckRun", "conclusion", "invalid")
        if status == "completed" and conclusion is None:
            raise _invalid("CheckRun", "conclusion")
        run = self._check_runs[run_id]
        for key in ("name", "details_url", "external_id", "started_at", "status", "conclusion"):
            if key in data:
                run[key] = data[key]
        if conclusion is not None:
            run["status"] = "completed"
            run["completed_at"] = data.get("completed_at") or _now()
        output = data.get("output") or {}
        for key in ("title", "summary", "text"):
            if key in output:
                run["output"][key] = output[key]
        run["output"]["annotations_count"] += len(output.get("annotations", []))

    # ------------------------------------------------------------- workflows

    def _workflow(self, id_or_file: str) -> _Workflow:
        for workflow in self._workflows.values():
            if id_or_file in (str(workflow.id), workflow.file):
                return workflow
        raise _not_found()

    def _get_workflow(self, req: _Request, params: dict[str, str]) -> _Response:
        return _Response(200, self._workflow_json(self._workflow(params["wf"])))

    def _dispatch(self, req: _Request, params: dict[str, str]) -> _Response:
        workflow = self._workflow(params["wf"])
        data = req.json()
        if not isinstance(data.get("ref"), str):
            raise _invalid("Workflow", "ref")
        inputs = data.get("inputs") or {}
        if not isinstance(inputs, dict):
            raise ApiError(422, "For 'properties/inputs', is not an object.")
        record = {
            "workflow_id": workflow.id,
            "workflow": workflow.file,
            "ref": data["ref"],
            "inputs": inputs,
        }
        self._dispatches.append(record)
        if not data.get("return_run_details"):
            return _Response(204)
        run_id = next(self._ids)
        payload = {
            "workflow_run_id": run_id,
            "run_url": f"{self._repo_url()}/actions/runs/{run_id}",
            "html_url": f"{self._html_url()}/actions/runs/{run_id}",
        }
        return _Response(200, payload)

    # ---------------------------------------------------------- workflow runs

    def _run(self, run_id: int) -> _Run:
        if run_id not in self._runs:
            raise _not_found()
        return self._runs[run_id]

    def _list_runs(self, req: _Request, params: dict[str, str]) -> _Response:
        workflow_id = self._workflow(params["wf"]).id if "wf" in params else None
        query = req.query
        runs = [
            r
            for r in self._runs.values()
            if workflow_id in (None, r.workflow_id)
            and query.get("head_sha") in (None, r.head_sha)
            and query.get("event") in (None, r.event)
            and query.get("branch") in (None, r.head_branch)
            and query.get("status") in (None, r.status, r.conclusion)
        ]
        runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        with_pulls = query.get("exclude_pull_requests", "").lower() not in ("1", "true")
        return self._paginate_wrapped(
            req, "workflow_runs", [self._run_json(r, with_pulls=with_pulls) for r in runs]
        )

    def _get_run(self, req: _Request, params: dict[str, str]) -> _Response:
        return _Response(200, self._run_json(self._run(int(params["run"]))))

    def _rerun(self, req: _Request, params: dict[str, str]) -> _Response:
        run = self._run(int(params["run"]))
        run.run_attempt += 1
        run.status, run.conclusion = "queued", None
        run.updated_at = run.run_started_at = _now()
        self._reruns.append(run.id)
        return _Response(201)

    # -------------------------------------------------------------- artifacts

    def _artifact(self, artifact_id: int) -> _Artifact:
        if artifact_id not in self._artifacts:
            raise _not_found()
        return self._artifacts[artifact_id]

    def _list_artifacts(self, req: _Request, params: dict[str, str]) -> _Response:
        run_id = self._run(int(params["run"])).id if "run" in params else None
        name = req.query.get("name")
        artifacts = [
            a
            for a in sorted(self._artifacts.values(), key=lambda a: a.id, reverse=True)
            if run_id in (None, a.run_id) and name in (None, a.name)
        ]
        return self._paginate_wrapped(req, "artifacts", [self._artifact_json(a) for a in artifacts])

    def _get_artifact(self, req: _Request, params: dict[str, str]) -> _Response:
        return _Response(200, self._artifact_json(self._artifact(int(params["id"]))))

    def _artifact_zip(self, req: _Request, params: dict[str, str]) -> _Response:
        artifact = self._artifact(int(params["id"]))
        if artifact.expired:
            raise ApiError(410, "Artifact has expired")
        return _Response(302, headers={"Location": self._blob_url(artifact)})

    def _get_blob(self, req: _Request, params: dict[str, str]) -> _Response:
        """The zip, as blob storage serves it: the signature is the credential, not a token."""
        artifact = self._artifacts.get(int(params["id"]))
        if artifact is None or artifact.expired:
            return _blob_error(404, "BlobNotFound", "The specified blob does not exist.")
        if req.query.get("sig") != artifact.sig:
            return _blob_error(
                403, "AuthenticationFailed", "Server failed to authenticate the request."
            )
        filename = quote(f"{artifact.name}.zip", safe="")
        headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"}
        return _Response(200, artifact.data, headers, "application/zip")

    def _blob_url(self, artifact: _Artifact) -> str:
        return f"{self._root}{_BLOBS}artifact-{artifact.id}.zip?sig={artifact.sig}"

    # ------------------------------------------------------------- rendering

    def _repo_url(self) -> str:
        return f"{self._root}/repos/{self.owner}/{self.repo}"

    def _html_url(self, owner: str | None = None) -> str:
        return f"{self._root}/{owner or self.owner}/{self.repo}"

    def _stable_id(self, key: str) -> int:
        """The same fresh id for the same key (users, labels, forks) for the fake's lifetime."""
        if key not in self._stable_ids:
            self._stable_ids[key] = next(self._ids)
        return self._stable_ids[key]

    def _user(self, login: str) -> JSON:
        uid = self._stable_id(f"user:{login}")
        url = f"{self._root}/users/{quote(login, safe='')}"
        return {
            "login": login,
            "id": uid,
            "node_id": f"U_fake{uid}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self._root}/{login}",
            "repos_url": f"{url}/repos",
            "type": "Bot" if login.endswith("[bot]") else "User",
            "user_view_type": "public",
            "site_admin": False,
        }

    def _author_association(self, login: str) -> str:
        if login == self.owner:
            return "OWNER"
        if self._roles.get(login, "none") != "none":
            return "COLLABORATOR"
        return "NONE"

    def _repo_json(self, owner: str) -> JSON:
        url = f"{self._root}/repos/{owner}/{self.repo}"
        html = self._html_url(owner)
        repo_id = self._repo_id_of(owner)
        return {
            "id": repo_id,
            "node_id": f"R_fake{repo_id}",
            "name": self.repo,
            "full_name": f"{owner}/{self.repo}",
            "private": False,
            "owner": self._user(owner),
            "html_url": html,
            "description": None,
            "fork": owner != self.owner,
            "url": url,
            "issues_url": f"{url}/issues{{/number}}",
            "pulls_url": f"{url}/pulls{{/number}}",
            "issue_comment_url": f"{url}/issues/comments{{/number}}",
            "statuses_url": f"{url}/statuses/{{sha}}",
            "commits_url": f"{url}/commits{{/sha}}",
            "collaborators_url": f"{url}/collaborators{{/collaborator}}",
            "clone_url": f"{html}.git",
            "created_at": self._created_at,
            "updated_at": self._created_at,
            "pushed_at": self._created_at,
            "default_branch": self.default_branch,
            "visibility": "public",
            "archived": False,
            "disabled": False,
            "has_issues": True,
            "open_issues_count": sum(i.state == "open" for i in self._issues.values()),
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "size": 0,
            "language": "Python",
            "topics": [],
        }

    def _repo_id_of(self, owner: str) -> int:
        return self._repo_id if owner == self.owner else self._stable_id(f"repo:{owner}")

    def _label_json(self, name: str) -> JSON:
        label_id = self._stable_id(f"label:{name}")
        return {
            "id": label_id,
            "node_id": f"LA_fake{label_id}",
            "url": f"{self._repo_url()}/labels/{quote(name, safe='')}",
            "name": name,
            "color": "ededed",
            "default": False,
            "description": None,
        }

    def _issue_json(self, issue: _Issue) -> JSON:
        url = f"{self._repo_url()}/issues/{issue.number}"
        kind = "pull" if issue.is_pull else "issues"
        payload: JSON = {
            "id": issue.id,
            "node_id": f"I_fake{issue.id}",
            "url": url,
            "repository_url": self._repo_url(),
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self._html_url()}/{kind}/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "state_reason": "completed" if issue.state == "closed" else None,
            "title": issue.title,
            "body": issue.body,
            "user": self._user(issue.user),
            "labels": [self._label_json(name) for name in issue.labels],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": len(self._comments_on(issue.number)),
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.updated_at if issue.state == "closed" else None,
            "author_association": self._author_association(issue.user),
            "performed_via_github_app": None,
        }
        if issue.is_pull:
            pull_url = f"{self._repo_url()}/pulls/{issue.number}"
            html = payload["html_url"]
            payload["draft"] = False
            payload["pull_request"] = {
                "url": pull_url,
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": issue.updated_at if self._pulls[issue.number].merged else None,
            }
        return payload

    def _pull_json(self, number: int) -> JSON:
        pull = self._pulls[number]
        issue = self._issues[number]
        url = f"{self._repo_url()}/pulls/{number}"
        html = f"{self._html_url()}/pull/{number}"
        issue_url = f"{self._repo_url()}/issues/{number}"
        statuses_url = f"{self._repo_url()}/statuses/{pull.head_sha}"
        merged_at = issue.updated_at if pull.merged else None
        return {
            "id": pull.id,
            "node_id": f"PR_fake{pull.id}",
            "url": url,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_url,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{self._repo_url()}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": statuses_url,
            "number": number,
            "state": issue.state,
            "locked": False,
            "title": issue.title,
            "user": self._user(issue.user),
            "body": issue.body,
            "labels": [self._label_json(name) for name in issue.labels],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.updated_at if issue.state == "closed" else None,
            "merged_at": merged_at,
            "merge_commit_sha": None,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": self._branch_json(pull.head_owner, pull.head_ref, pull.head_sha),
            "base": self._branch_json(self.owner, pull.base_ref, pull.base_sha),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "issue": {"href": issue_url},
                "comments": {"href": f"{issue_url}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": statuses_url},
            },
            "author_association": self._author_association(issue.user),
            "auto_merge": None,
            "draft": False,
            "merged": pull.merged,
            "mergeable": None,
            "mergeable_state": "unknown",
            "merged_by": None,
            "comments": len(self._comments_on(number)),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": 1,
            "additions": 0,
            "deletions": 0,
            "changed_files": 0,
        }

    def _branch_json(self, owner: str, ref: str, sha: str) -> JSON:
        return {
            "label": f"{owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self._user(owner),
            "repo": self._repo_json(owner),
        }

    def _comment_json(self, comment: _Comment) -> JSON:
        url = f"{self._repo_url()}/issues/comments/{comment.id}"
        kind = "pull" if self._issues[comment.issue_number].is_pull else "issues"
        html = f"{self._html_url()}/{kind}/{comment.issue_number}#issuecomment-{comment.id}"
        return {
            "id": comment.id,
            "node_id": f"IC_fake{comment.id}",
            "url": url,
            "html_url": html,
            "issue_url": f"{self._repo_url()}/issues/{comment.issue_number}",
            "body": comment.body,
            "user": self._user(comment.user),
            "created_at": comment.created_at,
            "updated_at": comment.updated_at,
            "author_association": self._author_association(comment.user),
            "performed_via_github_app": None,
            "reactions": self._reaction_summary(comment.id, f"{url}/reactions"),
        }

    def _reaction_summary(self, comment_id: int, url: str) -> JSON:
        mine = [r.content for r in self._reactions if r.comment_id == comment_id]
        summary: JSON = {"url": url, "total_count": len(mine)}
        summary.update({content: mine.count(content) for content in REACTIONS})
        return summary

    def _reaction_json(self, reaction: _Reaction) -> JSON:
        return {
            "id": reaction.id,
            "node_id": f"REA_fake{reaction.id}",
            "user": self._user(reaction.user),
            "content": reaction.content,
            "created_at": reaction.created_at,
        }

    def _commit_json(self, commit: _Commit) -> JSON:
        url = f"{self._repo_url()}/commits/{commit.sha}"
        person = {
            "name": commit.author,
            "email": f"{commit.author}@users.noreply.github.com",
            "date": commit.date,
        }
        return {
            "sha": commit.sha,
            "node_id": f"C_fake{commit.sha[:12]}",
            "url": url,
            "html_url": f"{self._html_url()}/commit/{commit.sha}",
            "comments_url": f"{url}/comments",
            "commit": {
                "url": f"{self._repo_url()}/git/commits/{commit.sha}",
                "author": person,
                "committer": dict(person),
                "message": commit.message,
                "tree": {"sha": _BLANK_SHA, "url": f"{self._repo_url()}/git/trees/{_BLANK_SHA}"},
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "author": self._user(commit.author),
            "committer": self._user(commit.author),
            "parents": [],
            "stats": {"total": 0, "additions": 0, "deletions": 0},
            "files": [],
        }

    def _status_json(self, status: _Status) -> JSON:
        return {
            "url": f"{self._repo_url()}/statuses/{status.sha}",
            "avatar_url": self._user(status.creator)["avatar_url"],
            "id": status.id,
            "node_id": f"SC_fake{status.id}",
            "state": status.state,
            "description": status.description,
            "target_url": status.target_url,
            "context": status.context,
            "created_at": status.created_at,
            "updated_at": status.created_at,
            "creator": self._user(status.creator),
        }

    def _commit_check_runs(self, req: _Request, params: dict[str, str]) -> _Response:
        sha = self._commit(params["sha"]).sha
        runs = [
            self._check_run_json(i) for i, r in self._check_runs.items() if r["head_sha"] == sha
        ]
        return self._paginate_wrapped(req, "check_runs", runs)

    def _check_run_json(self, run_id: int) -> JSON:
        run = self._check_runs[run_id]
        url = f"{self._repo_url()}/check-runs/{run_id}"
        output = dict(run["output"])
        output["annotations_url"] = f"{url}/annotations"
        return {
            "id": run_id,
            "node_id": f"CR_fake{run_id}",
            "head_sha": run["head_sha"],
            "external_id": run["external_id"],
            "url": url,
            "html_url": f"{self._html_url()}/runs/{run_id}",
            "details_url": run["details_url"],
            "status": run["status"],
            "conclusion": run["conclusion"],
            "started_at": run["started_at"],
            "completed_at": run["completed_at"],
            "output": output,
            "name": run["name"],
            "check_suite": {"id": run_id + 1},
            "app": {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"},
            "pull_requests": [],
        }

    def _workflow_json(self, workflow: _Workflow) -> JSON:
        path = f".github/workflows/{workflow.file}"
        return {
            "id": workflow.id,
            "node_id": f"W_fake{workflow.id}",
            "name": workflow.name,
            "path": path,
            "state": "active",
            "created_at": workflow.created_at,
            "updated_at": workflow.created_at,
            "url": f"{self._repo_url()}/actions/workflows/{workflow.id}",
            "html_url": f"{self._html_url()}/blob/{self.default_branch}/{path}",
            "badge_url": f"{self._html_url()}/workflows/{quote(workflow.name)}/badge.svg",
        }

    def _run_json(self, run: _Run, *, with_pulls: bool = True) -> JSON:
        workflow = self._workflows[run.workflow_id]
        url = f"{self._repo_url()}/actions/runs/{run.id}"
        commit = self._commits.get(run.head_sha)
        message = commit.message if commit is not None else workflow.name
        titles = [self._issues[n].title for n in run.pulls if n in self._pulls]
        person = {"name": run.head_owner, "email": f"{run.head_owner}@users.noreply.github.com"}
        previous = f"{url}/attempts/{run.run_attempt - 1}" if run.run_attempt > 1 else None
        suite_id = self._stable_id(f"check-suite:{run.id}")
        return {
            "id": run.id,
            "name": workflow.name,
            "node_id": f"WFR_fake{run.id}",
            "check_suite_id": suite_id,
            "check_suite_node_id": f"CS_fake{suite_id}",
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": f".github/workflows/{workflow.file}",
            "display_title": titles[0] if titles else message.splitlines()[0],
            "run_number": run.run_number,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": workflow.id,
            "url": url,
            "html_url": f"{self._html_url()}/actions/runs/{run.id}",
            "pull_requests": [self._run_pull_json(run, n) for n in run.pulls] if with_pulls else [],
            "created_at": run.created_at,
            "updated_at": run.updated_at,
            "actor": self._user(run.head_owner),
            "triggering_actor": self._user(run.head_owner),
            "run_attempt": run.run_attempt,
            "referenced_workflows": [],
            "run_started_at": run.run_started_at,
            "jobs_url": f"{url}/jobs",
            "logs_url": f"{url}/logs",
            "check_suite_url": f"{self._repo_url()}/check-suites/{suite_id}",
            "artifacts_url": f"{url}/artifacts",
            "cancel_url": f"{url}/cancel",
            "rerun_url": f"{url}/rerun",
            "previous_attempt_url": previous,
            "workflow_url": f"{self._repo_url()}/actions/workflows/{workflow.id}",
            "head_commit": {
                "id": run.head_sha,
                "tree_id": _BLANK_SHA,
                "message": message,
                "timestamp": commit.date if commit is not None else run.created_at,
                "author": person,
                "committer": dict(person),
            },
            "repository": self._repo_json(self.owner),
            "head_repository": self._repo_json(run.head_owner),
        }

    def _run_pull_json(self, run: _Run, number: int) -> JSON:
        """A pull as a run lists it: number, url and the two refs (known pulls, else the run's)."""
        pull = self._pulls.get(number)
        head = (pull.head_ref, pull.head_sha) if pull else (run.head_branch, run.head_sha)
        base = (pull.base_ref, pull.base_sha) if pull else (self.default_branch, _BLANK_SHA)
        repo = {"id": self._repo_id, "url": self._repo_url(), "name": self.repo}
        return {
            "url": f"{self._repo_url()}/pulls/{number}",
            "id": pull.id if pull else self._stable_id(f"pull:{number}"),
            "number": number,
            "head": {"ref": head[0], "sha": head[1], "repo": dict(repo)},
            "base": {"ref": base[0], "sha": base[1], "repo": dict(repo)},
        }

    def _artifact_json(self, artifact: _Artifact) -> JSON:
        run = self._runs[artifact.run_id]
        url = f"{self._repo_url()}/actions/artifacts/{artifact.id}"
        return {
            "id": artifact.id,
            "node_id": f"AR_fake{artifact.id}",
            "name": artifact.name,
            "size_in_bytes": artifact.size_in_bytes,
            "url": url,
            "archive_download_url": f"{url}/zip",
            "expired": artifact.expired,
            "digest": f"sha256:{hashlib.sha256(artifact.data).hexdigest()}",
            "created_at": artifact.created_at,
            "expires_at": artifact.expires_at,
            "updated_at": artifact.created_at,
            "workflow_run": {
                "id": run.id,
                "repository_id": self._repo_id,
                "head_repository_id": self._repo_id_of(run.head_owner),
                "head_branch": run.head_branch,
                "head_sha": run.head_sha,
            },
        }


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    """An integer query parameter; GitHub ignores ones that do not parse."""
    try:
        return int(query[name])
    except (KeyError, ValueError):
        return default


def _sort(items: list[Any], query: Mapping[str, str], keys: Mapping[str, str]) -> list[Any]:
    """Sort by ``sort`` (an attribute named in ``keys``), newest first unless ``direction=asc``."""
    attr = keys.get(query.get("sort", "created"), "id")
    descending = query.get("direction", "desc") != "asc"
    return sorted(items, key=lambda item: (getattr(item, attr), item.id), reverse=descending)


def _zip(files: Mapping[str, bytes]) -> bytes:
    """A deflated zip of ``files``, member names exactly as given, fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            member = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            archive.writestr(member, data)
    return buffer.getvalue()


def _unzipped_size(data: bytes) -> int:
    """The members' total uncompressed size (what GitHub reports); the length for a non-zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile:
        return len(data)


def _blob_error(status: int, code: str, message: str) -> _Response:
    """An error as blob storage sends it (XML, not GitHub's JSON)."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return _Response(status, body.encode(), content_type="application/xml")


def _comment_body(data: JSON) -> str:
    body = data.get("body")
    if not isinstance(body, str) or not body:
        raise _invalid("IssueComment", "body")
    if len(body) > MAX_COMMENT_BODY:
        raise _too_long("IssueComment", "data", "Body is too long (maximum is 65536 characters)")
    return body


def _permission_flags(role: str) -> dict[str, bool]:
    order = ["read", "triage", "write", "maintain", "admin"]
    rank = order.index(role) if role in order else -1
    flags = ("pull", "triage", "push", "maintain", "admin")
    return {flag: rank >= i for i, flag in enumerate(flags)}


class _Server(ThreadingHTTPServer):
    """Threads per request, joined on close, so :meth:`FakeGitHub.stop` leaves nothing behind."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", fake.port), _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    """Hands each request to the fake; one request per connection (``Connection: close``)."""

    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""
    timeout = 10

    def version_string(self) -> str:
        """The ``Server`` header GitHub sends."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: no per-request lines on stderr."""

    def do_GET(self) -> None:
        """Serve GET."""
        self._serve()

    def do_POST(self) -> None:
        """Serve POST."""
        self._serve()

    def do_PATCH(self) -> None:
        """Serve PATCH."""
        self._serve()

    def do_PUT(self) -> None:
        """Serve PUT."""
        self._serve()

    def do_DELETE(self) -> None:
        """Serve DELETE."""
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        server = self.server
        assert isinstance(server, _Server)
        response = server.fake._handle_raw(
            self.command, self.path, raw, self.headers.get("Authorization")
        )
        data, content_type = response.encode()
        self.send_response(response.status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def main(argv: list[str] | None = None) -> int:
    """Serve a fake repository for trying ``ttfb gh`` locally; prints every call on exit.

    ``python -m tests.fakegh --port 8765 --pull 5:<head sha> --user alice:write``
    """
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m tests.fakegh", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--repository", default="octo/lab", help="owner/name")
    parser.add_argument(
        "--pull",
        action="append",
        default=[],
        metavar="N:SHA",
        help="an open pull request (repeatable)",
    )
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="LOGIN:PERMISSION",
        help="a collaborator (repeatable)",
    )
    parser.add_argument("--workflow", action="append", default=["ttfb-pr.yml"])
    args = parser.parse_args(argv)
    owner, _, repo = args.repository.partition("/")
    fake = FakeGitHub(owner=owner, repo=repo, port=args.port)
    for spec in args.pull:
        number, _, sha = spec.partition(":")
        fake.add_pull(int(number), head_sha=sha or "0" * 40)
    for spec in args.user:
        login, _, permission = spec.partition(":")
        fake.add_user(login, permission=permission or "read")
    for i, workflow in enumerate(args.workflow, start=1):
        fake.add_workflow(workflow, id=i)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with fake:
        print(
            f"GITHUB_API_URL={fake.url}  (repository {args.repository}; Ctrl-C to stop)", flush=True
        )
        stop.wait()
        for call in fake.calls:
            print(f"{call.status} {call.method} {call.path} {json.dumps(call.body)[:200]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
