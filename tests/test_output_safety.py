"""Output folders are safe (issue 9): `--out` never replaces the user's files, a failed run leaves an earlier
output as it was, concurrent runs take turns, no temporary folder outlives its run; flags are validated; no
traceback reaches the user."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import REPO, TINY

from optimizer import cli
from optimizer.errors import OutputRefused
from optimizer.pipeline import RunResult
from optimizer.report import write as report_write
from optimizer.report.write import (
    MARKER,
    check_output_target,
    clean_stale,
    output_folder,
    write_outputs,
    write_summary,
    write_tables,
)

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX paths, signals and locks")


# --- helpers ------------------------------------------------------------------------------------------------
def run_cli(*args, cwd=REPO, timeout=180, env=None):
    return subprocess.run([sys.executable, "-m", "optimizer.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, env=env)


def snapshot(folder: Path) -> dict:
    """Every entry under `folder` (relative path -> bytes, or None for a folder, or the link target)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink():
            out[rel] = ("link", os.readlink(p))
        elif p.is_dir():
            out[rel] = None
        else:
            out[rel] = p.read_bytes()
    return out


def user_folder(path: Path) -> Path:
    """A folder of the user's: files, a sub-folder, a hidden file."""
    path.mkdir(parents=True)
    (path / "notes.txt").write_text("my notes\n")
    (path / ".hidden").write_bytes(b"\x00\x01secret")
    (path / "sub").mkdir()
    (path / "sub" / "data.csv").write_text("a,b\n1,2\n")
    return path


def temp_leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".landuse-" in p.name)


def marker(folder: Path) -> dict:
    return json.loads((folder / MARKER).read_text(encoding="utf-8"))


def solve_in_process(*args) -> int:
    return cli.main(["solve", str(TINY), *map(str, args)])


def refused(capsys, *needles) -> str:
    err = capsys.readouterr().err
    assert err.startswith("landuse: error: output folder"), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for n in needles:
        assert n in err, (n, err)
    return err


@pytest.fixture
def scenario_copy(tmp_path) -> Path:
    dst = tmp_path / "city" / "tiny"
    shutil.copytree(TINY, dst)
    return dst


def no_plan(result: RunResult) -> RunResult:
    return RunResult(result.scenario, "no_solution", None, None, None, "highs", {"solve_s": 0.0},
                     message="time limit reached before any plan was found")


# --- where outputs may never go ------------------------------------------------------------------------------
def test_current_folder_is_refused_and_untouched(tmp_path):
    work = user_folder(tmp_path / "work")
    before = snapshot(work)
    proc = run_cli("solve", TINY, "--out", ".", "--no-figures", "--force", cwd=work)
    assert proc.returncode == 2, proc.stderr
    assert "current folder" in proc.stderr and "Traceback" not in proc.stderr
    assert snapshot(work) == before


def test_empty_out_is_refused(tmp_path):
    work = user_folder(tmp_path / "work")
    before = snapshot(work)
    proc = run_cli("solve", TINY, "--out", "", "--no-figures", cwd=work)
    assert proc.returncode == 2
    assert "--out" in proc.stderr and "empty path" in proc.stderr and "Traceback" not in proc.stderr
    assert snapshot(work) == before
    with pytest.raises(OutputRefused, match="empty path"):
        check_output_target("")


def test_folders_above_the_current_one_are_refused(tmp_path, monkeypatch, capsys):
    work = user_folder(tmp_path / "a" / "b")
    monkeypatch.chdir(work)
    before = snapshot(tmp_path)
    for out in ("..", str(tmp_path), "../..", "/"):
        assert solve_in_process("--out", out, "--no-figures", "--force") == 2
        refused(capsys)
    assert snapshot(tmp_path) == before


def test_home_and_its_parents_are_refused(tmp_path, monkeypatch, capsys):
    home = user_folder(tmp_path / "home" / "me")
    monkeypatch.setenv("HOME", str(home))
    before = snapshot(tmp_path)
    assert solve_in_process("--out", home, "--no-figures", "--force") == 2
    refused(capsys, "home folder")
    assert solve_in_process("--out", home.parent, "--no-figures", "--force") == 2
    refused(capsys, "above the home folder")
    assert snapshot(tmp_path) == before
    assert solve_in_process("--out", home / "runs" / "r1", "--no-figures") == 0  # below home is fine
    assert (home / "runs" / "r1" / "summary.json").is_file()


