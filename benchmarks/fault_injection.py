"""Faults on purpose: kill -9 at random moments, SIGTERM, a full disk and corrupted copies of a store; after each,
is the collection what a clean ingest makes?

    python benchmarks/fault_injection.py                      # 50 kills, Fashion-MNIST test (first 6,000)
    python benchmarks/fault_injection.py --kills 10 --limit 2000 --skip disk

Each kill round starts from an empty store and runs `embedkit ingest` again and again, killing it (SIGKILL to the
command alone: its decoding workers must die with it) at a random moment, until a run finishes by itself. Then,
against a reference store a clean run made: every sample stored once (count exact, no duplicates), every vector
equal to the reference (to 1e-5), and no Python traceback and no refused re-run in any output. A full disk needs
root (a 90 MB tmpfs by default in a private mount namespace); the corruptions work on copies of a finished store and are
detected by `embedkit verify --all` or the check a writer runs, then repaired.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embedkit.store import open_store

EMBEDKIT = [sys.executable, "-m", "embedkit"]
COLLECTION = "faults"
LOST = "were recorded when it was last written"


@dataclass
class Row:
    scenario: str
    runs: int = 0
    count_exact: bool = True
    duplicates: int = 0
    vectors_equal: bool = True
    tracebacks: int = 0
    refused: int = 0
    faulted: bool = False
    """Whether the fault happened (a kill landed mid-run, the disk filled, the damage was detected): a row whose
    fault never happened proves nothing and is not clean."""
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return (self.faulted and self.count_exact and not self.duplicates and self.vectors_equal
                and not self.tracebacks and not self.refused)


@dataclass
class Outcome:
    code: int | None
    stderr: str
    seconds: float
    stdout: str = ""


class Runner:
    def __init__(self, args: argparse.Namespace, work: Path):
        self.args, self.work, self.counter = args, work, 0
        self.ingest_args = ["ingest", args.dataset, "--split", args.split, "--limit", str(args.limit), "-e", args.encoder,
                            "--image-size", str(args.image_size), "--device", "cpu", "-c", COLLECTION]

    def run(self, command: list[str], kill_after: float | None = None, sig: int = signal.SIGKILL) -> Outcome:
        """`embedkit COMMAND`, sent `sig` after `kill_after` seconds unless it ended before."""
        self.counter += 1
        err, out = self.work / f"run-{self.counter}.err", self.work / f"run-{self.counter}.out"
        started = time.perf_counter()
        with open(err, "w") as stderr, open(out, "w") as stdout:  # files, not pipes: workers could hold a pipe
            process = subprocess.Popen(EMBEDKIT + command, stdout=stdout, stderr=stderr,
                                       env={**os.environ, "COLUMNS": "200"})
        try:
            code = process.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            process.send_signal(sig)
            code = process.wait()
        return Outcome(code, err.read_text(errors="replace"), time.perf_counter() - started,
                       out.read_text(errors="replace"))

    def ingest(self, store: Path, kill_after: float | None = None, sig: int = signal.SIGKILL) -> Outcome:
        return self.run(self.ingest_args + ["--qdrant", str(store)], kill_after, sig)


def stored_vectors(store: Path) -> tuple[dict[str, np.ndarray], int]:
    """Each stored sample's vector, and how many points the collection holds (duplicates would show here)."""
    with open_store(store) as opened:
        name = opened.default_vector(COLLECTION)
        vectors: dict[str, np.ndarray] = {}
        rows = 0
        for ids, arrays, _ in opened.iter_points(COLLECTION, [name]):
            rows += len(ids)
            vectors.update(zip(ids, arrays[name]))
        return vectors, opened.count(COLLECTION)


def compare(row: Row, store: Path, reference: dict[str, np.ndarray]) -> None:
    vectors, points = stored_vectors(store)
    row.count_exact = row.count_exact and set(vectors) == set(reference)
    row.duplicates += points - len(vectors)
    common = sorted(set(vectors) & set(reference))
    if common:
        difference = max(float(np.abs(vectors[i] - reference[i]).max()) for i in common)
        row.vectors_equal = row.vectors_equal and difference <= 1e-5 and len(common) == len(reference)


def judge_output(row: Row, outcome: Outcome) -> None:
    row.runs += 1
    row.tracebacks += "Traceback" in outcome.stderr
    row.refused += "open by process" in outcome.stderr or "is locked" in outcome.stderr


