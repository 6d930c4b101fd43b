"""The TTFB probe engine, injected into the measured process by ``sitecustomize``.

Standard library only, and nothing here runs at import: ``install()`` activates it.

What it records, in seconds since the parent stamped the submit time (``TTFB_LAB_T0_NS``,
``CLOCK_MONOTONIC``, which is system-wide on Linux and macOS):

- ``interpreter_ready``: when ``site`` ran this module;
- ``import_torch``: when ``import torch`` finished (an import-system hook on the ``torch``
  loader; the forward hook is only registered then, because registering it while torch is
  still initialising fails);
- ``cuda_init``: when ``torch.cuda._lazy_init`` first returned;
- ``optimizer_created``: when the first ``torch.optim.Optimizer.__init__`` returned (it lazily
  imports ``torch._dynamo``, often the largest cost after ``import torch``);
- ``dataloader_iter``: when the first DataLoader iterator was created (worker start-up follows);
- ``first_dataloader_batch``: the first item a DataLoader iterator yielded while grad was
  enabled (an evaluation loader under ``no_grad`` is not the training loader);
- ``first_forward``: the first *training* forward: the first top-level module call (seen by
  torch's global forward pre-hook) made in training mode with grad enabled. Under the
  ``forward`` detection mode, the first top-level call of any kind;
- ``first_eval_forward``: the first top-level call before that one made in eval mode or with
  grad disabled (``no_grad``, ``inference_mode``): an evaluation at step 0, Lightning's sanity
  check, a frozen encoder precomputing features. ``eval_forwards`` in the report counts them;
- named marks from user code (``ttfb_lab.mark``) and ``first_batch``.

"Top-level" means not nested in another module's call: a post-hook registered with
``always_call`` keeps the depth, so one evaluation batch is one forward however many
submodules it calls. Both hooks are removed at the first training forward.

First batch, by detection mode (``TTFB_LAB_DETECT``): ``auto`` takes whichever of an explicit
``ttfb_lab.first_batch()`` or the first training forward comes first; ``mark``, ``forward``
and ``dataloader`` take only that event (for ``dataloader``, the first batch a loader yields
while grad is enabled); ``startup`` takes the first of the mark, any forward (evaluation
included) and a loader's first batch: the end of start-up, where instruction counts stop.
If the process exits without its trigger, the report falls back to the best event seen
(mark > forward > dataloader > eval forward) and says so.

Only one process reports: the first eligible one to claim ``<out>.claim`` with ``O_EXCL``.
DataLoader workers and any ``multiprocessing`` child (fork or spawn) are never eligible, nor is
a process forked from the one that installed the probe, nor a distributed rank other than 0
(``RANK``, else ``SLURM_PROCID``, ``OMPI_COMM_WORLD_RANK`` or ``PMI_RANK``), so under torchrun,
srun or mpirun the job's first batch is rank 0's.
"""

from __future__ import annotations

import os
import sys
import time

# Kept off the start-up path: ``typing`` and ``json`` cost milliseconds to import, and every
# millisecond here is added to the TTFB being measured.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

VERSION = 1

ENV_OUT = "TTFB_LAB_OUT"
ENV_T0 = "TTFB_LAB_T0_NS"
ENV_STOP = "TTFB_LAB_STOP"
ENV_DETECT = "TTFB_LAB_DETECT"
ENV_ROOT = "TTFB_LAB_ROOT"
ENV_DETERMINISTIC = "TTFB_LAB_DETERMINISTIC"
ENV_SELF_TIME = "TTFB_LAB_SELF_TIME"  # "1": account the time spent in probe code (benchmarks)
ENV_OUTER_RANKS = "TTFB_LAB_OUTER_RANKS"  # the runner's own rank variables, NAME=VALUE,…
# A profiling sample: the directory where the reporting process writes its pid ("pid") and,
# with the in-process sampler (ENV_PROFILE_SAMPLER: its interval in ms), its stacks.
ENV_PROFILE = "TTFB_LAB_PROFILE"
ENV_PROFILE_SAMPLER = "TTFB_LAB_PROFILE_SAMPLER"
# An outside sampler that leads the sample's process group (its command name): interrupted
# once the first batch is reported, so it writes its stacks though a launcher runs on.
ENV_PROFILE_STOP = "TTFB_LAB_PROFILE_STOP"

