"""``setoolkit listen serve`` over HTTP (Starlette's TestClient): invitations, one atomic save per rating in the
files the analysis reads, resume, and the security rules (tokens, manifest-only files, body limits, admin)."""

from __future__ import annotations

import hmac
import io
import json
import stat
import threading
import zipfile

import httpx
import pytest
from serve_helpers import scripted_ratings, served_copy

from setoolkit.cli import main
from setoolkit.listening import listener_plan, ratings_frame
from setoolkit.listening.page import audio_urls
from setoolkit.listening.results import collect_results, load_results, result_path
from setoolkit.listening.secret import completion_code
from setoolkit.listening.server import BackgroundServer, create_app, invite, load_invitations
from setoolkit.listening.server import invitations as invitations_module

TestClient = pytest.importorskip("starlette.testclient").TestClient


@pytest.fixture
def served(mushra, tmp_path):
    """(test dir, test, client, invitations with L01 and L02) of a private copy of the MUSHRA test."""
    src, test = mushra
    d = served_copy(src, tmp_path / "mushra")
    inv, _ = invite(d, test.id, 2)
    return d, test, TestClient(create_app(d)), inv


def _trial_payload(test, listener, k=0):
    entry = [e for e in listener_plan(test, listener)][k]
    ratings = scripted_ratings(test, listener, entry["trial"], entry["order"])
    return {"trial": entry["trial"], "order": entry["order"], "ratings": ratings}


def _on_disk(d, test, listener):
    path = result_path(d / "results", test.id, listener)
    return json.loads(path.read_text()) if path.exists() else None


def test_each_rating_is_on_disk_when_the_answer_comes_and_the_analysis_reads_it(served):
    d, test, c, inv = served
    url = f"/l/{inv.listeners['L01']}/"
    page = c.get(url)
    assert page.status_code == 200 and 'src="../../assets/listening_server.js"' in page.text
    assert c.get(url + "api/state").json() == {"listener": "L01", "result": None}
    r = c.post(url + "api/rating", json={"headphone_check": {"answer": "right"}})  # wrong: recorded, retry allowed
    assert r.status_code == 200 and _on_disk(d, test, "L01")["headphone_check"]["passed"] is False
    c.post(url + "api/rating", json={"headphone_check": {"answer": test.headphone_side}})
    sent = {}
    for k, entry in enumerate(listener_plan(test, "L01")):
        payload = _trial_payload(test, "L01", k)
        r = c.post(url + "api/rating", json=payload)
        assert r.status_code == 200, r.text
        sent[entry["trial"]] = payload["ratings"]
        on_disk = _on_disk(d, test, "L01")  # written before the answer
        assert {t: v["ratings"] for t, v in on_disk["trials"].items()} == sent
        done = k + 1 == len(test.trials)
        code = {"completion_code": completion_code(d, "L01", test_id=test.id)} if done else {}
        assert r.json() == {"saved": entry["trial"], "trials": k + 1, "done": done, **code}  # the code once done
    result = _on_disk(d, test, "L01")
    assert result["done"] and result["listener"] == "L01"
    assert c.get(url + "api/state").json()["completion_code"] == code["completion_code"]
    assert [a["correct"] for a in result["headphone_check"]["attempts"]] == [False, True]
    assert result["headphone_check"]["passed"] is True
    got = collect_results(d / "results", test)  # the analysis' reader: one listener, no warning
    assert [r["listener"] for r in got.results] == ["L01"] and got.warnings == []
    frame = ratings_frame(got.results, test)
    assert set(frame["listener"]) == {"L01"} and len(frame) > 0
    assert not list((d / "results").glob("*.tmp")) and not list((d / "results").glob("*.corrupt*"))


def test_resume_on_another_device_and_a_listener_sees_only_their_own_result(served):
    d, test, c, inv = served
    one, two = f"/l/{inv.listeners['L01']}/", f"/l/{inv.listeners['L02']}/"
    c.post(one + "api/rating", json={"headphone_check": {"answer": test.headphone_side}})
    c.post(one + "api/rating", json=_trial_payload(test, "L01", 0))
    other_device = TestClient(create_app(d))  # a fresh server process' view, another client
    state = other_device.get(one + "api/state").json()
    assert state["listener"] == "L01" and list(state["result"]["trials"]) == [listener_plan(test, "L01")[0]["trial"]]
    assert other_device.get(two + "api/state").json() == {"listener": "L02", "result": None}
    results_file = result_path("results", test.id, "L01").as_posix()
    for path in (results_file, "results/", f"../{results_file}", "api/state?listener=L01"):
        r = c.get(two + path)
        assert r.status_code == 404 or r.json()["listener"] == "L02", path


