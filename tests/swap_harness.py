"""Clients asking a real server while `assistant ingest` runs into its data dir (the live index swap).

Used by tests/test_swap.py (20 s) and benchmarks/bench_swap.py (60 s). Each client keeps one keep-alive
HTTP connection, so a reset connection is seen as an error, like a 5xx. A monitor polls /api/health to
see when the server switched version; the first answer that cites the new document marks the moment it
became answerable.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[1]
NEW_DOC_ID = "eswt-swap"  # the file name's stem is the doc_id
NEW_DOC = """# 体外冲击波疗法指引

## 疗程安排

体外冲击波疗法每次治疗间隔 7 天，共进行 3 至 5 次治疗。每次治疗冲击 2000 次。

## 术后护理

冲击波治疗后 48 小时内避免剧烈运动。
"""
NEW_QUESTION = "体外冲击波疗法每次治疗间隔多久?"
NEW_QUOTE = "每次治疗间隔 7 天"
PREGNANT = {"turns": ["能做PRP吗?"], "patient": {"pregnant": True}}
BODIES = [
    {"turns": ["PRP注射前需要停用NSAIDs多久?"]},
    PREGNANT,
    {"turns": [NEW_QUESTION]},
    {"turns": ["What are the contraindications of regenerative medicine therapies?"]},
    {"turns": ["我该打多少个干细胞?"], "audience": "patient"},
]


@dataclass
class Sample:
    start: float  # seconds since the run began
    end: float
    status: int  # 0: no HTTP status (connection error)
    error: str = ""
    new_doc: bool = False  # the answer cites the new document's sentence
    body: int = 0  # index into BODIES
    level: str = ""


@dataclass
class Figures:
    seconds: float
    clients: int
    samples: list[Sample] = field(default_factory=list)
    ingest_start: float = 0.0
    ingest_end: float = 0.0
    ingest_rc: int | None = None
    ingest_output: str = ""
    old_version: str = ""
    new_version: str = ""
    health_switch: float | None = None  # first /api/health showing the new version
    health_errors: int = 0
    health: list[tuple[float, str]] = field(default_factory=list)

    @property
    def errors(self) -> list[Sample]:
        return [s for s in self.samples if s.status != 200]

    @property
    def first_answerable(self) -> float | None:
        """When the first answer citing the new document came back."""
        return min((s.end for s in self.samples if s.new_doc), default=None)

    @property
    def not_blocked(self) -> list[Sample]:
        """Pregnancy questions that did not come back as a block (the guard must hold throughout)."""
        return [s for s in self.samples if s.status == 200 and BODIES[s.body] is PREGNANT and s.level != "block"]

    def latencies_ms(self) -> list[float]:
        return sorted((s.end - s.start) * 1000 for s in self.samples if s.status == 200)

    def summary(self) -> str:
        lat = self.latencies_ms()
        p = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]) if lat else (lambda q: float("nan"))
        kinds: dict[str, int] = {}
        for s in self.errors:
            k = f"HTTP {s.status}" if s.status else s.error.split(":")[0]
            kinds[k] = kinds.get(k, 0) + 1
        fa = self.first_answerable
        during = [s for s in self.samples if self.ingest_start <= s.start <= self.ingest_end]
        lines = [
            f"live index swap: {self.clients} clients for {self.seconds:.0f} s, `assistant ingest` from "
            f"{self.ingest_start:.1f} s to {self.ingest_end:.1f} s (rc {self.ingest_rc})",
            f"  requests: {len(self.samples)} ({len(during)} started during the ingest); "
            f"errors: {len(self.errors)} {kinds or ''}; health errors: {self.health_errors}",
            f"  latency ms (200s): p50 {p(0.50):.0f}, p95 {p(0.95):.0f}, max {lat[-1] if lat else float('nan'):.0f}",
            f"  version {self.old_version} -> {self.new_version}; /api/health showed it at "
            + (f"{self.health_switch:.2f} s ({self.health_switch - self.ingest_end:+.2f} s after the ingest ended)"
               if self.health_switch is not None else "never"),
            "  new document first answered (cited) at "
            + (f"{fa:.2f} s ({fa - self.ingest_end:+.2f} s after the ingest ended)" if fa is not None else "never"),
            f"  pregnancy questions not blocked: {len(self.not_blocked)}",
        ]
        return "\n".join(lines)


def _connect(url: str) -> http.client.HTTPConnection:
    u = urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=120)


def _request(conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None
             ) -> tuple[int, dict]:
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
    r = conn.getresponse()
    raw = r.read()
    try:
        return r.status, json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return r.status, {"_raw": raw[:200].decode("utf-8", "replace")}


def _cites_new_doc(answer: dict) -> bool:
    return any(c.get("doc_id") == NEW_DOC_ID and NEW_QUOTE in c.get("quote", "") for c in answer.get("citations") or [])


def write_new_doc(doc_dir: Path) -> Path:
    doc = doc_dir / f"{NEW_DOC_ID}.md"
    doc.write_text(NEW_DOC, encoding="utf-8")
    return doc


def run(url: str, data_dir: Path, seconds: float = 20.0, ingest_at: float = 5.0, clients: int = 8,
        doc_dir: Path | None = None, env: dict[str, str] | None = None, log=print,
        command: list[str] | None = None, wait_switch_s: float = 0.0) -> Figures:
    """Ask from `clients` threads for `seconds`; at `ingest_at` run `assistant ingest <new doc>` (or the
    `assistant` arguments in `command`, e.g. ["docs", "remove", ID]) into `data_dir` (the server's).
    With `wait_switch_s`, clients keep asking past `seconds` (up to that much longer) until /api/health shows
    the new version, and one second more: a slow command on busy cores still has its switch observed.
    Returns every sample and the ingest and health timings."""
    doc = write_new_doc(doc_dir or data_dir.parent)
    command = command or ["ingest", "--quiet", str(doc)]
    fig = Figures(seconds, clients)
    conn = _connect(url)
    fig.old_version = _request(conn, "GET", "/api/health")[1]["corpus_version"]
    conn.close()
    t0 = time.monotonic()
    stop = threading.Event()
    lock = threading.Lock()

    def client(i: int) -> None:
        conn = _connect(url)
        n = i
        while not stop.is_set():
            b = n % len(BODIES)
            n += 1
            s = time.monotonic() - t0
            try:
                status, d = _request(conn, "POST", "/api/ask", BODIES[b])
                sample = Sample(s, time.monotonic() - t0, status, "" if status == 200 else str(d)[:200],
                                status == 200 and _cites_new_doc(d), b, d.get("level", ""))
            except (OSError, http.client.HTTPException) as e:
                sample = Sample(s, time.monotonic() - t0, 0, f"{type(e).__name__}: {e}", body=b)
                conn.close()
                conn = _connect(url)
            with lock:
                fig.samples.append(sample)
        conn.close()

    def monitor() -> None:
        conn = _connect(url)
        while not stop.is_set():
            try:
                status, d = _request(conn, "GET", "/api/health")
                v = d.get("corpus_version", "") if status == 200 else ""
                if status != 200:
                    fig.health_errors += 1
                fig.health.append((time.monotonic() - t0, v))
            except (OSError, http.client.HTTPException):
                fig.health_errors += 1
                conn.close()
                conn = _connect(url)
            time.sleep(0.1)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    threads.append(threading.Thread(target=monitor, daemon=True))
    for t in threads:
        t.start()
    time.sleep(max(0.0, ingest_at - (time.monotonic() - t0)))
    fig.ingest_start = time.monotonic() - t0
    run_env = dict(env or os.environ)
    run_env["ASSISTANT_DATA_DIR"] = str(data_dir)
    proc = subprocess.run([sys.executable, "-m", "assistant.cli", "--data-dir", str(data_dir), *command],
                          cwd=REPO, env=run_env, capture_output=True, text=True)
    fig.ingest_end = time.monotonic() - t0
    fig.ingest_rc, fig.ingest_output = proc.returncode, (proc.stdout + proc.stderr)[-3000:]
    m = re.search(r"index ([0-9a-f]{12}) (built|up to date)", proc.stdout)
    fig.new_version = m.group(1) if m else ""
    log(f"ingest: rc {proc.returncode} in {fig.ingest_end - fig.ingest_start:.1f} s: {proc.stdout.strip()[-200:]}")
    time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
    deadline = time.monotonic() + wait_switch_s
    while fig.new_version and time.monotonic() < deadline:
        if any(v == fig.new_version for _, v in list(fig.health)):
            time.sleep(1.0)
            break
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(180)
    fig.health_switch = min((t for t, v in fig.health if fig.new_version and v == fig.new_version), default=None)
    return fig