_TRIGGERS = {  # detect mode -> the phases that count as the first batch
    "auto": ("first_batch", "first_forward"),
    "mark": ("first_batch",),
    "forward": ("first_forward",),
    "dataloader": ("first_dataloader_batch",),
    # the end of start-up: the first forward of any kind, a loader's first batch, or the mark
    # (what an instruction count covers; tensor work after it is wall time's to see)
    "startup": ("first_batch", "first_forward", "first_eval_forward", "first_dataloader_batch"),
}
_FALLBACK_ORDER = ("first_batch", "first_forward", "first_dataloader_batch", "first_eval_forward")
_DETECTED_BY = {
    "first_batch": "mark",
    "first_forward": "forward",
    "first_dataloader_batch": "dataloader",
    "first_eval_forward": "eval_forward",
}


_MP_CHILD_MARKERS = (
    "multiprocessing.spawn",
    "multiprocessing.forkserver",
    "--multiprocessing-fork",
)


def _clock_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


class _State:
    def __init__(self, out: str, t0_ns: int, stop: str, detect: str, root: str) -> None:
        self.out = out
        self.t0_ns = t0_ns
        self.stop_mode, _, k = stop.partition(":")
        self.stop_steps = int(k) if self.stop_mode == "steps" and k else 0
        # "mark:NAME": the first batch is the named mark (a custom milestone, e.g. a config check)
        self.triggers = (
            (detect[5:],)
            if detect.startswith("mark:") and len(detect) > 5
            else _TRIGGERS.get(detect, _TRIGGERS["auto"])
        )
        self.detect = detect if detect in _TRIGGERS or detect.startswith("mark:") else "auto"
        self.root = os.path.join(os.path.realpath(root), "") if root else ""
        self.pid = os.getpid()
        self.phases: dict[str, float] = {}
        # at each candidate first batch: CPU seconds, peak RSS, garbage collection so far
        self.snapshots: dict[str, tuple[float | None, float | None, tuple[float, int, int]]] = {}
        self.opened: set[str] = set()
        self.reported = False  # this process wrote the report
        self.finished = False  # first batch handled; stop recording opened files
        self.steps_done = 0
        self.notes: list[str] = []
        self.forward_handles: list[Any] = []
        self.depth = 0  # nesting of module calls in progress (top level is 0)
        self.eval_forwards = 0  # top-level eval / no-grad forwards before the training one
        self.in_fetch = 0  # >0 while a DataLoader is producing a batch in this process
        self.self_time = os.environ.get(ENV_SELF_TIME) == "1"
        # Time spent in probe code before the first batch, by component (when self_time).
        self.self_ns: dict[str, int] = {}
        self.audit_events = 0
        # A multiprocessing child (spawn or forkserver) runs this module too; it never reports.
        argv = " ".join(getattr(sys, "orig_argv", sys.argv))
        self.mp_child = any(m in argv for m in _MP_CHILD_MARKERS)
        # A launcher sets the rank before the process starts: read once, not on every forward.
        self.other_rank = _rank() not in ("", "0")

    def now(self) -> float:
        return (_clock_ns() - self.t0_ns) / 1e9


_state: _State | None = None


# --- eligibility ------------------------------------------------------------------------


# Where launchers put a process's global rank: torchrun (and torch.distributed launchers),
# Slurm's srun, Open MPI, MPICH/Intel MPI. The first one set wins: torchrun under srun sets
# RANK per worker, while SLURM_PROCID is only the node's task.
RANK_VARS = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK")


def _rank() -> str:
    """This process's rank as its job's launcher set it. A variable still holding the value
    the runner itself had is inherited, not set by the job (ttfb run as task 1 of an srun
    step, say), and does not count."""
    outer = dict(
        item.partition("=")[::2]
        for item in os.environ.get(ENV_OUTER_RANKS, "").split(",")
        if "=" in item
    )
    for var in RANK_VARS:
        value = os.environ.get(var)
        if value is not None and outer.get(var) != value:
            return value.strip()
    return ""


def _eligible() -> bool:
    """Whether this process may report: not forked from the installer, not a worker, and
    not a distributed rank other than 0."""
    st = _state
    if st is None or st.mp_child or st.other_rank or os.getpid() != st.pid:
        return False
    mp = sys.modules.get("multiprocessing.process")
    if mp is not None and getattr(mp, "_parent_process", None) is not None:
        return False
    worker = sys.modules.get("torch.utils.data._utils.worker")
    return not (worker is not None and getattr(worker, "_worker_info", None) is not None)


