#!/usr/bin/env python3
"""Runs every libFuzzer target of a PROCWATCH_FUZZ build (`make fuzz`) for a bounded time.

Each target starts from a copy of its committed corpus (the repository stays clean), under
ASan+UBSan, and prints its executions and coverage. A crash, leak, timeout or out-of-memory
input fails the run; the input is kept in BUILD/fuzz-crashes/ (commit it to the target's
corpus as a regression input once fixed). Usage: run_fuzz.py BUILD_DIR [SECONDS_PER_TARGET]
"""
import os
import re
import shutil
import subprocess
import sys


def main():
    build = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    listing = os.path.join(build, "fuzz_targets.tsv")
    if not os.path.exists(listing):
        sys.exit(f"run_fuzz: {listing} missing (configure with -DPROCWATCH_FUZZ=ON)")
    targets = [l.rstrip("\n").split("\t") for l in open(listing) if l.strip()]
    if not targets:
        sys.exit("run_fuzz: no fuzz targets")
    crashes = os.path.join(build, "fuzz-crashes")
    os.makedirs(crashes, exist_ok=True)
    failed, total_runs = [], 0
    for name, binary, corpus in targets:
        seeds = os.listdir(corpus) if os.path.isdir(corpus) else []
        if not seeds:
            sys.exit(f"run_fuzz: {name}: corpus {corpus} is missing or empty")
        work = os.path.join(build, "fuzz-corpus", name)
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(corpus, work)
        cmd = [binary, f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048",
               "-max_len=65536", "-print_final_stats=1",
               f"-artifact_prefix={crashes}/{name}-", work]
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
        r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=seconds + 300)
        out = r.stderr
        runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", out)
        cov = re.findall(r"\bcov: (\d+) ft: (\d+)", out)
        runs = int(runs[-1]) if runs else 0
        total_runs += runs
        cov_s = f"cov {cov[-1][0]} ft {cov[-1][1]}" if cov else "cov ?"
        status = "ok" if r.returncode == 0 else f"FAILED (exit {r.returncode})"
        print(f"{name:28} {runs:>10} runs in {seconds} s, {cov_s}, "
              f"corpus {len(seeds)} -> {len(os.listdir(work))}: {status}", flush=True)
        if r.returncode != 0:
            failed.append(name)
            tail = "\n".join(out.splitlines()[-40:])
            print(tail, flush=True)
    print(f"fuzz: {len(targets)} targets, {total_runs} executions in all", flush=True)
    if failed:
        sys.exit(f"fuzz: {', '.join(failed)} failed; inputs in {crashes}")


if __name__ == "__main__":
    main()
