"""Helpers of the ``setoolkit listen serve`` tests: a private copy of a built test, scripted listeners over HTTP,
the server as a real process (``python -m setoolkit listen serve``) on a free localhost port."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from setoolkit.listening.design import TestDefinition, listener_plan

ROOT = Path(__file__).resolve().parents[2]


def served_copy(src: Path, dst: Path) -> Path:
    """A copy of the built test folder ``src`` at ``dst`` without results or invitations (each test its own)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("results", "invitations.json"))
    return dst


def scripted_ratings(test: TestDefinition, listener: str, trial_id: str, order: list[str]) -> dict:
    """The ratings a scripted listener gives one trial: MUSHRA the hidden reference 100 and the others a
    value fixed by (listener, stimulus); P.835 SIG/BAK/OVRL; CCR/ACR a score (ACR controls: their answer)."""
    trial = next(t for t in test.trials if t.id == trial_id)
    system = {s.id: s.system for s in trial.stimuli}

    def value(sid: str, lo: int, hi: int) -> int:
        h = int(hashlib.sha256(f"{listener}|{sid}".encode()).hexdigest()[:8], 16)
        return lo + h % (hi - lo + 1)

    if test.kind == "mushra":
        return {sid: 100 if system[sid] == "reference" else value(sid, 5, 85) for sid in order}
    if test.kind == "p835":
        return {sid: {k: value(sid + k, 1, 5) for k in ("SIG", "BAK", "OVRL")} for sid in order}
    if test.kind == "ccr":
        return {"score": value(order[1], -3, 3)}
    if trial.control:  # P.808 trap or gold clip: an attentive listener gives the known answer
        return {"score": int(trial.control["expected"])}
    return {"score": value(order[0], 1, 5)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_until_saved(client: httpx.Client, url: str, payload: dict, *, timeout: float = 120.0) -> tuple[float, int]:
    """POST ``payload`` until the server answers 200, retrying while it is unreachable or answers 5xx (a
    restart); returns (seconds the successful request took, attempts). A 4xx fails the test."""
    end = time.monotonic() + timeout
    for attempt in range(1, 10_000):
        t0 = time.perf_counter()
        try:
            r = client.post(url, json=payload)
        except httpx.TransportError:
            r = None
        took = time.perf_counter() - t0
        if r is not None and r.status_code == 200:
            return took, attempt
        assert r is None or r.status_code >= 500, f"{url}: {r.status_code} {r.text}"
        assert time.monotonic() < end, f"{url}: not saved after {timeout:.0f} s"
        time.sleep(0.2)
    raise AssertionError("unreachable")


def get_until_ok(client: httpx.Client, url: str, *, timeout: float = 120.0) -> httpx.Response:
    """GET ``url``, retried while the server is unreachable or answers 5xx (a restart); a 4xx fails the test."""
    end = time.monotonic() + timeout
    while True:
        try:
            r = client.get(url)
            if r.status_code < 500:
                assert r.status_code == 200, f"{url}: {r.status_code} {r.text[:200]}"
                return r
        except httpx.TransportError:
            pass
        assert time.monotonic() < end, f"{url}: no answer after {timeout:.0f} s"
        time.sleep(0.2)


def take_test(base: str, test: TestDefinition, listener: str, token: str, *, fetch_audio: bool = True,
              on_saved=None) -> dict:  # fmt: skip
    """A scripted listener at ``base``: the page, their state, the headphone check, then every trial of their
    plan (its sounds fetched, the ratings POSTed; every request retried through a restart). Returns
    ``{"ratings": {trial: ratings}, "latency": [s per save], "attempts": [...]}``; ``on_saved()`` is called
    after each save."""
    url = f"{base}/l/{token}/"
    out: dict = {"ratings": {}, "latency": [], "attempts": []}
    with httpx.Client(timeout=30.0) as c:
        get_until_ok(c, url)
        state = get_until_ok(c, url + "api/state").json()
        assert state["listener"] == listener
        done = (state["result"] or {}).get("trials", {})
        took, n = post_until_saved(c, url + "api/rating", {"headphone_check": {"answer": test.headphone_side}})
        out["latency"].append(took)
        out["attempts"].append(n)
        trials = {t.id: t for t in test.trials}
        for entry in listener_plan(test, listener):
            if entry["trial"] in done:
                continue
            if fetch_audio:
                for s in trials[entry["trial"]].stimuli:
                    assert get_until_ok(c, url + s.file).content[:4] == b"RIFF", s.file
            ratings = scripted_ratings(test, listener, entry["trial"], entry["order"])
            payload = {"trial": entry["trial"], "order": entry["order"], "ratings": ratings}
            took, n = post_until_saved(c, url + "api/rating", payload)
            out["ratings"][entry["trial"]] = ratings
            out["latency"].append(took)
            out["attempts"].append(n)
            if on_saved is not None:
                on_saved()
    return out


@contextlib.contextmanager
def server_process(test_dir: Path, port: int, *extra: str, log: Path | None = None):
    """``python -m setoolkit listen serve test_dir --port port`` until the block ends (SIGTERM); yields the
    process once it answers."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    out = open(log or test_dir.parent / f"server-{port}.log", "a")
    cmd = [sys.executable, "-m", "setoolkit", "listen", "serve", str(test_dir), "--port", str(port), *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", proc)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        out.close()


def wait_until_up(url: str, proc: subprocess.Popen | None = None, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if (proc is not None and proc.poll() is not None) or time.monotonic() > end:
            raise AssertionError(f"the server at {url} did not start (exit {proc and proc.poll()})")
        time.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, linear between order statistics."""
    v = sorted(values)
    k = (len(v) - 1) * q
    lo = int(k)
    return v[lo] + (v[min(lo + 1, len(v) - 1)] - v[lo]) * (k - lo)