def test_scenario_folder_and_its_parents_are_refused(scenario_copy, tmp_path, capsys):
    before = snapshot(tmp_path)
    for out, why in ((scenario_copy, "scenario folder"), (scenario_copy.parent, "holds the scenario folder"),
                     (scenario_copy / "..", "holds the scenario folder")):
        rc = cli.main(["solve", str(scenario_copy), "--out", str(out), "--no-figures", "--force"])
        assert rc == 2
        refused(capsys, why)
    link = tmp_path / "link-to-scenario"
    link.symlink_to(scenario_copy, target_is_directory=True)
    rc = cli.main(["solve", str(scenario_copy), "--out", str(link), "--no-figures", "--force"])
    assert rc == 2
    refused(capsys, "scenario folder")
    link.unlink()
    assert snapshot(tmp_path) == before


def test_scenario_folder_is_protected_in_compare_and_the_api(scenario_copy, tiny_result, capsys):
    before = snapshot(scenario_copy)
    assert cli.main(["compare", str(TINY), str(scenario_copy), "--out", str(scenario_copy), "--force"]) == 2
    refused(capsys, "scenario folder")
    with pytest.raises(OutputRefused, match="scenario folder"):
        write_outputs(tiny_result, TINY)  # protect defaults to the run's scenario folder
    with pytest.raises(OutputRefused, match="holds the scenario folder"):
        write_outputs(tiny_result, scenario_copy.parent, protect=[scenario_copy], force=True)
    assert snapshot(scenario_copy) == before


def test_an_existing_file_or_a_symlink_to_one_is_refused(tmp_path, capsys):
    f = tmp_path / "plan.txt"
    f.write_text("precious")
    link = tmp_path / "link.txt"
    link.symlink_to(f)
    for out in (f, link):
        assert solve_in_process("--out", out, "--no-figures", "--force") == 2
        refused(capsys, "existing file")
    assert f.read_text() == "precious" and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "plan.txt"]


