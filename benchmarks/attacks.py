"""The attacks of issue 26 re-run against `embedkit serve` (its own process, as a user starts it); one table.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/attacks.py            # about a minute on 2 cores

Builds a small collection (a few coloured squares and one 88-megapixel PNG of about 100 KB), serves it with an
access key from a file, a 5 MiB upload limit and a FIFO among its bench results, then sends: chunked 300 MB
multipart and JSON bodies without the key and with it, deep filters in a JSON body and in a form, thumbnails of
the 88 MP image at many sizes at once, foreign Host headers, requests for the FIFO's bench results, and path
traversal samples; then Ctrl-C. Each row: requests sent, status codes, MiB the client got to send, the server's
RSS before and after (MiB) and seconds. The last lines: the server's peak RSS, the seconds Ctrl-C took, and the
tracebacks in its log (0 expected).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from PIL import Image

MiB = 2**20
KEY = "attack-bench-key"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memory(pid: int, field: str = "VmRSS") -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith(field))) / 1024


def build(root: Path) -> tuple[Path, str]:
    (root / "img").mkdir(parents=True)
    rows = []
    for index, colour in enumerate(("red", "green", "blue", "white")):
        Image.new("RGB", (64, 48), colour).save(root / "img" / f"{colour}.png")
        rows.append({"path": f"img/{colour}.png", "label": colour, "split": "test"})
    Image.new("L", (11000, 8000), 128).save(root / "img" / "huge.png")  # 88 MP: just under Pillow's bomb limit
    rows.append({"path": "img/huge.png", "label": "huge", "split": "test"})
    with open(root / "list.csv", "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=["path", "label", "split"])
        writer.writeheader()
        writer.writerows(rows)
    subprocess.run([sys.executable, "-m", "embedkit", "ingest", f"manifest:{root / 'list.csv'}", "--encoder", "pixels",
                    "--image-size", "8", "--workers", "0", "-c", "attacks", "--qdrant", str(root / "store")],
                   check=True, capture_output=True)
    return root / "store", "manifest/img/huge.png"


def chunked(total: int, sent: list[int], head: bytes):
    yield head
    while sent[0] < total:
        sent[0] += MiB
        yield b"\0" * MiB


class Bench:
    def __init__(self, url: str, pid: int):
        self.url, self.pid, self.rows = url, pid, []
        self.client = httpx.Client(limits=httpx.Limits(max_connections=32))

    def row(self, attack: str, send) -> None:
        before, started = memory(self.pid), time.perf_counter()
        statuses, sent = send()
        self.rows.append((attack, sum(statuses.values()), ", ".join(f"{code} x{count}" for code, count in
                                                                    sorted(statuses.items(), key=str)),
                          f"{sent / MiB:.0f}" if sent is not None else "", f"{before:.0f}", f"{memory(self.pid):.0f}",
                          f"{time.perf_counter() - started:.1f}"))

    def request(self, method: str, path: str, timeout: float = 30, **kwargs) -> str:
        try:
            return str(self.client.request(method, f"{self.url}{path}", timeout=timeout, **kwargs).status_code)
        except httpx.TimeoutException:
            return "time-out"
        except httpx.TransportError:
            return "closed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--body-mb", type=int, default=300, help="Size of each chunked body a client tries to send.")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="embedkit-attacks-"))
    store, huge = build(root)
    (root / "results").mkdir()
    os.mkfifo(root / "results" / "fifo.json")
    (root / "key").write_text(KEY + "\n")
    port = free_port()
    log = open(root / "server.log", "w+")
    server = subprocess.Popen([sys.executable, "-m", "embedkit", "serve", "--qdrant", str(store), "--port", str(port),
                               "--access-key-file", str(root / "key"), "--max-upload-mb", "5",
                               "--results", str(root / "results")], stdout=log, stderr=log,
                              env={**os.environ, "TMPDIR": str(root)},
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler))
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            httpx.get(f"{url}/api/health", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.5)
    bench = Bench(url, server.pid)
    keyed = {"x-api-key": KEY}
    collection = "/api/collections/attacks"
    multipart = ("multipart/form-data; boundary=b", b'--b\r\nContent-Disposition: form-data; name="image"; '
                 b'filename="a.png"\r\nContent-Type: image/png\r\n\r\n')
    json_body = ("application/json", b'{"text": "')

    def body_attack(path: str, kind: tuple[str, bytes], headers: dict[str, str]):
        def send():
            sent = [0]
            status = bench.request("POST", path, content=chunked(args.body_mb * MiB, sent, kind[1]),
                                   headers={"content-type": kind[0], **headers})
            return Counter([status]), sent[0]
        return send

    bench.row(f"chunked multipart {args.body_mb} MB, no key", body_attack(f"{collection}/search/image", multipart, {}))
    bench.row(f"chunked JSON {args.body_mb} MB, no key", body_attack(f"{collection}/search", json_body, {}))
    bench.row(f"chunked multipart {args.body_mb} MB, key, 5 MiB limit",
              body_attack(f"{collection}/search/image", multipart, keyed))
    bench.row(f"chunked JSON {args.body_mb} MB, key, 8 MiB limit", body_attack(f"{collection}/search", json_body, keyed))

    deep = "[" * 3000 + "]" * 3000

    def deep_filters():
        statuses = Counter()
        for _ in range(10):
            statuses[bench.request("POST", f"{collection}/search", headers={**keyed, "content-type": "application/json"},
                                   content='{"id": "x", "filter": %s}' % deep)] += 1
            statuses[bench.request("POST", f"{collection}/search/image", headers=keyed, data={"filter": deep},
                                   files={"image": ("a.png", (root / "img" / "red.png").read_bytes(), "image/png")})] += 1
        return statuses, None

    bench.row('deep filter ("[" x 3000), JSON body and form', deep_filters)

    def thumbnails(sizes):
        def send():
            with ThreadPoolExecutor(len(sizes)) as pool:
                return Counter(pool.map(lambda size: bench.request(
                    "GET", f"{collection}/image", params={"id": huge, "size": size}, headers=keyed, timeout=120),
                    sizes)), None
        return send

    bench.row("88 MP PNG thumbnails, sizes 500-507 at once", thumbnails(list(range(500, 508))))
    bench.row("88 MP PNG thumbnails, 16 sizes 16-1024 at once", thumbnails([16 + 67 * i for i in range(16)]))

    def hosts():
        names = ["attacker.example", "attacker.example:80", "evil.localhost.example", "127.0.0.1.nip.io", "[::2]"]
        return Counter(bench.request("GET", "/api/collections", headers={"host": name}) for name in names * 4), None

    bench.row("foreign Host header (DNS rebinding)", hosts)

    def fifo():
        statuses = Counter()
        with ThreadPoolExecutor(5) as pool:
            statuses.update(pool.map(lambda _: bench.request("GET", f"{collection}/bench", headers=keyed, timeout=3),
                                     range(5)))
        statuses.update(f"health {bench.request('GET', '/api/health', timeout=5)}" for _ in range(3))
        return statuses, None

    bench.row("FIFO fifo.json in --results: /bench x5, then /api/health", fifo)

    def traversal():
        samples = ["../../../../etc/passwd", "/etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", str(root / "key"),
                   "manifest/img/../../key", "manifest/../../../etc/passwd"]
        statuses = Counter(bench.request("GET", f"{collection}/image", params={"id": sample}, headers=keyed)
                           for sample in samples)
        for path in ("/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                     "/docs/assets/..%2f..%2f..%2fetc%2fpasswd", "/static/..%2f..%2fserve%2fapp.py"):
            response = bench.client.get(f"{url}{path}", headers=keyed, timeout=10)
            statuses[str(response.status_code)] += 1
            assert b"root:" not in response.content and b"create_app" not in response.content
        return statuses, None

    bench.row("path traversal samples (image ids, /static, /docs/assets)", traversal)

    peak = memory(server.pid, "VmHWM")
    interrupted = time.perf_counter()
    server.send_signal(signal.SIGINT)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    stopped = time.perf_counter() - interrupted
    log.seek(0)
    text = log.read()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs; server on {url}\n")
    print("| attack | requests | status codes | MiB sent | RSS before | RSS after | seconds |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for row in bench.rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print(f"\nserver peak RSS {peak:.0f} MiB; Ctrl-C stopped it in {stopped:.1f} s (exit {server.returncode}); "
          f"tracebacks in its log: {text.count('Traceback')}; temporary files left: "
          f"{len([entry for entry in root.iterdir() if entry.name.startswith('tmp')])}")


if __name__ == "__main__":
    main()