def test_writes_need_the_listeners_token(served):
    d, test, c, inv = served
    payload = _trial_payload(test, "L01")
    for url in ("/api/rating", "/l//api/rating", "/l/api/rating", "/l/not-a-token/api/rating",
                f"/l/{inv.listeners['L01'][:-1]}/api/rating", f"/l/{inv.listeners['L01']}x/api/rating",
                f"/l/{inv.admin}/api/rating", "/admin/api/rating"):  # fmt: skip
        r = c.post(url, json=payload)
        assert r.status_code in (404, 405), (url, r.status_code)
    assert not (d / "results").exists() or not list((d / "results").glob("*.json"))


def test_tokens_are_compared_in_constant_time_with_every_stored_one(served, monkeypatch):
    d, test, c, inv = served
    calls, original = [], hmac.compare_digest

    def counting(a, b):
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(invitations_module.hmac, "compare_digest", counting)
    first = inv.listeners["L01"]
    assert inv.listener_for(first) == "L01"
    assert len(calls) == len(inv.listeners)  # no early exit on the first match
    calls.clear()
    assert inv.listener_for("x" * len(first)) is None and len(calls) == len(inv.listeners)
    assert inv.is_admin(inv.admin) and not inv.is_admin(first) and not inv.is_admin("")


def test_only_the_manifests_sounds_are_served(served):
    d, test, c, inv = served
    url = f"/l/{inv.listeners['L01']}/"
    for f in audio_urls(test):
        r = c.get(url + f)
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav" and r.content == (d / f).read_bytes()
    assert c.get(url + next(iter(audio_urls(test))), headers={"Range": "bytes=0-99"}).status_code == 206
    secret_files = [p.name for p in d.iterdir() if p.is_file()]
    assert {"test.json", "invitations.json", "listening_test.html"} <= set(secret_files)
    stim = next(f for f in audio_urls(test) if f.startswith("stimuli/"))
    probes = [*secret_files, "stimuli/", "stimuli", "results", f"{stim}/../../test.json", "stimuli/../test.json",
              "stimuli/%2e%2e/test.json", "%2e%2e/%2e%2e/etc/passwd", "..%2f..%2fetc%2fpasswd", "/etc/passwd",
              "%2fetc%2fpasswd", "stimuli\\..\\test.json", f"{stim}%00", stim.upper(), f"{stim}?x=1/../a"]  # fmt: skip
    for probe in probes:
        r = c.get(url + probe)
        ok = r.status_code == 200 and probe.startswith(f"{stim}?")  # a query string is not a path
        assert r.status_code == 404 or ok, (probe, r.status_code)
    for name in ("listening.js", "listening.css", "listening_server.js"):
        assert c.get(f"/assets/{name}").status_code == 200
    for probe in ("player.js", "report.css", "..%2ftest.json", "%2e%2e/listening/build.py", ""):
        assert c.get(f"/assets/{probe}").status_code == 404, probe
    assert c.get(f"/l/wrong-token/{stim}").status_code == 404  # the sounds need an invitation too


def test_oversized_and_malformed_bodies_are_refused_and_nothing_is_written(served, mushra, tmp_path):
    d, test, c, inv = served
    url = f"/l/{inv.listeners['L01']}/api/rating"
    big = json.dumps({"trial": "t01", "order": [], "ratings": {"x": "y" * 70_000}})
    assert c.post(url, content=big, headers={"content-type": "application/json"}).status_code == 413

    def chunks():  # no Content-Length: the limit counts the bytes as they come
        for _ in range(100):
            yield b" " * 1024

    assert c.post(url, content=chunks(), headers={"content-type": "application/json"}).status_code == 413
    small = TestClient(create_app(d, max_body=200))
    r = small.post(url, json=_trial_payload(test, "L01"))
    assert r.status_code == 413
    assert c.post(url, content=b"{", headers={"content-type": "application/json"}).status_code == 400
    assert c.post(url, content=b"[1, 2]", headers={"content-type": "application/json"}).status_code == 400
    form = c.post(url, data={"trial": "t01"})  # a cross-site form cannot post a rating
    assert form.status_code == 415
    payload = _trial_payload(test, "L01")
    sid = payload["order"][0]
    bad = [
        {**payload, "trial": "nope"},
        {**payload, "ratings": {**payload["ratings"], sid: 101}},
        {**payload, "ratings": {**payload["ratings"], sid: True}},
        {**payload, "ratings": {k: v for k, v in payload["ratings"].items() if k != sid}},
        {**payload, "order": payload["order"][1:]},
        {**payload, "extra": 1},
        {"headphone_check": {"answer": "up"}},
    ]
    for b in bad:
        r = c.post(url, json=b)
        assert r.status_code == 422 and r.json()["error"], (b, r.text)
    assert "101" in c.post(url, json=bad[1]).json()["error"]
    assert not (d / "results").exists() or not list((d / "results").glob("*.json"))