def clean_run_seconds(runner: Runner) -> float:
    """How long an ingest into an empty store takes now (the machine's load changes): the window faults land in."""
    store = runner.work / "timing"
    seconds = runner.ingest(store).seconds
    shutil.rmtree(store, ignore_errors=True)
    return seconds


def kill_rounds(runner: Runner, reference: dict[str, np.ndarray], kills: int) -> Row:
    row = Row(f"kill -9 at random moments ({kills})")
    clean_seconds = clean_run_seconds(runner)
    rng = random.Random(runner.args.seed)
    done = rounds = 0
    while done < kills:
        store = runner.work / f"kill-round-{rounds}"
        rounds += 1
        while True:
            outcome = runner.ingest(store, kill_after=rng.uniform(0.3, 1.2 * clean_seconds))
            judge_output(row, outcome)
            if outcome.code == -signal.SIGKILL:
                done += 1
                row.faulted = True
                continue
            if outcome.code != 0:
                row.notes.append(f"a re-run failed: {outcome.stderr.strip().splitlines()[-1:]}")
            break
        compare(row, store, reference)
        shutil.rmtree(store, ignore_errors=True)
    row.notes.append(f"{rounds} rounds, each ending in a run that finished by itself; kills within "
                     f"1.2 x {clean_seconds:.1f} s, a clean run's time")
    return row


def sigterm(runner: Runner, reference: dict[str, np.ndarray], times: int) -> Row:
    row = Row(f"SIGTERM at random moments ({times})")
    clean_seconds = clean_run_seconds(runner)
    rng = random.Random(runner.args.seed + 1)
    summaries = 0
    for attempt in range(times):
        store = runner.work / f"term-{attempt}"
        outcome = runner.ingest(store, kill_after=rng.uniform(0.5, clean_seconds), sig=signal.SIGTERM)
        judge_output(row, outcome)
        if outcome.code not in (0, 143):
            row.notes.append(f"exit {outcome.code} after SIGTERM")
        elif outcome.code == 143:
            summaries += "interrupted; run again to finish" in outcome.stdout
            row.faulted = True
        finish = runner.ingest(store)
        judge_output(row, finish)
        compare(row, store, reference)
        shutil.rmtree(store, ignore_errors=True)
    row.notes.append(f"{summaries} of {times} stopped mid-ingest with a summary of what was stored (the others "
                     f"while loading, or done)")
    return row


def full_disk(runner: Runner, reference: dict[str, np.ndarray]) -> Row:
    row = Row(f"full disk ({runner.args.disk_mb} MB tmpfs), then the store moved")
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        row.notes.append("skipped: needs root and unshare for a private tmpfs")
        return row
    mount = runner.work / "tmpfs"
    mount.mkdir()
    moved = runner.work / "moved"
    inner = runner.work / "inner.sh"
    ingest = " ".join(EMBEDKIT + runner.ingest_args)
    inner.write_text(f"""set -u
mount -t tmpfs -o size={runner.args.disk_mb}m tmpfs {mount}
{ingest} --qdrant {mount}/st 2> {runner.work}/disk-ingest.err; echo $? > {runner.work}/disk-ingest.code
{' '.join(EMBEDKIT)} collections --qdrant {mount}/st 2> {runner.work}/disk-list.err > /dev/null; \
echo $? > {runner.work}/disk-list.code
cp -r {mount}/st {moved}
""")
    subprocess.run(["unshare", "-m", "bash", str(inner)], check=False)
    for step in ("ingest", "list"):
        text = (runner.work / f"disk-{step}.err").read_text(errors="replace")
        code = int((runner.work / f"disk-{step}.code").read_text() or -1)
        judge_output(row, Outcome(code, text, 0))
        last = text.strip().splitlines()[-1] if text.strip() else ""
        row.faulted = row.faulted or (step == "ingest" and code == 1 and "disk" in last)
        row.notes.append(f"{step}: exit {code}" + (f", {last[:110]!r}" if code else ""))
    finish = runner.ingest(moved)
    judge_output(row, finish)
    if finish.code != 0:
        row.notes.append(f"the re-run on a roomy disk failed: {finish.stderr.strip().splitlines()[-1:]}")
    compare(row, moved, reference)
    return row


def vector_file(folder: Path) -> Path:
    """The file holding the most stored vectors: the largest one on disk (not counting sparse holes) inside a
    segment's vector storage."""
    files = [p for p in folder.rglob("*") if p.is_file() and any(part.startswith("vector_storage") for part in p.parts)]
    return max(files, key=lambda p: p.stat().st_blocks)


