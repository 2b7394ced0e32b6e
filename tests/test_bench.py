"""bench/profile_step.py runs end to end (on the CPU, a tiny group): what it reports, not how fast."""
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_profile_step_reports_a_warm_fit(tmp_path):
    out = tmp_path / "profile.json"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "bench/profile_step.py", "--device", "cpu", "--model", "smallcnn",
                          "--k", "2", "--n-train", "256", "--json", str(out)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    r = json.loads(out.read_text())
    assert (r["K"], r["steps"], r["compiled"], r["busy_share"]) == (2, 2, False, None)  # 256 / 128
    assert r["ms_per_step"] > 0 and r["launches_per_step"] > 0
    assert r["top"] and all(t["calls"] > 0 for t in r["top"])
    assert "ms a step" in run.stdout



def test_the_bench_scripts_refuse_bad_arguments_before_any_work(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for argv in (["bench/bench_train.py", "--budget-s", "0"],
                 ["bench/bench_train.py", "--json", str(tmp_path / "no" / "x.json")],
                 ["bench/profile_step.py", "--k", "-3"],
                 ["bench/bench_fit.py", "--ks", "abc"],
                 ["bench/bench_eval.py", "--repeats", "-2"],
                 ["bench/bench_workers.py", "--workers", "0"]):
        run = subprocess.run([sys.executable, *argv], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 2 and "Traceback" not in run.stderr, (argv, run.stderr)
        assert run.stderr.strip().splitlines()[-1].startswith(Path(argv[0]).name + ": error:")


def test_bench_workers_times_a_call_both_ways(tmp_path):
    out = tmp_path / "workers.json"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "bench/bench_workers.py", "--device", "cpu", "--model", "smallcnn",
                          "--scenario", "loops", "--workers", "2", "--n-train", "128", "--json", str(out)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    (r,) = json.loads(out.read_text())["rows"]
    assert (r["scenario"], r["ks"], r["workers"], r["model_side_s"]) == ("loops", [4, 4, 4, 4], 2, None)
    assert r["serial_s"] > 0 and r["side_by_side_s"] > 0
    assert r["speedup"] == round(r["serial_s"] / r["side_by_side_s"], 2) or abs(
        r["speedup"] - r["serial_s"] / r["side_by_side_s"]) < 0.05
    assert "| loops | 4, 4, 4, 4 |" in run.stdout


def test_rehearse_gpu_refuses_an_unknown_chapter_before_running_any(tmp_path):
    run = subprocess.run(["bash", "bench/rehearse_gpu.sh", "05", "99"], cwd=REPO, capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, OUT=str(tmp_path / "out")))
    assert run.returncode == 2 and run.stdout.strip().splitlines() == [
        "rehearse_gpu.sh: no chapter 99 (choose from 05 04 02 01 03)"], run.stdout
    assert not (tmp_path / "out").exists()   # chapter 05 did not start
