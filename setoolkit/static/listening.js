// setoolkit listening test: MUSHRA (ITU-R BS.1534-3), P.835 (ITU-T), CCR (ITU-T P.800) and ACR (ITU-T P.808)
// in one component.
//
// Blind: the test it gets is setoolkit.listening.design.public_test (opaque stimulus ids and file names, no
// system, seed or item). Rules, from test.rules (the test type's page behaviour): MUSHRA ("play": "any") Save
// only when every signal was played and rated and, with "require_max", one is at 100; P.835, CCR, ACR ("play":
// "to_end") a sample can be rated only once it was heard to its end; the headphone check must be answered
// right before the test starts (every attempt recorded in result.headphone_check.attempts).
//
// The same code runs as the JupyterLab widget (anywidget: `model` is the widget model, each rating is synced
// to Python, which writes the result file) and in the offline page listening_test.html (`offlineModel`: the
// same get/set/on interface over the embedded JSON, results kept in localStorage, offered as a download).
//
// Model keys: test (the definition + its id), audio {file: URL}, saved {listener: result} (what to resume
// from), result (the current listener's result; set after every trial), offline (page mode).
//
// Every stimulus of a trial has its own <audio>; all play together and only the selected one is audible, so
// switching keeps the playback position with no gap. Drag on the timeline to loop a region; keys: space
// play/pause, 1-9 select a stimulus (0 = the open reference).
//
// The listener's order is seeded like setoolkit.listening.design.listener_plan: mulberry32 seeded with the
// FNV-1a hash of "<test id>|<listener>"; training trials first, the others and each trial's stimuli shuffled.

const RESULT_FORMAT = "setoolkit-listening-result/1";
const STORE = "setoolkit-listening";

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) e.append(c);
  return e;
}

function fmtTime(t) {
  if (!isFinite(t)) t = 0;
  const m = Math.floor(t / 60), s = t - 60 * m;
  return `${m}:${s.toFixed(1).padStart(4, "0")}`;
}

export function fnv1a32(text) {
  let h32 = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) h32 = Math.imul(h32 ^ b, 0x01000193) >>> 0;
  return h32 >>> 0;
}

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a) >>> 0;
    t = ((t + (Math.imul(t ^ (t >>> 7), 61 | t) >>> 0)) ^ t) >>> 0;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(items, rand) {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export function listenerPlan(test, listener) {
  const rand = mulberry32(fnv1a32(`${test.id}|${listener}`));
  const training = test.trials.filter((t) => t.training);
  const rest = shuffle(test.trials.filter((t) => !t.training), rand);
  return training.concat(rest).map((t) => ({ trial: t.id, order: shuffle(t.stimuli.map((s) => s.id), rand),
    training: t.training }));
}

const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, "+00:00");
const storeKey = (testId, listener) => `${STORE}|${testId}|${listener}`;

// The offline page's model: the embedded data, results in localStorage (one key per test id and listener).
export function offlineModel(data, storage) {
  const handlers = {};
  const state = { ...data, offline: true, result: null };
  const testId = data.test.id;
  const saved = () => {
    const out = {};
    for (let i = 0; i < storage.length; i++) {
      const k = storage.key(i);
      if (!k.startsWith(`${STORE}|${testId}|`) || k.endsWith("|~last")) continue;
      try { const r = JSON.parse(storage.getItem(k)); if (r && r.test_id === testId) out[r.listener] = r; } catch (e) { /* skip */ }
    }
    return out;
  };
  return {
    get: (k) => (k === "saved" ? saved() : k === "last_listener" ? storage.getItem(`${STORE}|${testId}|~last`) : state[k]),
    set: (k, v) => {
      state[k] = v;
      if (k === "result" && v) {
        storage.setItem(storeKey(testId, v.listener), JSON.stringify(v));
        storage.setItem(`${STORE}|${testId}|~last`, v.listener);
      }
      for (const f of handlers[`change:${k}`] || []) f();
    },
    save_changes: () => {},
    on: (ev, f) => { (handlers[ev] = handlers[ev] || []).push(f); },
  };
}

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