def test_a_symlink_loop_is_a_clean_error(tmp_path, capsys):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for out in (tmp_path / "a", tmp_path / "a" / "sub"):
        assert solve_in_process("--out", out, "--no-figures") == 2
        refused(capsys, "symlink loop")
    assert cli.main(["validate", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "symlink loop" in err and "Traceback" not in err


def test_nul_byte_in_a_path(tmp_path, tiny_result, capsys):
    with pytest.raises(SystemExit) as exc:
        solve_in_process("--out", str(tmp_path / "a\0b"))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--out" in err and "NUL" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        cli.main(["validate", "scen\0ario"])
    assert exc.value.code == 2 and "NUL" in capsys.readouterr().err
    with pytest.raises(OutputRefused, match="NUL"):
        write_outputs(tiny_result, str(tmp_path / "x\0y"))
    assert list(tmp_path.iterdir()) == []


def test_an_over_long_name_is_a_clean_error(tmp_path, capsys):
    long = tmp_path / ("x" * 300)
    assert solve_in_process("--out", long, "--no-figures") == 2
    refused(capsys, "longer than 255")
    assert solve_in_process("--out", long / "sub", "--no-figures") == 2
    refused(capsys, "longer than 255")
    assert cli.main(["validate", str(long)]) == 2
    err = capsys.readouterr().err
    assert "too long" in err and "Traceback" not in err and len(err) < 400
    assert list(tmp_path.iterdir()) == []


def test_a_long_but_valid_name_works(tmp_path):
    out = tmp_path / ("y" * 250)  # the temporary sibling's name must still fit
    assert solve_in_process("--out", out, "--no-figures") == 0
    assert (out / "summary.json").is_file() and temp_leftovers(tmp_path) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_parent_is_a_clean_error(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert solve_in_process("--out", ro / "out", "--no-figures") == 2
        refused(capsys, "permission", str(ro))
    finally:
        ro.chmod(0o755)


# --- foreign folders and --force -------------------------------------------------------------------------------
def test_a_non_empty_foreign_folder_is_refused_and_untouched(tmp_path, capsys):
    out = user_folder(tmp_path / "mine")
    before = snapshot(out)
    assert solve_in_process("--out", out, "--no-figures") == 2
    refused(capsys, "not empty", "--force")
    assert snapshot(out) == before
    assert temp_leftovers(tmp_path) == []


def test_force_puts_the_outputs_beside_the_users_files(tmp_path, capsys):
    out = user_folder(tmp_path / "mine")
    before = snapshot(out)
    assert solve_in_process("--out", out, "--no-figures", "--force") == 0
    after = snapshot(out)
    assert {k: v for k, v in after.items() if k in before} == before  # every user entry, byte for byte
    m = marker(out)
    assert set(m["manifest"]) == {"summary.json", "assignment.csv", "by_industry.csv", "by_subarea.csv",
                                  "marginal_values.csv", "explain.csv"}
    assert set(after) - set(before) == set(m["manifest"]) | {MARKER}
    # a second run without --force: the folder holds files the tool did not write
    capsys.readouterr()
    assert solve_in_process("--out", out, "--no-figures") == 2
    refused(capsys, "did not write", "notes.txt")
    # with --force again: the tool's own files are replaced, the user's kept
    (out / "summary.json").write_text("{}")
    assert solve_in_process("--out", out, "--no-figures", "--force") == 0
    assert json.loads((out / "summary.json").read_text())["status"] == "optimal"
    assert {k: v for k, v in snapshot(out).items() if k in before} == before
    assert temp_leftovers(tmp_path) == []


def test_force_never_overwrites_a_users_file_of_an_outputs_name(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "summary.json").write_text("my own summary")
    before = snapshot(out)
    assert solve_in_process("--out", out, "--no-figures", "--force") == 2
    refused(capsys, "summary.json", "did not write")
    assert snapshot(out) == before


def test_force_clash_found_only_at_the_end_is_refused_too(tmp_path, tiny_result):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "odd.txt").write_text("mine")

    def odd(result, folder):
        (folder / "odd.txt").write_text("the tool's")

    with pytest.raises(OutputRefused, match="odd.txt"):
        write_outputs(tiny_result, out, writers=[write_summary, odd], force=True)
    assert snapshot(out) == {"odd.txt": b"mine"}
    assert temp_leftovers(tmp_path) == []


def test_empty_folder_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert solve_in_process("--out", out, "--no-figures") == 0
    assert (out / "assignment.csv").is_file() and marker(out)["tool"] == "landuse-optimizer"


# --- earlier outputs -------------------------------------------------------------------------------------------
def test_an_earlier_output_is_replaced_whole(tmp_path, tiny_result):
    out = tmp_path / "run"

    def extra(result, folder):
        (folder / "extra.txt").write_text("from the first run")

    write_outputs(tiny_result, out, writers=[write_summary, write_tables, extra])
    m = marker(out)
    assert {"tool", "version", "written_at", "manifest"} <= set(m)
    assert "extra.txt" in m["manifest"]
    write_outputs(tiny_result, out, writers=[write_summary])
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "summary.json"]
    assert marker(out)["manifest"] == ["summary.json"]
    assert temp_leftovers(tmp_path) == []


def test_an_earlier_output_with_a_users_file_is_refused_or_kept_with_force(tmp_path, tiny_result):
    out = tmp_path / "run"
    write_outputs(tiny_result, out, writers=[write_summary, write_tables])
    (out / "my_analysis.xlsx").write_bytes(b"PK\x03\x04 user data")
    before = snapshot(out)
    with pytest.raises(OutputRefused, match="my_analysis.xlsx"):
        write_outputs(tiny_result, out, writers=[write_summary])
    assert snapshot(out) == before
    write_outputs(tiny_result, out, writers=[write_summary], force=True)
    names = sorted(p.name for p in out.iterdir())
    assert names == [MARKER, "my_analysis.xlsx", "summary.json"]  # the stale assignment.csv etc. were the tool's
    assert (out / "my_analysis.xlsx").read_bytes() == b"PK\x03\x04 user data"
    assert marker(out)["manifest"] == ["summary.json"]


def test_a_symlink_to_an_earlier_output_is_followed(tmp_path, tiny_result):
    real = tmp_path / "real"
    write_outputs(tiny_result, real, writers=[write_summary, write_tables])
    link = tmp_path / "latest"
    link.symlink_to(real, target_is_directory=True)
    write_outputs(tiny_result, link, writers=[write_summary])
    assert link.is_symlink() and sorted(p.name for p in real.iterdir()) == [MARKER, "summary.json"]


# --- failed runs leave the earlier output as it was --------------------------------------------------------------
def test_a_run_without_a_plan_leaves_an_earlier_output_untouched(tmp_path):
    out = tmp_path / "run"
    proc = run_cli("solve", TINY, "--out", out, "--no-figures")
    assert proc.returncode == 0, proc.stderr
    before = snapshot(out)
    proc = run_cli("solve", TINY, "--out", out, "--no-figures", "--time-limit", "0")
    assert proc.returncode == 5, proc.stderr
    assert "left untouched" in proc.stdout and "Traceback" not in proc.stderr
    assert snapshot(out) == before
    assert temp_leftovers(tmp_path) == []


def test_a_run_without_a_plan_writes_its_summary_into_a_new_folder(tmp_path):
    out = tmp_path / "new" / "run"
    proc = run_cli("solve", TINY, "--out", out, "--time-limit", "0")
    assert proc.returncode == 5, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "summary.json"]
    assert json.loads((out / "summary.json").read_text())["status"] == "no_solution"


