"""Faults on purpose: kill -9 at random moments, SIGTERM, a full disk and corrupted copies of a store; after each,
is the collection what a clean ingest makes?

    python benchmarks/fault_injection.py                      # 50 kills, Fashion-MNIST test (first 6,000)
    python benchmarks/fault_injection.py --kills 10 --limit 2000 --skip disk

Each kill round starts from an empty store and runs `embedkit ingest` again and again, killing it (SIGKILL to the
command alone: its decoding workers must die with it) at a random moment, until a run finishes by itself. Then,
against a reference store a clean run made: every sample stored once (count exact, no duplicates), every vector
equal to the reference (to 1e-5), and no Python traceback and no refused re-run in any output. A full disk needs
root (a tmpfs in a private mount namespace, sized from the data: the store's free-space margin plus half of what a clean
run writes); the corruptions work on copies of a finished store (bytes flipped inside the stored vectors, the vector
file cut inside them) and are detected by `embedkit verify --all` or the check a writer runs, then repaired.

Every row makes its fault happen at any size (--limit 300 as at 6,000), or says that it could not and why
("could not: ..."), and such a row counts as neither clean nor failed: a fault that never happened proves nothing.
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

from embedkit.errors import EmbedkitError, StoreLockedError
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
    """Whether the fault happened (a kill landed while points were written, the disk filled, stored vectors were
    damaged): a row whose fault never happened proves nothing and is not clean."""
    could_not: str | None = None
    """Why the fault could not be made to happen (said in the table instead of a verdict)."""
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return (self.faulted and self.could_not is None and self.count_exact and not self.duplicates and self.vectors_equal
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


def clean_run_seconds(runner: Runner) -> tuple[float, float]:
    """How long an ingest into an empty store takes now (the machine's load changes), and when it first wrote to the
    store (before that a kill lands in start-up, not in a write): the window faults land in."""
    store = runner.work / "timing"
    started = time.perf_counter()
    process = subprocess.Popen(EMBEDKIT + runner.ingest_args + ["--qdrant", str(store)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    first_write = None
    while process.poll() is None:
        if first_write is None and (store / COLLECTION).exists():
            first_write = time.perf_counter() - started
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    shutil.rmtree(store, ignore_errors=True)
    return seconds, seconds * 0.5 if first_write is None else first_write


def points_in(store: Path) -> int:
    """Points of the collection in `store` (0 when there is none yet)."""
    if not (store / COLLECTION).exists():
        return 0
    for _ in range(20):  # a killed ingest's decoding workers may hold the store a moment longer
        try:
            with open_store(store) as opened:
                return opened.count(COLLECTION)
        except StoreLockedError:
            time.sleep(0.25)
    return 0


def kill_rounds(runner: Runner, reference: dict[str, np.ndarray], kills: int) -> Row:
    row = Row(f"kill -9 at random moments ({kills})")
    clean_seconds, first_write = clean_run_seconds(runner)
    rng = random.Random(runner.args.seed)
    done = rounds = mid_write = 0
    while done < kills and rounds < 3 * kills:  # a run too short to be killed in must not loop for ever
        store = runner.work / f"kill-round-{rounds}"
        rounds += 1
        while True:
            outcome = runner.ingest(store, kill_after=rng.uniform(first_write, 1.1 * clean_seconds))
            judge_output(row, outcome)
            if outcome.code == -signal.SIGKILL:
                done += 1
                mid_write += 0 < points_in(store) < len(reference)  # some points written, not all: a write cut
                continue
            if outcome.code != 0:
                row.notes.append(f"a re-run failed: {outcome.stderr.strip().splitlines()[-1:]}")
            break
        compare(row, store, reference)
        shutil.rmtree(store, ignore_errors=True)
    row.faulted = mid_write > 0
    if not row.faulted:
        row.could_not = (f"none of {done} kills landed while points were written (a clean run writes from "
                         f"{first_write:.1f} s to {clean_seconds:.1f} s); give a larger --limit")
    row.notes.append(f"{rounds} rounds, each ending in a run that finished by itself; {done} kills between "
                     f"{first_write:.1f} s (the first write) and 1.1 x {clean_seconds:.1f} s (a clean run), "
                     f"{mid_write} of them with some points stored and not all")
    return row


def sigterm(runner: Runner, reference: dict[str, np.ndarray], times: int) -> Row:
    row = Row(f"SIGTERM at random moments ({times})")
    clean_seconds, _ = clean_run_seconds(runner)
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
    if not row.faulted:
        row.could_not = f"every run ended before its SIGTERM (a clean run takes {clean_seconds:.1f} s)"
    return row


def used_mb(folder: Path) -> float:
    """The blocks the files under `folder` take (holes of preallocated files not counted), in MB."""
    return sum(path.stat().st_blocks * 512 for path in folder.rglob("*") if path.is_file()) / 2**20


def empty_collection(reference_store: Path, target: Path) -> None:
    """The reference's collection made again at `target`, with its vector and no point: what a store takes before
    the data. One point is written and deleted, so that what a first write allocates (a log segment) counts too."""
    with open_store(reference_store) as reference:
        name = reference.default_vector(COLLECTION)
        record = reference.vector_record(COLLECTION, name)
    with open_store(target) as store:
        store.ensure_vector(COLLECTION, name, record)
        store.upsert(COLLECTION, name, ["fault-injection/first-write"], np.eye(1, record.dim, dtype=np.float32), [{}])
        store.delete(COLLECTION, ["fault-injection/first-write"])


def disk_size_kb(min_free_mb: float, before_data_mb: float, data_mb: float) -> int:
    """A disk (in KB) on which an ingest fills up half-way through the data: the free-space margin the embedded store
    keeps, what the store takes on that disk before the first point, and half of what the points add."""
    return int(np.ceil(1024 * (min_free_mb + before_data_mb + data_mb / 2)))


SIZE_THE_DISK = """
import os, sys
from pathlib import Path
sys.path.insert(0, {here!r})
import fault_injection as faults
mount, reference = Path({mount!r}), Path({reference!r})
faults.empty_collection(reference, mount / "st")
stat = os.statvfs(mount)
before = (stat.f_blocks - stat.f_bfree) * stat.f_frsize / 2**20
print(faults.disk_size_kb({min_free}, before, {data_mb}))
"""


def full_disk(runner: Runner, reference: dict[str, np.ndarray], reference_store: Path) -> Row:
    min_free = float(os.environ.get("EMBEDKIT_MIN_FREE_MB") or 64)
    empty = runner.work / "empty"
    empty_collection(reference_store, empty)
    data_mb = used_mb(reference_store) - used_mb(empty)  # what the points add to a store
    shutil.rmtree(empty)
    row = Row(f"full disk (a tmpfs sized from the data: {data_mb:.1f} MB of points), then the store moved")
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        row.could_not = "needs root and unshare for a private tmpfs"
        return row
    mount = runner.work / "tmpfs"
    mount.mkdir()
    moved = runner.work / "moved"
    inner = runner.work / "inner.sh"
    ingest = " ".join(EMBEDKIT + runner.ingest_args)
    sizing = runner.work / "size_the_disk.py"
    sizing.write_text(SIZE_THE_DISK.format(here=str(Path(__file__).resolve().parent), mount=str(mount),
                                           reference=str(reference_store), min_free=min_free, data_mb=data_mb))
    size = f"{1024 * runner.args.disk_mb}" if runner.args.disk_mb else f"$({sys.executable} {sizing})"
    inner.write_text(f"""set -u
mount -t tmpfs -o size=1024m tmpfs {mount}
size={size}
echo $size > {runner.work}/disk-size
mount -o remount,size=${{size}}k {mount}
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
    disk_mb = f"{int((runner.work / 'disk-size').read_text().strip() or 0) / 1024:.1f}"
    row.notes.append(f"the tmpfs: {disk_mb} MB ({min_free:g} MB kept free, an empty store, half the points)")
    ingest_error = (runner.work / "disk-ingest.err").read_text(errors="replace")
    if row.faulted and points_in(moved) == 0 and "writing" not in ingest_error:
        row.faulted = False  # refused before its first write: the disk was full, not filled by the ingest
    if not row.faulted:
        row.could_not = f"the ingest did not fill the {disk_mb} MB tmpfs half-way (pass another --disk-mb)"
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


def vector_offsets(path: Path, reference: dict[str, np.ndarray], sample: int = 64) -> list[int]:
    """Where stored vectors lie in `path`: the byte offsets of (up to `sample`) reference vectors found in it as
    float32. A preallocated file is mostly empty: flips must land in these, not anywhere in the file."""
    data = path.read_bytes()
    offsets = []
    for vector in list(reference.values())[:sample]:
        found = data.find(np.asarray(vector, np.float32).tobytes())
        if found >= 0:
            offsets.append(found)
    return sorted(offsets)


def flip_inside(path: Path, offsets: list[int], width: int, rng: random.Random, flips: int = 64) -> int:
    """Flip `flips` bytes, each inside one of the stored vectors at `offsets` (each `width` bytes); the flips made."""
    data = bytearray(path.read_bytes())
    positions = sorted({offset + rng.randrange(width) for offset in rng.choices(offsets, k=flips)})
    for position in positions:
        data[position] ^= 0xFF
    path.write_bytes(bytes(data))
    return len(positions)


def corrupted_copies(runner: Runner, reference_store: Path, reference: dict[str, np.ndarray]) -> list[Row]:
    rng = random.Random(runner.args.seed + 2)
    vectors_at = vector_file(reference_store).relative_to(reference_store)  # a copy fills the holes: choose here
    offsets = vector_offsets(reference_store / vectors_at, reference)
    width = 4 * len(next(iter(reference.values())))
    cannot = None if offsets else f"no stored vector found as float32 in {vectors_at} (another layout?)"

    def flip_bytes(copy: Path) -> str:
        made = flip_inside(copy / vectors_at, offsets, width, rng)
        return f"{made} bytes flipped inside {len(offsets)} stored vectors of {vectors_at}"

    def truncate_vectors(copy: Path) -> str:
        target = copy / vectors_at
        cut = offsets[len(offsets) // 2]  # inside the used region, not in the preallocated tail
        with open(target, "r+b") as stream:
            stream.truncate(cut)
        return f"{vectors_at} cut at byte {cut:,} (the stored vectors run from {offsets[0]:,} to {offsets[-1] + width:,})"

    def lose_wal(copy: Path) -> str:
        lost = 0
        for path in (copy / COLLECTION / "wal").iterdir():
            lost += 1
            path.unlink() if path.is_file() else shutil.rmtree(path)
        return f"{lost} write-ahead log files removed"

    rows = []
    for name, damage in (("64 flipped bytes in the vector file", flip_bytes),
                         ("the vector file cut in half", truncate_vectors),
                         ("the write-ahead log lost", lose_wal)):
        row = Row(f"corrupted copy: {name}")
        if cannot is not None and damage is not lose_wal:
            row.could_not = cannot
            rows.append(row)
            continue
        copy = runner.work / f"corrupt-{len(rows)}"
        shutil.copytree(reference_store, copy)
        (copy / ".embedkit.lock").unlink(missing_ok=True)
        row.notes.append(damage(copy))
        check = runner.run(["verify", "-c", COLLECTION, "--all", "--json", "--device", "cpu", "--qdrant", str(copy)])
        judge_output(row, check)
        differing = len(json.loads(check.stdout)["differing"]) if check.code in (0, 1) and check.stdout else 0
        detected = differing > 0 or LOST in check.stderr
        repair = runner.run(["verify", "-c", COLLECTION, "--all", "--repair", "--device", "cpu", "--qdrant", str(copy)])
        judge_output(row, repair)
        finish = runner.ingest(copy)
        judge_output(row, finish)
        detected = detected or LOST in finish.stderr
        row.faulted = True  # the damage was made where the data is; `detected` says whether it was seen
        row.notes.append(f"{'detected' if detected else 'nothing to detect'}: {differing} vectors differ"
                         f"{', points reported lost' if LOST in check.stderr + finish.stderr else ''}; "
                         f"verify exit {check.code}, repair exit {repair.code}, re-ingest exit {finish.code}")
        if finish.code == 0:
            try:
                compare(row, copy, reference)
            except EmbedkitError as error:  # the damage outlived verify, repair and the re-ingest
                row.count_exact = row.vectors_equal = False
                row.notes.append(f"reading the collection after the re-ingest fails: {str(error)[:160]}")
        else:
            row.count_exact = row.vectors_equal = False
            row.notes.append(f"re-ingest: {finish.stderr.strip().splitlines()[-1:]}")
        rows.append(row)
    return rows


def print_rows(rows: list[Row]) -> None:
    print(f"{'scenario':56} {'runs':>4}  fault  count  dup  vectors  tracebacks  refused")
    for row in rows:
        if row.could_not is not None:
            print(f"{row.scenario:56} {row.runs:4}  could not: {row.could_not}")
            for note in row.notes:
                print(f"    {note}")
            continue
        print(f"{row.scenario:56} {row.runs:4}  {'yes' if row.faulted else 'NONE':5}  "
              f"{'exact' if row.count_exact else 'WRONG':5} {row.duplicates:4}  "
              f"{'equal' if row.vectors_equal else 'DIFFER':7}  {row.tracebacks:10}  {row.refused:7}")
        for note in row.notes:
            print(f"    {note}")
    made = [row for row in rows if row.could_not is None]
    print(f"\n{sum(r.clean for r in made)} of {len(made)} rows clean"
          + (f"; {len(rows) - len(made)} fault(s) could not be made (said above)" if len(made) < len(rows) else ""))


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
    parser.add_argument("--disk-mb", type=int, default=None,
                        help="tmpfs size (default: from the data: the 64 MB embedkit keeps free, an empty store, and "
                             "half of what the points add)")
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
            rows.append(full_disk(runner, reference, reference_store))
        if "corrupt" not in args.skip:
            rows += corrupted_copies(runner, reference_store, reference)
        print_rows(rows)
        return 0 if all(row.clean for row in rows if row.could_not is None) else 1


if __name__ == "__main__":
    sys.exit(main())