function render({ model, el }) {
  const test = model.get("test");
  const audioUrl = (f) => (model.get("audio") || {})[f] || f;
  const root = h("div", { class: "sel-test", tabindex: "0", "data-kind": test.kind, "data-test": test.id });
  el.append(root);
  const trialsById = Object.fromEntries(test.trials.map((t) => [t.id, t]));
  let listener = "", plan = [], result = null, pos = 0;
  let player = null;  // the current trial's playback

  // ------------------------------------------------------------------ shared timeline over several <audio>
  function makePlayer(sources, duration) {  // sources: [{key, file}]
    const audios = {};
    const box = h("div", { class: "sel-audio" });
    for (const s of sources) {
      const a = h("audio", { preload: "auto", src: audioUrl(s.file), "data-key": s.key });
      audios[s.key] = a;
      box.append(a);
    }
    const p = { audios, box, active: sources.length ? sources[0].key : null, region: null, loop: true, raf: 0,
      played: new Set(), heard: {}, last: {}, onchange: () => {} };
    const dur = () => { const a = audios[p.active]; return duration || (a && isFinite(a.duration) ? a.duration : 1); };
    const cur = () => (audios[p.active] ? audios[p.active].currentTime : 0);
    p.duration = dur;
    p.current = cur;
    p.playing = () => !!audios[p.active] && !audios[p.active].paused;
    p.seek = (t) => { for (const a of Object.values(audios)) a.currentTime = t; p.onchange(); };
    p.play = () => {
      const t = cur();
      for (const [k, a] of Object.entries(audios)) {
        a.muted = k !== p.active;
        a.currentTime = t;
        const r = a.play();
        if (r && r.catch) r.catch(() => {});
      }
      p.played.add(p.active);
      tick();
    };
    p.pause = () => { for (const a of Object.values(audios)) a.pause(); cancelAnimationFrame(p.raf); p.onchange(); };
    p.select = (key) => {
      if (!(key in audios)) return;
      const t = cur();
      p.active = key;
      for (const [k, a] of Object.entries(audios)) {
        a.muted = k !== key;
        if (Math.abs(a.currentTime - t) > 0.03) a.currentTime = t;
      }
      if (p.playing()) p.played.add(key);
      p.onchange();
    };
    function tick() {
      const a = audios[p.active];
      if (!a) return;
      const t = a.currentTime;
      const [r0, r1] = p.region || [0, dur()];
      if (p.region && p.loop && (t >= r1 || t < r0 - 0.05)) p.seek(r0);
      else if (!a.paused) {
        for (const [k, o] of Object.entries(audios)) if (k !== p.active && Math.abs(o.currentTime - t) > 0.04) o.currentTime = t;
      }
      if (a.ended) { p.seek(r0); if (p.loop) { p.play(); return; } }
      p.onchange();
      if (!a.paused) p.raf = requestAnimationFrame(tick);
    }
    for (const a of Object.values(audios)) a.addEventListener("ended", () => { if (a === audios[p.active]) tick(); });
    // Seconds heard of each stimulus (audible and playing), for the "played to its end" rule.
    for (const [k, a] of Object.entries(audios)) {
      a.addEventListener("timeupdate", () => {
        const t = a.currentTime, d = t - (p.last[k] ?? t);
        if (!a.muted && !a.paused && d > 0 && d < 1) p.heard[k] = (p.heard[k] || 0) + d;
        p.last[k] = t;
        p.onchange();
      });
      a.addEventListener("ended", () => { if (!a.muted) p.heard[k] = (p.heard[k] || 0) + Math.max(0, dur() - (p.last[k] ?? dur())); p.last[k] = 0; p.onchange(); });
    }
    p.heardToEnd = (k) => (p.heard[k] || 0) >= 0.95 * dur() - 0.1;
    p.stop = () => { p.pause(); for (const a of Object.values(audios)) { a.removeAttribute("src"); a.load(); } };
    return p;
  }

  function transport(p) {
    const playBtn = h("button", { type: "button", class: "sel-play", title: "play / pause (space)" }, "▶ play");
    const time = h("span", { class: "sel-time" });
    const loopBox = h("input", { type: "checkbox", class: "sel-loop" });
    loopBox.checked = p.loop;
    const bar = h("div", { class: "sel-timeline", title: "click to seek, drag to loop a region" });
    const region = h("div", { class: "sel-region" });
    const head = h("div", { class: "sel-playhead" });
    bar.append(region, head);
    const clear = h("button", { type: "button", class: "sel-clear" }, "clear loop");
    playBtn.addEventListener("click", () => (p.playing() ? p.pause() : p.play()));
    loopBox.addEventListener("change", () => { p.loop = loopBox.checked; });
    clear.addEventListener("click", () => { p.region = null; p.onchange(); });
    let drag = null;
    const xt = (x) => { const r = bar.getBoundingClientRect(); return Math.min(Math.max((x - r.left) / r.width, 0), 1) * p.duration(); };
    bar.addEventListener("mousedown", (ev) => { drag = { t0: xt(ev.clientX), moved: false }; ev.preventDefault(); });
    const move = (ev) => {
      if (!drag) return;
      const t = xt(ev.clientX);
      if (Math.abs(t - drag.t0) > 0.02 * p.duration()) drag.moved = true;
      if (drag.moved) { p.region = [Math.min(drag.t0, t), Math.max(drag.t0, t)]; p.onchange(); }
    };
    const up = (ev) => { if (!drag) return; p.seek(drag.moved ? p.region[0] : xt(ev.clientX)); drag = null; };
    window.addEventListener("mousemove", move);
    window.addEventListener("mouseup", up);
    const draw = () => {
      const d = p.duration(), t = p.current();
      head.style.left = `${(100 * t) / d}%`;
      time.textContent = `${fmtTime(t)} / ${fmtTime(d)}`;
      playBtn.textContent = p.playing() ? "❚❚ pause" : "▶ play";
      region.style.display = p.region ? "block" : "none";
      if (p.region) { region.style.left = `${(100 * p.region[0]) / d}%`; region.style.width = `${(100 * (p.region[1] - p.region[0])) / d}%`; }
    };
    const cleanup = () => { window.removeEventListener("mousemove", move); window.removeEventListener("mouseup", up); };
    return { el: h("div", { class: "sel-transport" }, playBtn, time, bar, h("label", {}, loopBox, " loop"), clear), draw, cleanup };
  }

  // ------------------------------------------------------------------ screens
  function show(...children) {
    if (player) { player.stop(); if (player.cleanup) player.cleanup(); player = null; }
    root.replaceChildren(h("h2", { class: "sel-title" }, test.title), ...children);
  }

  const rules = test.rules || {};

  function startScreen() {
    root.dataset.screen = "start";
    const idBox = h("input", { type: "text", class: "sel-listener", placeholder: "your name or code", size: "24" });
    idBox.value = model.get("last_listener") || "";
    const tone = makePlayer([{ key: "tone", file: test.headphone_check }], 0);
    tone.loop = false;
    const toneBtn = h("button", { type: "button", class: "sel-tone" }, "▶ play the test tone");
    toneBtn.addEventListener("click", () => { tone.seek(0); tone.play(); });
    const answers = h("span", { class: "sel-hp-answers" }, ...["left", "right", "both"].map((v) =>
      h("label", {}, h("input", { type: "radio", name: `sel-hp-${test.id.slice(0, 8)}`, value: v }), ` ${v} ear${v === "both" ? "s" : ""}`)));
    const go = h("button", { type: "button", class: "sel-start", disabled: true }, "Start");
    const note = h("div", { class: "sel-note" });
    const hpNote = h("div", { class: "sel-hp-note", role: "alert" });
    const attempts = [];
    const update = () => {
      const id = idBox.value.trim();
      const ans = answers.querySelector("input:checked");
      go.disabled = !id || !ans;
      const prev = id && (model.get("saved") || {})[id];
      const n = prev ? Object.keys(prev.trials || {}).length : 0;
      note.textContent = prev ? `Welcome back: ${n} of ${test.trials.length} trials already rated; you continue where you stopped.` : "";
      go.textContent = prev ? "Continue" : "Start";
    };
    idBox.addEventListener("input", update);
    answers.addEventListener("change", () => { hpNote.textContent = ""; update(); });
    go.addEventListener("click", () => {
      const answer = answers.querySelector("input:checked").value;
      const correct = answer === test.headphone_side;
      attempts.push({ answer, correct, time: nowIso() });
      root.dataset.hpAttempts = String(attempts.length);
      if (!correct) {  // the test does not start: check the headphones (left/right swapped?) and try again
        hpNote.textContent = "That is not where the tone is. Check that your headphones are on the right way round, play the tone again and answer again.";
        answers.querySelector("input:checked").checked = false;
        update();
        return;
      }
      begin(idBox.value.trim(), attempts);
    });
    show(h("p", { class: "sel-instructions" }, test.instructions || ""),
      h("div", { class: "sel-form" },
        h("label", {}, "Listener id ", idBox),
        h("div", { class: "sel-hp" }, h("div", {}, "Headphone check: put on your headphones and play the tone. Where do you hear it?"),
          toneBtn, answers, hpNote),
        go, note),
      h("p", { class: "sel-level" }, `Every sample is normalised to ${test.target_dbov} dBov active speech level: set a comfortable volume with the tone and keep it for the whole test.`),
      tone.box);
    player = tone;
    update();
  }

  function begin(id, attempts) {
    listener = id;
    plan = listenerPlan(test, listener);
    const prev = (model.get("saved") || {})[listener];
    result = prev && prev.test_id === test.id ? prev : {
      format: RESULT_FORMAT, test_id: test.id, listener, kind: test.kind, headphone_check: {},
      started: nowIso(), updated: nowIso(), done: false, trials: {},
    };
    const before = (result.headphone_check || {}).attempts || [];
    const all = before.concat(attempts);
    const last = all[all.length - 1];
    result = { ...result, headphone_check: { answer: last.answer, correct: last.correct, passed: all.some((a) => a.correct), attempts: all } };
    save();
    next();
  }

  function save() {
    model.set("result", JSON.parse(JSON.stringify(result)));
    model.save_changes();
  }

  function next() {
    pos = plan.findIndex((p) => !(p.trial in result.trials));
    if (pos < 0) { doneScreen(); return; }
    trialScreen(plan[pos]);
  }

  function progress(entry) {
    const scored = plan.filter((p) => !p.training);
    const k = scored.findIndex((p) => p.trial === entry.trial);
    const done = Object.keys(result.trials).length;
    const text = entry.training ? "Training trial (familiarisation: not analysed)" : `Trial ${k + 1} of ${scored.length}`;
    const bar = h("div", { class: "sel-progress" }, h("div", { style: `width:${(100 * done) / plan.length}%` }));
    return h("div", { class: "sel-head" }, h("span", { class: "sel-count" }, text),
      h("span", { class: "sel-listener-name" }, `listener: ${listener}`), bar);
  }

  function trialScreen(entry) {
    const trial = trialsById[entry.trial];
    root.dataset.screen = "trial";
    root.dataset.trial = trial.id;
    const stim = Object.fromEntries(trial.stimuli.map((s) => [s.id, s]));
    const sources = entry.order.map((id) => ({ key: id, file: stim[id].file }));
    if (trial.reference) sources.unshift({ key: "reference", file: trial.reference });
    const p = makePlayer(sources, trial.duration);
    const tp = transport(p);
    const ratings = {};
    const nextBtn = h("button", { type: "button", class: "sel-next", disabled: true },
      pos === plan.length - 1 ? "Save and finish" : "Save and next");
    const hint = h("span", { class: "sel-hint" });
    const buttons = [];
    const pick = (key, label) => {
      const b = h("button", { type: "button", class: "sel-pick", "data-key": key, title: `listen to ${label}` }, label);
      b.addEventListener("click", () => { p.select(key); if (!p.playing()) p.play(); });
      buttons.push(b);
      return b;
    };
    let body;
    let complete = () => false;
    let missing = () => "";
    const inputs = [];  // rating inputs, enabled once their stimulus was played (MUSHRA) or heard to the end
    const toEnd = rules.play === "to_end";
    const unheard = () => entry.order.filter((k) => (toEnd ? !p.heardToEnd(k) : !p.played.has(k)));
    const radios = (name, labels, sign, onpick) => labels.map(([v, text]) => {
      const input = h("input", { type: "radio", name, value: String(v), disabled: true, onchange: () => { onpick(v); check(); } });
      inputs.push([input, entry.order]);
      return h("label", {}, input, h("span", { class: "sel-num" }, `${sign && v > 0 ? "+" : ""}${v}`), h("span", {}, text));
    });
    const heardHint = () => (entry.order.length > 1 ? "Listen to both samples to their end before rating." : "Listen to the sample to its end before rating.");
    if (test.widget === "sliders") {
      const labels = test.scale.labels.slice().reverse();
      const scaleRow = h("div", { class: "sel-mushra-row sel-scale-row" }, h("span"), h("div", { class: "sel-scale" },
        ...labels.map(([v, name]) => h("span", { style: `left:${v + 10}%` }, name)),
        ...[20, 40, 60, 80].map((v) => h("i", { style: `left:${v}%` }))), h("span"));
      const rows = entry.order.map((id, i) => {
        const slider = h("input", { type: "range", min: String(test.scale.min), max: String(test.scale.max), step: "1", value: "50",
          class: "sel-slider sel-unrated", "data-stim": id, disabled: true, title: "play this signal to rate it" });
        inputs.push([slider, [id]]);
        const value = h("span", { class: "sel-value" }, "–");
        slider.addEventListener("input", () => {
          ratings[id] = Number(slider.value);
          slider.classList.remove("sel-unrated");
          value.textContent = slider.value;
          check();
        });
        return h("div", { class: "sel-mushra-row" }, pick(id, LETTERS[i]), slider, value);
      });
      body = h("div", { class: "sel-mushra" }, h("div", { class: "sel-ref-row" }, pick("reference", "Reference"),
        h("span", { class: "sel-question" }, test.scale.question)), scaleRow, ...rows);
      const top = test.scale.max;
      missing = () => {
        const notPlayed = unheard().length, notRated = entry.order.filter((id) => !(id in ratings)).length;
        if (notPlayed) return `Play every signal (${notPlayed} not played yet), then rate it.`;
        if (notRated) return `Rate every signal (${notRated} not rated yet).`;
        if (rules.require_max && !entry.order.some((id) => ratings[id] === top)) return `Rate at least one signal ${top} (the hidden reference is among them).`;
        return "";
      };
    } else if (test.widget === "scales") {
      const id = entry.order[0];
      ratings[id] = {};
      const groups = test.scale.order.map((name) => {
        const sc = test.scale.scales[name];
        return h("fieldset", { class: "sel-p835", "data-scale": name },
          h("div", { class: "sel-q" }, h("b", {}, `${name}: `), sc.question),
          h("div", { class: "sel-options", style: `grid-template-columns: repeat(${sc.labels.length}, 1fr)` },
            ...radios(`${trial.id}-${name}`, sc.labels, false, (v) => { ratings[id][name] = v; })));
      });
      body = h("div", {}, h("div", { class: "sel-ref-row" }, pick(id, "Sample")), ...groups);
      missing = () => (unheard().length ? heardHint() : test.scale.order.every((n) => n in ratings[id]) ? "" : "Rate all three scales.");
    } else {  // one category scale: CCR (two samples, -3..3) or ACR (one sample, 1..5)
      const ccr = entry.order.length === 2;
      const opts = radios(`${trial.id}-${test.kind}`, test.scale.labels, ccr, (v) => { ratings.score = v; });
      const picks = ccr ? [pick(entry.order[0], "First"), pick(entry.order[1], "Second")] : [pick(entry.order[0], "Sample")];
      body = h("div", {}, h("div", { class: "sel-ref-row" }, ...picks),
        h("fieldset", { class: `sel-${test.kind} sel-category` }, h("div", { class: "sel-q" }, test.scale.question),
          h("div", { class: "sel-options", style: `grid-template-columns: repeat(${opts.length}, 1fr)` }, ...opts)));
      missing = () => (unheard().length ? heardHint() : "score" in ratings ? "" : "Select a rating.");
    }
    complete = () => missing() === "";
    function check() {
      for (const [input, keys] of inputs) input.disabled = !keys.every((k) => (toEnd ? p.heardToEnd(k) : p.played.has(k)));
      nextBtn.disabled = !complete();
      hint.textContent = missing();
      root.dataset.missing = hint.textContent;
    }
    p.onchange = () => {
      check();
      tp.draw();
      for (const b of buttons) b.classList.toggle("sel-active", b.dataset.key === p.active);
      root.dataset.active = p.active || "";
    };
    p.cleanup = tp.cleanup;
    nextBtn.addEventListener("click", () => {
      if (!complete()) return;
      const tr = { order: entry.order.slice(), ratings: JSON.parse(JSON.stringify(ratings)), time: nowIso() };
      result = { ...result, trials: { ...result.trials, [trial.id]: tr }, updated: nowIso() };
      result.done = plan.every((q) => q.trial in result.trials);
      save();
      next();
    });
    show(progress(entry), tp.el, body, h("div", { class: "sel-actions" }, nextBtn, hint), p.box);
    player = p;
    p.onchange();
  }

  function doneScreen() {
    root.dataset.screen = "done";
    const n = Object.keys(result.trials).length;
    const kids = [h("p", { class: "sel-thanks" }, `Thank you, ${listener}: all ${n} trials are rated and saved.`)];
    const code = model.get("completion_code");  // a crowdsourcing platform's proof of completion (server mode)
    if (code) kids.push(h("p", {}, "Your completion code: ", h("span", { class: "sel-code" }, code)));
    if (model.get("offline")) {
      const blob = new Blob([JSON.stringify(result, null, 1)], { type: "application/json" });
      const name = `${test.id}__${listener.replace(/[^A-Za-z0-9_.-]/g, "_")}.json`;
      kids.push(h("a", { class: "sel-download", href: URL.createObjectURL(blob), download: name }, `Download your results (${name})`),
        h("p", { class: "sel-note" }, "Send this file to the person who runs the test. Your ratings also stay in this browser."));
    } else {
      kids.push(h("p", { class: "sel-note" }, "Each rating was written to the results file as you went."));
    }
    show(...kids);
  }

  root.addEventListener("keydown", (ev) => {
    if (!player || root.dataset.screen !== "trial" || ev.target.tagName === "INPUT") return;
    if (ev.key === " ") { ev.preventDefault(); player.playing() ? player.pause() : player.play(); }
    const keys = Object.keys(player.audios);
    const k = parseInt(ev.key, 10);
    if (k === 0 && keys.includes("reference")) player.select("reference");
    else if (k >= 1) { const list = keys.filter((x) => x !== "reference"); if (k <= list.length) player.select(list[k - 1]); }
  });

  startScreen();
  return () => { if (player) player.stop(); };
}

export default { render };