def test_api_without_a_plan_warns_and_keeps_the_earlier_output(tmp_path, tiny_result):
    out = tmp_path / "run"
    write_outputs(tiny_result, out, writers=[write_summary, write_tables])
    before = snapshot(out)
    with pytest.warns(UserWarning, match="left untouched"):
        write_outputs(no_plan(tiny_result), out, writers=[write_summary])
    assert snapshot(out) == before


def boom(result, folder):
    (folder / "half.txt").write_text("half written")
    raise RuntimeError("writer exploded")


def test_an_exception_in_a_writer_leaves_the_earlier_output_and_no_temp_folder(tmp_path, tiny_result):
    out = tmp_path / "run"
    write_outputs(tiny_result, out, writers=[write_summary, write_tables])
    before = snapshot(out)
    with pytest.raises(RuntimeError, match="writer exploded"):
        write_outputs(tiny_result, out, writers=[write_summary, boom])
    assert snapshot(out) == before
    assert temp_leftovers(tmp_path) == []


def test_cli_keyboard_interrupt_while_writing(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert solve_in_process("--out", out, "--no-figures") == 0
    before = snapshot(out)

    def interrupted(result, folder):
        (folder / "half.txt").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(report_write, "write_tables", interrupted)
    assert solve_in_process("--out", out, "--no-figures") == 130
    assert "interrupted" in capsys.readouterr().err
    assert snapshot(out) == before and temp_leftovers(tmp_path) == []


def test_keep_partial_commits_only_where_there_was_nothing(tmp_path):
    out = tmp_path / "bench"
    with pytest.raises(RuntimeError), output_folder(out, keep_partial=True) as stage:
        (stage.folder / "results.json").write_text("[1]")
        raise RuntimeError("size 2 failed")
    assert (out / "results.json").read_text() == "[1]" and marker(out)["manifest"] == ["results.json"]
    before = snapshot(out)
    with pytest.raises(RuntimeError), output_folder(out, keep_partial=True) as stage:
        (stage.folder / "results.json").write_text("[2]")
        raise RuntimeError("size 1 failed")
    assert snapshot(out) == before and temp_leftovers(tmp_path) == []


@posix
def test_sigterm_while_writing_leaves_no_temp_folder(tmp_path):
    out = tmp_path / "run"
    assert run_cli("solve", TINY, "--out", out, "--no-figures").returncode == 0
    before = snapshot(out)
    code = (
        "import sys, time\n"
        "from optimizer import cli\n"
        "from optimizer.report import write as w\n"
        "def slow(result, folder):\n"
        "    (folder / 'half.txt').write_text('half')\n"
        "    print('WRITING', flush=True)\n"
        "    time.sleep(60)\n"
        "w.write_tables = slow\n"
        f"sys.exit(cli.main(['solve', {str(TINY)!r}, '--out', {str(out)!r}, '--no-figures']))\n"
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, cwd=REPO) as proc:
        try:
            for line in proc.stdout:
                if "WRITING" in line:
                    break
            assert temp_leftovers(tmp_path), "the run should be writing into a temporary folder"
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    rc = proc.returncode
    assert rc == 143 and "terminated" in err and "Traceback" not in err
    assert snapshot(out) == before
    assert temp_leftovers(tmp_path) == []


# --- concurrent runs ---------------------------------------------------------------------------------------------
def test_threads_writing_one_folder_take_turns(tmp_path, tiny_result):
    out = tmp_path / "run"
    errors: list[BaseException] = []

    def slow_tables(result, folder):
        time.sleep(0.01)
        write_tables(result, folder)

    def worker():
        try:
            for _ in range(3):
                write_outputs(tiny_result, out, writers=[write_summary, slow_tables])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MARKER, "summary.json", "assignment.csv", "by_industry.csv", "by_subarea.csv"])
    assert json.loads((out / "summary.json").read_text())["status"] == "optimal"
    assert temp_leftovers(tmp_path) == []