def test_the_admin_needs_the_admin_token_and_sees_progress_and_exports_a_zip(served):
    d, test, c, inv = served
    admin = {"Authorization": f"Bearer {inv.admin}"}
    page = c.get("/admin")
    assert page.status_code == 200 and inv.admin not in page.text
    for path in ("/admin/api/progress", "/admin/api/invitations", "/admin/api/export.zip"):
        for headers in ({}, {"Authorization": f"Bearer {inv.listeners['L01']}"}, {"Authorization": "Bearer x"},
                        {"Authorization": inv.admin}, {"Authorization": f"Basic {inv.admin}"}):  # fmt: skip
            r = c.get(path, headers=headers)
            assert r.status_code == 401 and inv.admin not in r.text, (path, headers)
    assert c.post("/admin/api/invite", json={"n": 1}).status_code == 401
    one = f"/l/{inv.listeners['L01']}/"
    c.post(one + "api/rating", json={"headphone_check": {"answer": test.headphone_side}})
    for k in range(len(test.trials)):
        c.post(one + "api/rating", json=_trial_payload(test, "L01", k))
    c.post(f"/l/{inv.listeners['L02']}/api/rating", json={"headphone_check": {"answer": "both"}})
    p = c.get("/admin/api/progress", headers=admin).json()
    assert p["summary"] | {"median_s_per_trial": None} == {
        "invited": 2, "started": 2, "finished": 1, "headphone_failed": 1, "excluded": 0,
        "ratings": len(test.trials), "median_s_per_trial": None}  # fmt: skip
    rows = {r["listener"]: r for r in p["listeners"]}
    assert rows["L01"]["screening"] == "kept" and rows["L01"]["median_s"] is not None
    assert rows["L02"]["headphone"] == "fail" and rows["L02"]["trials"] == 0
    z = zipfile.ZipFile(io.BytesIO(c.get("/admin/api/export.zip", headers=admin).content))
    names = set(z.namelist())
    assert names == {"test.json", "progress.json", *(f"results/{p.name}" for p in (d / "results").glob("*.json"))}
    assert all(inv.admin not in z.read(n).decode() for n in names)  # no token leaves in the export
    out = d.parent / "unzipped"
    z.extractall(out)
    assert [r["listener"] for r in load_results(out / "results", test)] == ["L01", "L02"]
    new = c.post("/admin/api/invite", json={"n": 2}, headers=admin).json()["invitations"]
    assert [i["listener"] for i in new] == ["L03", "L04"]
    assert c.get(new[0]["link"].replace("http://testserver", "")).status_code == 200  # valid at once
    assert c.post("/admin/api/invite", json={"names": ["../x"]}, headers=admin).status_code == 422
    assert len(c.get("/admin/api/invitations", headers=admin).json()["invitations"]) == 4


