"""The cachegrind backend counts the measured process alone."""

from __future__ import annotations

from bot.exec.backends import BACKENDS, read_valgrind


def write(tmp_path, pid: int, parent: int, total: int, command: str = "python t.py") -> None:
    (tmp_path / f"cg.out.{pid}").write_text(f"events: Ir\nsummary: {total}\n")
    (tmp_path / f"vg.log.{pid}").write_text(
        f"==1== Command: {command}\n==1== Parent PID: {parent}\n"
    )


def test_the_measured_process_alone_is_counted(tmp_path):
    write(tmp_path, 100, 7, 1_000_000)  # the measured process (its parent: the runner)
    write(tmp_path, 101, 100, 400_000)  # a forked DataLoader worker
    write(tmp_path, 102, 100, 300_000, "python -c spawn")  # an exec'd child
    main = read_valgrind(tmp_path, fork_exact=False, main_only=True)
    assert main.instructions == 1_000_000 and main.processes == 1 and main.lost == 0
    every = read_valgrind(tmp_path, fork_exact=False)
    assert every.instructions == 1_700_000 and every.processes == 3 and every.forked == 1


def test_the_cachegrind_backend_does_not_follow_children(tmp_path):
    argv = BACKENDS["cachegrind"].wrap(["python", "t.py"], tmp_path)
    assert "--trace-children=no" in argv and "--cache-sim=no" in argv
    assert "--trace-children=yes" in BACKENDS["valgrind"].wrap(["python"], tmp_path)
