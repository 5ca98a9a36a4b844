"""``setoolkit listen serve`` as a real process (uvicorn on a free localhost port) under load: 20 scripted
listeners at once over HTTP with every rating on disk (and the save latency measured), and a server killed and
restarted in the middle of a test with nothing lost."""

from __future__ import annotations

import json
import signal
import threading
import time

import httpx
import pytest
from serve_helpers import free_port, percentile, served_copy, server_process, take_test

from setoolkit.listening.results import collect_results, result_path
from setoolkit.listening.server import invite, load_invitations

pytestmark = pytest.mark.slow
N_LISTENERS = 20


def _listeners_at_once(base, test, inv, **kwargs) -> dict:
    """Every invited listener takes the test in their own thread; returns {listener: take_test's answer}."""
    out, errors = {}, []

    def one(listener):
        try:
            out[listener] = take_test(base, test, listener, inv.listeners[listener], **kwargs)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(f"{listener}: {exc!r}")

    threads = [threading.Thread(target=one, args=(i,)) for i in inv.listeners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    return out


def _every_rating_on_disk(d, test, sent: dict, *, crashed: bool = False) -> None:
    """Each listener's file holds exactly the ratings they sent; nothing to merge or skip. After a crash
    (``crashed``) a temporary file of a write the kill interrupted may remain beside the intact file."""
    for listener, got in sent.items():
        on_disk = json.loads(result_path(d / "results", test.id, listener).read_text())
        assert {t: v["ratings"] for t, v in on_disk["trials"].items()} == got["ratings"], listener
        assert on_disk["done"] and on_disk["headphone_check"]["passed"], listener
    collected = collect_results(d / "results", test)
    assert len(collected.results) == len(sent) and collected.warnings == []
    assert crashed or not list((d / "results").glob("*.tmp"))
    assert not list((d / "results").glob("*.corrupt*"))


def test_twenty_listeners_at_once_every_rating_on_disk(mushra, tmp_path, capsys):
    src, test = mushra
    d = served_copy(src, tmp_path / "mushra")
    inv, _ = invite(d, test.id, N_LISTENERS)
    port = free_port()
    with server_process(d, port, "--root-path", "/lab/mushra"):  # behind a proxy that strips /lab/mushra
        base = f"http://127.0.0.1:{port}"
        sent = _listeners_at_once(base, test, inv)
        admin = {"Authorization": f"Bearer {inv.admin}"}
        summary = httpx.get(f"{base}/admin/api/progress", headers=admin).json()["summary"]
        proxied = {**admin, "X-Forwarded-Proto": "https", "Host": "lab.example.org"}  # what nginx passes on
        links = httpx.get(f"{base}/admin/api/invitations", headers=proxied).json()["invitations"]
    assert links[0]["link"] == f"https://lab.example.org/lab/mushra/l/{inv.listeners['L01']}/"
    _every_rating_on_disk(d, test, sent)
    assert summary["started"] == summary["finished"] == N_LISTENERS
    assert summary["ratings"] == N_LISTENERS * len(test.trials)
    latency = [s for got in sent.values() for s in got["latency"]]
    assert len(latency) == N_LISTENERS * (len(test.trials) + 1)
    line = (
        f"save latency, {N_LISTENERS} listeners at once ({len(latency)} saves, each listener also fetching its "
        f"sounds): p50 {1000 * percentile(latency, 0.5):.1f} ms, p95 {1000 * percentile(latency, 0.95):.1f} ms, "
        f"max {1000 * max(latency):.1f} ms"
    )
    (tmp_path / "latency.txt").write_text(line + "\n")
    with capsys.disabled():
        print("\n" + line)


def test_a_server_killed_and_restarted_mid_test_loses_nothing(mushra, tmp_path):
    src, test = mushra
    d = served_copy(src, tmp_path / "mushra")
    inv, _ = invite(d, test.id, N_LISTENERS)
    port = free_port()
    saves, lock = [0], threading.Lock()

    def counted():
        with lock:
            saves[0] += 1
        time.sleep(0.05)  # listeners spread over the restart

    base = f"http://127.0.0.1:{port}"
    result: dict = {}
    failed: list[str] = []

    def listeners():
        try:
            result.update(_listeners_at_once(base, test, inv, fetch_audio=False, on_saved=counted))
        except AssertionError as exc:
            failed.append(str(exc))

    runner = threading.Thread(target=listeners)
    total = N_LISTENERS * len(test.trials)
    with server_process(d, port) as first:
        runner.start()
        while saves[0] < total // 3:
            assert runner.is_alive()
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)  # a crash: no graceful shutdown
        first.wait()
    at_kill = saves[0]
    assert at_kill < total, "every listener finished before the server went down"
    time.sleep(1.0)  # listeners meet a dead server and keep their rating
    with server_process(d, port):
        runner.join(timeout=600)
        assert not runner.is_alive()
    assert not failed, failed
    attempts = [n for got in result.values() for n in got["attempts"]]
    assert max(attempts) > 1  # some saves did meet the dead server and were retried
    _every_rating_on_disk(d, test, result, crashed=True)
    assert load_invitations(d, test.id).listeners == inv.listeners  # same links after the restart