@posix
def test_a_run_waits_for_the_lock_on_the_parent_folder(tmp_path, tiny_result):
    out = tmp_path / "run"
    done = threading.Event()

    def writer():
        write_outputs(tiny_result, out, writers=[write_summary])
        done.set()

    with report_write._locked(tmp_path):  # another run swapping into the same parent
        t = threading.Thread(target=writer)
        t.start()
        assert not done.wait(1.0), "the write must wait for the lock"
        assert not out.exists()
    t.join(timeout=60)
    assert done.is_set() and (out / "summary.json").is_file() and temp_leftovers(tmp_path) == []


def test_two_processes_writing_one_folder_both_succeed(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "optimizer.cli", "solve", str(TINY), "--out", str(out), "--no-figures"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
             for _ in range(2)]
    results = []
    for p in procs:
        with p:
            _, err = p.communicate(timeout=180)
            results.append((p.returncode, err))
    assert [rc for rc, _ in results] == [0, 0], results
    assert sorted(marker(out)["manifest"]) == ["assignment.csv", "by_industry.csv", "by_subarea.csv",
                                               "explain.csv", "marginal_values.csv", "summary.json"]
    assert all((out / n).is_file() for n in marker(out)["manifest"])
    assert temp_leftovers(tmp_path) == []


@posix
def test_stale_temporary_folders_of_dead_runs_are_removed_only_those(tmp_path, tiny_result):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as alive:
        _check_stale_cleanup(tmp_path, tiny_result, dead.pid, alive)


def _check_stale_cleanup(tmp_path, tiny_result, dead_pid, alive):
    try:
        host = report_write._host_tag()
        stale = tmp_path / f".run.landuse-tmp-{host}-{dead_pid}-abc123"
        live = tmp_path / f".run.landuse-tmp-{host}-{alive.pid}-def456"
        other_host = tmp_path / f".run.landuse-tmp-00000000-{dead_pid}-ghi789"
        lookalike = tmp_path / f".run.tmp-{dead_pid}"
        for p in (stale, live, other_host, lookalike):
            p.mkdir()
            (p / "f.txt").write_text("x")
        write_outputs(tiny_result, tmp_path / "run", writers=[write_summary])
        assert not stale.exists()
        assert live.exists() and other_host.exists() and lookalike.exists()
    finally:
        alive.kill()


@posix
def test_an_earlier_output_left_aside_by_a_cut_swap_is_put_back(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    aside = tmp_path / f".run.landuse-old-{report_write._host_tag()}-{dead.pid}-abc123"
    (aside / "old-run").mkdir(parents=True)
    (aside / "old-run" / "summary.json").write_text("{}")
    assert clean_stale(tmp_path) == [aside.name]
    assert (tmp_path / "run" / "summary.json").read_text() == "{}" and not aside.exists()


# --- other commands ----------------------------------------------------------------------------------------------
def test_compare_and_bench_refuse_a_foreign_folder(tmp_path, capsys):
    out = user_folder(tmp_path / "mine")
    before = snapshot(out)
    assert cli.main(["compare", str(TINY), "--out", str(out)]) == 2
    refused(capsys, "--force")
    assert cli.main(["bench", "run", "--sizes", "200", "--out", str(out)]) == 2
    refused(capsys, "--force")
    assert cli.main(["bench", "run", "--sizes", "200", "--out", "/", "--force"]) == 2
    refused(capsys, "root")
    assert snapshot(out) == before


def test_compare_writes_a_marker_and_replaces_its_earlier_output(tmp_path, capsys):
    out = tmp_path / "cmp"
    for _ in range(2):
        assert cli.main(["compare", str(TINY), "--out", str(out), "--no-figures"]) == 0
    assert set(marker(out)["manifest"]) == {"comparison.csv", "comparison_by_subarea.csv"}
    assert temp_leftovers(tmp_path) == []


# --- flags -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flag, value", [
    ("--time-limit", "nan"), ("--time-limit", "inf"), ("--time-limit", "-1"), ("--time-limit", "1e8"),
    ("--time-limit", "soon"), ("--mip-gap", "-1"), ("--mip-gap", "nan"), ("--mip-gap", "1.5"),
    ("--threads", "-5"), ("--threads", "2.7"), ("--threads", "5000"), ("--threads", "many"),
])
@pytest.mark.parametrize("command", [["solve", str(TINY), "--out", "x"], ["compare", str(TINY), "--out", "x"],
                                     ["bench", "run"], ["bench", "gap", "f.txt"]])