def test_links_follow_the_root_path_of_a_reverse_proxy(served):
    d, test, _, inv = served
    c = TestClient(create_app(d), root_path="/lab/mushra")
    page = c.get(f"/lab/mushra/l/{inv.listeners['L01']}/")
    assert page.status_code == 200 and "../../assets/listening_server.js" in page.text  # relative: any prefix
    assert c.get("/lab/mushra/assets/listening_server.js").status_code == 200
    links = c.get("/lab/mushra/admin/api/invitations", headers={"Authorization": f"Bearer {inv.admin}"}).json()
    assert links["invitations"][0]["link"] == f"http://testserver/lab/mushra/l/{inv.listeners['L01']}/"
    r = c.get(f"/lab/mushra/l/{inv.listeners['L01']}", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == f"{inv.listeners['L01']}/"


def test_every_response_carries_the_security_headers_and_the_page_runs_no_inline_script(served):
    d, test, c, inv = served
    page = c.get(f"/l/{inv.listeners['L01']}/")
    for r in (page, c.get("/admin"), c.get("/nope"), c.post("/l/x/api/rating", json={})):
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    scripts = page.text.split("<script")[1:]
    assert all('type="application/json"' in s or 'src="' in s.split(">")[0] for s in scripts)
    for secret in (*test.systems, "anchor_3.5k", inv.admin, *inv.listeners.values()):
        assert secret not in page.text, secret


def test_invite_on_the_command_line_writes_private_tokens(served, capsys):
    d, test, _, inv = served
    assert main(["listen", "invite", str(d), "--n", "3", "--base-url", "https://lab.example.org/mushra/"]) == 0
    lines = capsys.readouterr().out.splitlines()
    new = load_invitations(d, test.id)
    assert [ln.split("\t")[0] for ln in lines] == ["L03", "L04", "L05"]
    assert lines[0].split("\t")[1] == f"https://lab.example.org/mushra/l/{new.listeners['L03']}/"
    assert stat.S_IMODE((d / "invitations.json").stat().st_mode) == 0o600
    assert new.admin == inv.admin and len(set(new.listeners.values())) == 5
    with pytest.raises(SystemExit, match="already invited"):
        main(["listen", "invite", str(d), "--names", "L01"])
    assert main(["listen", "links", str(d)]) == 0
    assert f"admin\thttp://127.0.0.1:8000/admin#{inv.admin}" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["listen", "-h"])
    assert capsys.readouterr().out.startswith("usage: setoolkit listen")


def test_a_background_server_for_notebooks_serves_and_stops(served):
    d, test, _, inv = served
    with BackgroundServer(d) as server:
        assert server.admin_token == inv.admin
        r = httpx.post(f"{server.url}/l/{inv.listeners['L02']}/api/rating", json=_trial_payload(test, "L02"))
        assert r.status_code == 200 and _on_disk(d, test, "L02")["trials"]
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url, timeout=2)


def test_a_crowd_acr_test_served_end_to_end_with_its_screening_and_completion_codes(acr, tmp_path):
    """P.808 ACR as for a crowd: worker links, every clip rated over HTTP, the trapping question answered right by
    one worker and wrong by the other; the admin sees P.808's screening, each finisher gets their code."""
    src, test = acr
    d = served_copy(src, tmp_path / "acr")
    inv, _ = invite(d, test.id, 0, names=["worker-1", "worker-2"])
    c = TestClient(create_app(d))
    traps = [t.id for t in test.trials if t.control.get("type") == "trap"]
    assert traps
    for worker in ("worker-1", "worker-2"):
        url = f"/l/{inv.listeners[worker]}/"
        c.post(url + "api/rating", json={"headphone_check": {"answer": test.headphone_side}})
        for entry in listener_plan(test, worker):
            ratings = scripted_ratings(test, worker, entry["trial"], entry["order"])
            if worker == "worker-2" and entry["trial"] in traps:
                ratings = {"score": 1 + int(ratings["score"]) % 5}  # not the number of beeps
            r = c.post(url + "api/rating", json={"trial": entry["trial"], "order": entry["order"], "ratings": ratings})
            assert r.status_code == 200, r.text
        assert r.json()["completion_code"] == completion_code(d, worker, test_id=test.id)
    p = c.get("/admin/api/progress", headers={"Authorization": f"Bearer {inv.admin}"}).json()
    rows = {r["listener"]: r for r in p["listeners"]}
    assert rows["worker-1"]["screening"] == "kept" and rows["worker-1"]["done"]
    assert rows["worker-2"]["screening"] == "excluded" and "trap" in rows["worker-2"]["why"]
    assert p["summary"]["finished"] == 2 and p["summary"]["excluded"] == 1


def test_invitations_made_at_once_are_all_kept_and_never_shared(served):
    d, test, _, inv = served
    threads = [threading.Thread(target=invite, args=(d, test.id, 2)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = load_invitations(d, test.id)
    assert sorted(after.listeners) == [f"L{k:02d}" for k in range(1, 23)]
    assert len(set(after.listeners.values())) == 22 and after.admin == inv.admin
