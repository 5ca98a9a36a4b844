// setoolkit listening test served by `setoolkit listen serve`: loaded only by the served pages, never by the
// offline page or the JupyterLab widget.
//
// Listener page (<body data-sel-page="listener">, at <root>/l/<token>/): the same component as the offline page
// and the widget (listening.js) with a model that keeps the result on the server. The page first sends any
// rating an earlier visit could not deliver, then reads the listener's result (GET api/state) and the component
// resumes from it, on this device or any other with the same link. Each time the component sets `result`, the
// ratings that changed (a trial's, or each new headphone-check attempt) are POSTed one at a time to api/rating,
// in order; a network error or a 5xx is retried until it goes through (the queue is kept in localStorage meanwhile,
// so a reload loses nothing); a 4xx (a rating the server refuses) is shown and dropped. The listener id is the
// invitation's and cannot be changed on the page. #sel-save-status shows saved / saving / retrying / error.
// Once every trial is on the server, its answer carries the completion code (crowd platforms), shown on the
// done screen.
//
// Admin page (<body data-sel-page="admin">, at <root>/admin#<admin token>): the token is read from the URL
// fragment (never sent to the server or written to a log) and sent as "Authorization: Bearer"; the page shows
// the progress table (refreshed every 3 s), makes invitations and downloads the zip export.

import component from "./listening.js";

const PENDING = "setoolkit-listening-pending";
const RETRY_MS = [300, 600, 1200, 2500, 5000];

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function showStatus(state, text) {
  const box = document.getElementById("sel-save-status");
  if (!box) return;
  box.dataset.state = state;
  box.textContent = text;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The ratings in `after` that are new or changed since `before` (results as the component writes them).
export function changedRatings(before, after) {
  const out = [];
  const hpBefore = (before && before.headphone_check) || {};
  const hpAfter = after.headphone_check || {};
  const attempts = hpAfter.attempts || (hpAfter.answer ? [{ answer: hpAfter.answer }] : []);
  const known = (hpBefore.attempts || (hpBefore.answer ? [hpBefore] : [])).length;
  for (const a of attempts.slice(known)) out.push({ headphone_check: { answer: a.answer } });  // every attempt
  const old = (before && before.trials) || {};
  for (const [trial, tr] of Object.entries(after.trials || {})) {
    const prev = old[trial];
    if (!prev || JSON.stringify([prev.order, prev.ratings]) !== JSON.stringify([tr.order, tr.ratings])) {
      out.push({ trial, order: tr.order, ratings: tr.ratings });
    }
  }
  return out;
}

// POSTs ratings one at a time, in order; retries network errors and 5xx; pending ones kept in `storage[key]`;
// `onCode(code)` gets the completion code the server sends once every trial is saved.
export function ratingQueue(storage, key, url = "api/rating", onCode = () => {}) {
  let items = [];
  try { items = JSON.parse(storage.getItem(key) || "[]"); } catch (e) { items = []; }
  let running = null;
  let sent = 0, failed = 0;
  const keep = () => { if (items.length) storage.setItem(key, JSON.stringify(items)); else storage.removeItem(key); };

  async function sendOne(payload) {
    for (let attempt = 0; ; attempt++) {
      let res = null;
      try {
        res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify(payload), cache: "no-store" });
      } catch (e) { res = null; }
      if (res && res.ok) {
        sent++;
        const body = await res.json().catch(() => ({}));
        if (body.completion_code) onCode(body.completion_code);
        return true;
      }
      if (res && res.status < 500) {
        let why = `HTTP ${res.status}`;
        try { why = (await res.json()).error || why; } catch (e) { /* keep the status */ }
        failed++;
        showStatus("error", `Not saved: ${why}`);
        return false;
      }
      showStatus("retrying", "Connection lost: your last rating is kept here and sent again…");
      await sleep(RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
    }
  }

  async function run() {
    while (items.length) {
      showStatus("saving", "Saving…");
      const ok = await sendOne(items[0]);
      items.shift();
      keep();
      if (ok && !items.length) showStatus("saved", "All ratings saved");
    }
    running = null;
  }

  const flush = () => (running = running || (items.length ? run() : null)) || Promise.resolve();
  return {
    push(payload) { items.push(payload); keep(); flush(); },
    flush,
    pending: () => items.length,
    stats: () => ({ sent, failed, pending: items.length }),
  };
}

// The component's model over the server: `saved` is the listener's result from the server, `result` writes go
// to the rating queue.
export function serverModel(data, state, queue) {
  const handlers = {};
  const values = { ...data, offline: false, result: null, completion_code: state.completion_code || null };
  const saved = state.result ? { [state.listener]: state.result } : {};
  let last = state.result;
  return {
    get: (k) => (k === "saved" ? saved : k === "last_listener" ? state.listener : values[k]),
    set: (k, v) => {
      values[k] = v;
      if (k === "result" && v) {
        for (const payload of changedRatings(last, v)) queue.push(payload);
        last = v;
      }
      for (const f of handlers[`change:${k}`] || []) f();
    },
    save_changes: () => {},
    on: (ev, f) => { (handlers[ev] = handlers[ev] || []).push(f); },
  };
}