def _claim(out: str) -> bool:
    try:
        fd = os.open(out + ".claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    except OSError:
        return False
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return True


# --- resource snapshots --------------------------------------------------------------------

_NO_SNAPSHOT = (None, None, (None, None, None))


class _GcTime:
    """The time the cyclic garbage collector took in this process (``gc.callbacks``): a few
    hundred collections before a torch job's first batch, about a microsecond of this each."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0
        self.full = 0  # collections of the oldest generation: the long ones
        self.started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        elif self.started:
            self.total += time.perf_counter() - self.started
            self.count += 1
            self.full += info.get("generation") == 2
            self.started = 0.0

    def taken(self) -> tuple[float, int, int]:
        """(seconds, collections, full collections) so far."""
        return self.total, self.count, self.full


_gc_time = _GcTime()


def _proc_children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids.extend(int(x) for x in f.read().split())
        except (OSError, ValueError):
            continue
    return kids


def _proc_cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0
    fields = stat[stat.rfind(")") + 2 :].split()
    # utime, stime, cutime, cstime are fields 14-17 of stat(5); fields[0] is field 3.
    return sum(int(x) for x in fields[11:15])


def cpu_seconds() -> float:
    """User+system CPU of this process, its reaped children, and its live descendants.

    ``os.times`` covers this process and waited-for children; DataLoader workers are still
    alive at the first batch, so on Linux their CPU is read from ``/proc/<pid>/stat``.
    """
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    if sys.platform.startswith("linux"):
        ticks = 0
        stack = _proc_children(os.getpid())
        seen: set[int] = set()
        while stack:
            pid = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            ticks += _proc_cpu_ticks(pid)
            stack.extend(_proc_children(pid))
        total += ticks / os.sysconf("SC_CLK_TCK")
    return total


def peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


# --- events --------------------------------------------------------------------------------


def record(name: str) -> None:
    """Record phase ``name`` (first occurrence wins) and stop if it is this run's trigger."""
    st = _state
    if st is None or st.finished or name in st.phases or not _eligible():
        return
    st.phases[name] = st.now()
    if name in _FALLBACK_ORDER:
        started = time.perf_counter_ns()
        st.snapshots[name] = (cpu_seconds(), peak_rss_mb(), _gc_time.taken())
        if st.self_time:
            _add(st, "snapshots", time.perf_counter_ns() - started)
    if name in st.triggers:
        _first_batch(name)


def _first_batch(trigger: str) -> None:
    st = _state
    assert st is not None
    st.finished = True
    st.phases.setdefault("first_batch", st.phases[trigger])
    if trigger not in _FALLBACK_ORDER:
        st.snapshots[trigger] = (cpu_seconds(), peak_rss_mb(), _gc_time.taken())
    if not _claim(st.out):
        return
    st.reported = True
    _profile_done()
    _write_report(trigger, at_exit=False)
    _stop_profiler()
    if st.stop_mode == "first_batch":
        _exit_now()


def _on_step() -> None:
    st = _state
    if st is None or not st.reported or st.stop_mode != "steps":
        return
    st.steps_done += 1
    st.phases[f"step_{st.steps_done}"] = st.now()
    if st.steps_done >= st.stop_steps:
        _write_report(None, at_exit=False)
        _exit_now()


def _exit_now() -> None:
    import contextlib

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def _at_exit() -> None:
    st = _state
    if st is None or st.reported or not _eligible():
        return
    trigger = next((n for n in _FALLBACK_ORDER if n in st.phases), None)
    if trigger is not None:
        st.notes.append(
            f"the {st.detect!r} trigger never fired; first batch taken from {trigger} at exit"
        )
        st.phases.setdefault("first_batch", st.phases[trigger])
    if _claim(st.out):
        st.reported = True
        _profile_done()
        _write_report(trigger, at_exit=True)
        _stop_profiler()


# --- report --------------------------------------------------------------------------------


_NOT_REPO_MARKERS = ("/site-packages/", "/dist-packages/", "/__pycache__/", "/.git/")


def _repo_relative(paths: list[str] | set[str], root: str) -> list[str]:
    """The paths under ``root`` that belong to the repository, relative to it.

    Anything inside the interpreter's prefixes (a ``.venv`` in the repository, say),
    site-packages, ``__pycache__`` or ``.git`` is left out: selection maps *source* files.
    """
    excluded = tuple(
        os.path.join(os.path.realpath(p), "")
        for p in {sys.prefix, sys.exec_prefix, sys.base_prefix}
    )
    out = set()
    for path in paths:
        if not path.startswith(root) or path.startswith(excluded):
            continue
        if any(marker in path for marker in _NOT_REPO_MARKERS):
            continue
        out.add(path[len(root) :])
    return sorted(out)


def _loaded_module_files() -> list[str]:
    """Absolute paths of every loaded module's file (string work only: no per-file syscalls)."""
    files = []
    cwd = os.getcwd()
    for mod in list(sys.modules.values()):
        path = getattr(mod, "__file__", None)
        if isinstance(path, str):
            files.append(os.path.normpath(path if os.path.isabs(path) else os.path.join(cwd, path)))
    return files


def _write_report(trigger: str | None, *, at_exit: bool) -> None:
    st = _state
    assert st is not None
    cpu, rss, (gc_s, gc_count, gc_full) = (
        st.snapshots.get(trigger, _NO_SNAPSHOT) if trigger else _NO_SNAPSHOT
    )
    torch = sys.modules.get("torch")
    report = {
        "version": VERSION,
        "pid": os.getpid(),
        "detected_by": _DETECTED_BY.get(trigger, f"mark:{trigger}") if trigger else None,
        "at_exit": at_exit,
        "first_batch_s": st.phases.get("first_batch"),
        "cpu_s": cpu,
        "peak_rss_mb": rss,
        "gc_s": gc_s,
        "gc_collections": gc_count,
        "gc_full": gc_full,
        "phases": dict(sorted(st.phases.items(), key=lambda kv: kv[1])),
        "steps": st.steps_done,
        "eval_forwards": st.eval_forwards,
        "imported_files": _repo_relative(_loaded_module_files(), st.root) if st.root else [],
        "opened_files": _repo_relative(st.opened, st.root) if st.root else [],
        "python": sys.version.split()[0],
        "torch": getattr(torch, "__version__", None) if torch else None,
        "notes": st.notes,
        **({"gc_imports_s": _gc_imports.stop()} if _gc_imports is not None else {}),
        **_self_time_fields(st),
    }
    import json

    tmp = f"{st.out}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(report, f)
    os.replace(tmp, st.out)


# --- hooks into the import system and torch --------------------------------------------------


def _audit(event: str, args: tuple) -> None:
    if event != "open":
        return
    st = _state
    if st is None or st.finished or not st.root:
        return
    path = args[0]
    if isinstance(path, str):
        if not os.path.isabs(path):
            path = os.path.join(os.getcwd(), path)
        if path.startswith(st.root):
            st.opened.add(os.path.normpath(path))


class _TorchFinder:
    """A meta-path finder that only wraps ``torch``'s loader to learn when its import ends."""

    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        original = spec.loader.exec_module

        def exec_module(module):  # type: ignore[no-untyped-def]
            original(module)
            started = time.perf_counter_ns()
            try:
                _torch_ready(module)
            except Exception as exc:  # the probe must never break the job
                if _state is not None:
                    _state.notes.append(f"torch hooks not installed: {exc!r}")
            if _state is not None and _state.self_time:
                _add(_state, "torch_hooks", time.perf_counter_ns() - started)

        spec.loader.exec_module = exec_module
        return spec


def _torch_ready(torch) -> None:  # type: ignore[no-untyped-def]
    record("import_torch")
    st = _state
    assert st is not None
    if os.environ.get(ENV_DETERMINISTIC) == "1":
        # The C-level switch eager ops consult. The public torch.use_deterministic_algorithms
        # also imports torch._inductor.config, which pulls in torch._dynamo (~1.5 s): that would
        # add a cost production may not have and move the optimizer's lazy import elsewhere.
        setter = getattr(getattr(torch, "_C", None), "_set_deterministic_algorithms", None)
        if setter is not None:
            setter(True, warn_only=True)
        else:
            st.notes.append("deterministic algorithms not set: no torch._C switch here")

    _install_forward_hooks(torch, st)

    # Typed Any on purpose: the probe must not depend on torch's annotations.
    modules: Any = sys.modules
    base = modules["torch.utils.data.dataloader"]._BaseDataLoaderIter
    original_next = base.__next__
    grad_enabled = torch.is_grad_enabled

    def __next__(self):  # type: ignore[no-untyped-def]
        st.in_fetch += 1
        try:
            item = original_next(self)
        finally:
            st.in_fetch -= 1
        if _eligible() and grad_enabled():
            base.__next__ = original_next
            record("first_dataloader_batch")
        return item

    base.__next__ = __next__

    optimizer_cls = modules["torch.optim.optimizer"].Optimizer
    optimizer_init = optimizer_cls.__init__

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        optimizer_init(self, *args, **kwargs)
        if _eligible():
            optimizer_cls.__init__ = optimizer_init
            record("optimizer_created")

    optimizer_cls.__init__ = __init__

    loader_cls = modules["torch.utils.data.dataloader"].DataLoader
    loader_iter = loader_cls.__iter__

    def __iter__(self):  # type: ignore[no-untyped-def]
        if _eligible():
            loader_cls.__iter__ = loader_iter
            record("dataloader_iter")
        return loader_iter(self)

    loader_cls.__iter__ = __iter__

    cuda: Any = getattr(torch, "cuda", None)
    lazy_init = getattr(cuda, "_lazy_init", None)
    if lazy_init is not None:

        def _lazy_init():  # type: ignore[no-untyped-def]
            lazy_init()
            if _eligible():
                cuda._lazy_init = lazy_init
                record("cuda_init")

        cuda._lazy_init = _lazy_init

    if st.stop_mode == "steps":
        modules["torch.optim.optimizer"].register_optimizer_step_post_hook(
            lambda opt, args, kwargs: _on_step()
        )


def _install_forward_hooks(torch, st: _State) -> None:  # type: ignore[no-untyped-def]
    """Global module hooks that find the first training forward and count eval ones before it."""
    nn_module: Any = sys.modules["torch.nn.modules.module"]
    grad_enabled = torch.is_grad_enabled
    any_forward = st.detect == "forward"

    def pre_hook(module, args):  # type: ignore[no-untyped-def]
        # A module called while a DataLoader builds a batch is a transform, not the model.
        if st.finished:  # an explicit first_batch() came first: nothing left to find
            _remove_forward_hooks(st)
            return None
        if st.in_fetch or not _eligible():
            return None
        st.depth += 1
        if st.depth > 1:
            return None
        if any_forward or (module.training and grad_enabled()):
            _remove_forward_hooks(st)
            record("first_forward")
        else:
            st.eval_forwards += 1
            record("first_eval_forward")
        return None

    def post_hook(module, args, output):  # type: ignore[no-untyped-def]
        if not st.in_fetch and _eligible() and st.depth > 0:
            st.depth -= 1
        return None

    st.forward_handles.append(nn_module.register_module_forward_pre_hook(pre_hook))
    try:
        st.forward_handles.append(
            nn_module.register_module_forward_hook(post_hook, always_call=True)
        )
    except TypeError:  # torch < 2.1: a forward that raises leaves the depth one too high
        st.forward_handles.append(nn_module.register_module_forward_hook(post_hook))


def _remove_forward_hooks(st: _State) -> None:
    for handle in st.forward_handles:
        handle.remove()
    st.forward_handles.clear()


def mark(name: str) -> None:
    """Record a named phase from user code; ``first_batch`` is the explicit first batch."""
    record(str(name))


def active() -> bool:
    return _state is not None


def install() -> None:
    """Activate the probe if the runner asked for it (``TTFB_LAB_OUT`` is set)."""
    global _state
    out = os.environ.get(ENV_OUT)
    t0 = os.environ.get(ENV_T0)
    if _state is not None or not out or not t0:
        return
    _state = _State(
        out=out,
        t0_ns=int(t0),
        stop=os.environ.get(ENV_STOP, "first_batch"),
        detect=os.environ.get(ENV_DETECT, "auto"),
        root=os.environ.get(ENV_ROOT, ""),
    )
    _state.phases["interpreter_ready"] = _state.now()
    import gc

    gc.callbacks.append(_gc_time)
    _start_sampler(_state)
    if "torch" in sys.modules:  # pragma: no cover - cannot happen from sitecustomize
        _torch_ready(sys.modules["torch"])
    else:
        sys.meta_path.insert(0, _TorchFinder())
    sys.addaudithook(_counting_audit if _state.self_time else _audit)
    import atexit

    atexit.register(_at_exit)


def account(ns: int) -> None:
    """Add ``ns`` of probe start-up work (measured by ``sitecustomize``) to the self-time."""
    if _state is not None and _state.self_time:
        _add(_state, "startup", ns)


def _add(st: _State, component: str, ns: int) -> None:
    st.self_ns[component] = st.self_ns.get(component, 0) + ns


def _counting_audit(event: str, args: tuple) -> None:
    _audit(event, args)
    st = _state
    if st is not None and not st.finished:
        st.audit_events += 1


def _self_time_fields(st: _State) -> dict[str, object]:
    """The self-time report: measured components, plus audit events x their cost per call.

    The per-call cost is an upper bound: 20,000 ``sys._getframe()`` calls (each raises an audit
    event that reaches our hook), timed after the first batch, divided by their number.
    """
    if not st.self_time:
        return {"probe_self_s": None}
    calls = 20_000
    started = time.perf_counter_ns()
    for _ in range(calls):
        sys._getframe()
    per_call = (time.perf_counter_ns() - started) / calls
    parts = dict(st.self_ns)
    parts["audit_hook"] = int(st.audit_events * per_call)
    return {
        "probe_self_s": sum(parts.values()) / 1e9,
        "probe_self_breakdown_s": {k: v / 1e9 for k, v in parts.items()},
        "probe_audit_events": st.audit_events,
    }


# --- profiling samples -----------------------------------------------------------------------

_sampler = None  # the in-process sampler of a profiling sample (``_ttfb_sampler``), if asked
_gc_pauses = None  # the garbage collections of a profiling sample, by the stack they stopped
_gc_imports = None  # those of an -X importtime sample, by the module being imported


def _start_sampler(st: _State) -> None:
    """In a profiling sample, in the job's own process: time the garbage collections, and
    start the in-process sampler when the runner asked for it. In an ``-X importtime``
    sample: time the collections by the module being imported."""
    global _sampler, _gc_pauses, _gc_imports
    profiling = bool(os.environ.get(ENV_PROFILE))
    importtime = os.environ.get("PYTHONPROFILEIMPORTTIME") or "importtime" in sys._xoptions
    if st.mp_child or st.other_rank or not (profiling or importtime):
        return
    interval = os.environ.get(ENV_PROFILE_SAMPLER)
    try:
        import _ttfb_sampler

        if not profiling:
            _gc_imports = _ttfb_sampler.GcPauses(by_import=True)
            return
        _gc_pauses = _ttfb_sampler.GcPauses()
        if interval:
            _sampler = _ttfb_sampler.Sampler(float(interval) / 1000.0)
    except Exception as exc:  # the probe must never break the job
        what = "in-process sampler not started" if profiling else "garbage collections not timed"
        st.notes.append(f"{what}: {exc!r}")


def _profile_done() -> None:
    """In the process that reports the first batch: write its pid (which process and thread
    an outside sampler's stacks are kept from), its garbage collections and the in-process
    sampler's stacks."""
    folder = os.environ.get(ENV_PROFILE)
    if not folder:
        return
    try:
        if os.getpid() == _state.pid:  # type: ignore[union-attr]
            if _gc_pauses is not None:
                _gc_pauses.write(os.path.join(folder, "gc.txt"))
            if _sampler is not None:
                _sampler.write(os.path.join(folder, "stacks.txt"))
        with open(os.path.join(folder, "pid"), "w") as f:
            f.write(str(os.getpid()))
    except Exception as exc:
        if _state is not None:
            _state.notes.append(f"profile not written: {exc!r}")


def _stop_profiler() -> None:
    """Interrupt the outside sampler that leads this process group (SIGINT: it stops and
    writes its stacks), when the runner named one and this process is not its own child (that
    one's exit ends the sampler): the rank 0 of a launcher whose other ranks run on."""
    name = os.environ.get(ENV_PROFILE_STOP)
    if not name:
        return
    try:
        leader = os.getpgid(0)
        if os.getppid() == leader:
            return
        with open(f"/proc/{leader}/comm") as f:
            if f.read().strip() == name:
                import signal

                os.kill(leader, signal.SIGINT)
    except Exception as exc:  # the probe must never break the job
        if _state is not None:
            _state.notes.append(f"profiler not stopped: {exc!r}")