def corrupted_copies(runner: Runner, reference_store: Path, reference: dict[str, np.ndarray]) -> list[Row]:
    rng = random.Random(runner.args.seed + 2)
    vectors_at = vector_file(reference_store).relative_to(reference_store)  # a copy fills the holes: choose here

    def flip_bytes(copy: Path) -> None:
        target = copy / vectors_at
        data = bytearray(target.read_bytes())
        for position in rng.sample(range(len(data)), 64):
            data[position] ^= 0xFF
        target.write_bytes(bytes(data))

    def truncate_vectors(copy: Path) -> None:
        target = copy / vectors_at
        with open(target, "r+b") as stream:
            stream.truncate(target.stat().st_size // 2)

    def lose_wal(copy: Path) -> None:
        for path in (copy / COLLECTION / "wal").iterdir():
            path.unlink() if path.is_file() else shutil.rmtree(path)

    rows = []
    for name, damage in (("64 flipped bytes in the vector file", flip_bytes),
                         ("the vector file cut in half", truncate_vectors),
                         ("the write-ahead log lost", lose_wal)):
        row = Row(f"corrupted copy: {name}")
        copy = runner.work / f"corrupt-{len(rows)}"
        shutil.copytree(reference_store, copy)
        (copy / ".embedkit.lock").unlink(missing_ok=True)
        damage(copy)
        check = runner.run(["verify", "-c", COLLECTION, "--all", "--json", "--device", "cpu", "--qdrant", str(copy)])
        judge_output(row, check)
        differing = len(json.loads(check.stdout)["differing"]) if check.code in (0, 1) and check.stdout else 0
        detected = differing > 0 or LOST in check.stderr
        repair = runner.run(["verify", "-c", COLLECTION, "--all", "--repair", "--device", "cpu", "--qdrant", str(copy)])
        judge_output(row, repair)
        finish = runner.ingest(copy)
        judge_output(row, finish)
        detected = detected or LOST in finish.stderr
        row.faulted = detected or damage is lose_wal  # a finished ingest's log holds nothing the segments lack
        row.notes.append(f"{'detected' if detected else 'nothing to detect'}: {differing} vectors differ"
                         f"{', points reported lost' if LOST in check.stderr + finish.stderr else ''}; "
                         f"verify exit {check.code}, repair exit {repair.code}, re-ingest exit {finish.code}")
        if finish.code == 0:
            compare(row, copy, reference)
        else:
            row.count_exact = row.vectors_equal = False
            row.notes.append(f"re-ingest: {finish.stderr.strip().splitlines()[-1:]}")
        rows.append(row)
    return rows


def print_rows(rows: list[Row]) -> None:
    print(f"{'scenario':56} {'runs':>4}  fault  count  dup  vectors  tracebacks  refused")
    for row in rows:
        print(f"{row.scenario:56} {row.runs:4}  {'yes' if row.faulted else 'NONE':5}  "
              f"{'exact' if row.count_exact else 'WRONG':5} {row.duplicates:4}  "
              f"{'equal' if row.vectors_equal else 'DIFFER':7}  {row.tracebacks:10}  {row.refused:7}")
        for note in row.notes:
            print(f"    {note}")
    print(f"\n{sum(r.clean for r in rows)} of {len(rows)} rows clean")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--terms", type=int, default=5)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=6000)
    parser.add_argument("--encoder", default="mobilenet_v2.random")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--disk-mb", type=int, default=90, help="tmpfs size; embedkit keeps 64 MB free")
    parser.add_argument("--skip", action="append", default=[], choices=["kill", "term", "disk", "corrupt"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="embedkit-faults-") as folder:
        work = Path(folder)
        runner = Runner(args, work)
        reference_store = work / "reference"
        clean = runner.ingest(reference_store)
        if clean.code != 0:
            print(clean.stderr, file=sys.stderr)
            return 1
        reference, _ = stored_vectors(reference_store)
        print(f"reference: {len(reference)} vectors of {args.dataset} ({args.split}) with {args.encoder} "
              f"in {clean.seconds:.1f} s per clean run\n")
        rows = []
        if "kill" not in args.skip:
            rows.append(kill_rounds(runner, reference, args.kills))
        if "term" not in args.skip:
            rows.append(sigterm(runner, reference, args.terms))
        if "disk" not in args.skip:
            rows.append(full_disk(runner, reference))
        if "corrupt" not in args.skip:
            rows += corrupted_copies(runner, reference_store, reference)
        print_rows(rows)
        return 0 if all(row.clean for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