def test_bad_flag_values_are_usage_errors(command, flag, value, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([*command, flag, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and repr(value) in err and "Traceback" not in err


@pytest.mark.parametrize("flag, value, parsed", [("--time-limit", "0", 0.0), ("--time-limit", "1e7", 1e7),
                                                 ("--mip-gap", "0", 0.0), ("--mip-gap", "1", 1.0),
                                                 ("--threads", "0", 0), ("--threads", "1024", 1024)])
def test_flag_bounds_are_accepted(flag, value, parsed):
    args = cli.build_parser().parse_args(["solve", str(TINY), "--out", "x", flag, value])
    assert getattr(args, flag[2:].replace("-", "_")) == parsed


def test_time_limit_nan_never_aborts():
    proc = run_cli("solve", TINY, "--out", "never-written", "--time-limit", "nan")
    assert proc.returncode == 2
    assert "--time-limit" in proc.stderr and "'nan'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (REPO / "never-written").exists()


# --- internal errors and --debug ---------------------------------------------------------------------------------
def _explode(*args, **kwargs):
    raise ZeroDivisionError("injected failure")


def test_internal_error_is_one_line_without_debug(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("optimizer.pipeline.solve_scenario", _explode)
    assert solve_in_process("--out", tmp_path / "run", "--no-figures") == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("warning: ")]
    assert err == [("landuse: internal error: ZeroDivisionError: injected failure "
                           "(run with --debug for the traceback)")]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(tmp_path, monkeypatch, capsys, where):
    monkeypatch.setattr("optimizer.pipeline.solve_scenario", _explode)
    argv = ["solve", str(TINY), "--out", str(tmp_path / "run"), "--no-figures"]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "_explode" in err
    assert "landuse: internal error: ZeroDivisionError: injected failure" in err


def test_sigterm_handler_is_restored_after_main(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    cli.main(["validate", str(TINY)])
    assert signal.getsignal(signal.SIGTERM) == before


def test_scenario_warnings_are_printed(tmp_path, monkeypatch, capsys):
    import dataclasses

    from optimizer import scenario as scenario_pkg
    from optimizer.data import Scenario

    if "warnings" not in {f.name for f in dataclasses.fields(Scenario)}:
        pytest.skip("Scenario has no warnings field in this build yet")
    real = scenario_pkg.load_scenario
    monkeypatch.setattr(scenario_pkg, "load_scenario",
                        lambda p: dataclasses.replace(real(p), warnings=("parcel P9 has no coordinates",)))
    assert cli.main(["validate", str(TINY)]) == 0
    assert "warning: parcel P9 has no coordinates" in capsys.readouterr().err
    assert solve_in_process("--out", tmp_path / "run", "--no-figures") == 0
    assert "warning: parcel P9 has no coordinates" in capsys.readouterr().err


@pytest.mark.parametrize("exc, code, needle", [
    (RecursionError("maximum recursion depth exceeded"), 2, "nested too deeply"),
    (PermissionError(13, "Permission denied", str(TINY / "parcels.csv")), 2, "permission denied"),
    (OSError(5, "Input/output error", "/dev/somewhere"), 1, "Input/output error"),
])
def test_os_and_recursion_errors_are_one_line(monkeypatch, capsys, exc, code, needle):
    from optimizer import scenario as scenario_pkg

    def fail(path):
        raise exc

    monkeypatch.setattr(scenario_pkg, "load_scenario", fail)
    assert cli.main(["validate", str(TINY)]) == code  # exit 2 when the path is one the user gave
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