async function startListener() {
  const data = JSON.parse(document.getElementById("sel-data").textContent);
  let model = null;
  const el = document.getElementById("sel-mount");
  const onCode = (code) => {  // the code comes with the last save; the done screen may already show
    if (model) model.set("completion_code", code);
    const done = el.querySelector(".sel-test[data-screen=done]");
    if (done && !done.querySelector(".sel-code")) {
      done.querySelector(".sel-thanks").after(h("p", {}, "Your completion code: ", h("span", { class: "sel-code" }, code)));
    }
  };
  const queue = ratingQueue(window.localStorage, `${PENDING}|${location.pathname}`, "api/rating", onCode);
  window.selServer = { queue };
  await queue.flush();  // what an earlier visit could not deliver goes first
  const res = await fetch("api/state", { cache: "no-store" });
  if (!res.ok) { showStatus("error", `This invitation link does not work (HTTP ${res.status}).`); return; }
  const state = await res.json();
  model = serverModel(data, state, queue);
  component.render({ model, el });
  const idBox = el.querySelector(".sel-listener");
  if (idBox) { idBox.value = state.listener; idBox.readOnly = true; idBox.dispatchEvent(new Event("input")); }
  window.addEventListener("beforeunload", (ev) => { if (queue.pending()) { ev.preventDefault(); ev.returnValue = ""; } });
  window.selServer.ready = true;
}

// ---------------------------------------------------------------------------------------------- admin page
const COLUMNS = [["listener", "listener"], ["trials", "trials"], ["done", "finished"], ["headphone", "headphone"],
  ["screening", "screening"], ["median_s", "s / trial (median)"], ["last_s", "last trial (s)"], ["updated", "last save"]];

async function startAdmin() {
  const root = document.getElementById("sel-admin");
  const token = decodeURIComponent(location.hash.slice(1));
  if (!token) { root.append(h("p", {}, "Open the admin link printed by `setoolkit listen serve` (…/admin#TOKEN).")); return; }
  const api = (path, opts = {}) => fetch(path, { ...opts, cache: "no-store",
    headers: { ...(opts.headers || {}), Authorization: `Bearer ${token}` } });
  const summary = h("div", { class: "sel-summary" });
  const table = h("table", { class: "sel-progress-table" });
  const note = h("p", { class: "sel-problems" });
  const exportBtn = h("button", { type: "button", class: "sel-export" }, "Download results (zip)");
  const count = h("input", { type: "number", min: "1", max: "1000", value: "1", class: "sel-invite-n", size: "4" });
  const inviteBtn = h("button", { type: "button", class: "sel-invite" }, "Invite");
  const links = h("div", { class: "sel-links" });
  root.append(summary, table, note, h("p", {}, exportBtn, " ", count, " ", inviteBtn, " more listeners"), links);

  async function refresh() {
    const res = await api("admin/api/progress");
    if (!res.ok) { summary.textContent = `The admin API refused the token (HTTP ${res.status}).`; return false; }
    const p = await res.json();
    const s = p.summary;
    summary.replaceChildren(...[["invited", s.invited], ["started", s.started], ["finished", s.finished],
      ["headphone check failed", s.headphone_failed], ["excluded (screening)", s.excluded], ["ratings", s.ratings],
      ["median s / trial", s.median_s_per_trial ?? "–"]].map(([k, v]) => h("span", { "data-key": k }, `${k}: ${v}`)));
    table.replaceChildren(h("tr", {}, ...COLUMNS.map(([, label]) => h("th", {}, label))),
      ...p.listeners.map((r) => h("tr", { "data-listener": r.listener }, ...COLUMNS.map(([k]) => h("td", {},
        k === "trials" ? `${r.trials} / ${r.total}` : k === "done" ? (r.done ? "yes" : r.started ? "no" : "not started")
          : k === "screening" && r.why ? `${r.screening}: ${r.why}`
            : k === "updated" && r.updated ? `${r.updated.slice(11, 19)} UTC` : String(r[k] ?? "–"))))));
    note.textContent = p.problems.length ? `Unreadable results files: ${p.problems.join("; ")}` : "";
    root.dataset.loaded = "1";
    return true;
  }

  async function showLinks(path, opts) {
    const res = await api(path, opts);
    const body = await res.json();
    links.textContent = res.ok ? body.invitations.map((i) => `${i.listener}\t${i.link}`).join("\n") : body.error;
  }

  exportBtn.addEventListener("click", async () => {
    const res = await api("admin/api/export.zip");
    if (!res.ok) return;
    const name = (res.headers.get("content-disposition") || "").match(/filename="([^"]+)"/);
    const a = h("a", { href: URL.createObjectURL(await res.blob()), download: name ? name[1] : "results.zip" });
    a.click();
  });
  inviteBtn.addEventListener("click", () => showLinks("admin/api/invite", { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ n: Number(count.value) }) }).then(refresh));
  if (await refresh()) {
    await showLinks("admin/api/invitations");
    setInterval(refresh, 3000);
  }
}

const role = document.body && document.body.dataset.selPage;
if (role === "listener") startListener();
else if (role === "admin") startAdmin();
