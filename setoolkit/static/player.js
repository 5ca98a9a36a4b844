// setoolkit listening player: one timeline shared by every signal (noisy, clean, each model).
//
// Every signal has its own <audio> element; all of them play together and only the selected one is audible,
// so switching keeps the playback position with no gap (the A/B switching listening tests use). Drag on the
// spectrogram to select a region to loop, click to seek; keys: space play/pause, 1-9 select a signal.
//
// The same component serves the JupyterLab widget (anywidget: `model` is the widget model) and the daily
// report (a small shim gives it the same get/set/on interface over a JSON blob).
//
// Model keys: title, signals [{label, kind, audio, spec, thumb, metrics: {name: text}}], metric_names,
// duration (s), active (label), files [text], file, models [name], selected [name].

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function fmtTime(t) {
  if (!isFinite(t)) t = 0;
  const m = Math.floor(t / 60), s = t - 60 * m;
  return `${m}:${s.toFixed(2).padStart(5, "0")}`;
}

function render({ model, el }) {
  const root = h("div", { class: "sep-player", tabindex: "0" });
  el.append(root);
  let audios = {};       // label -> <audio>
  let active = null;     // label of the audible signal
  let region = null;     // [a, b] seconds, looped while "loop" is on
  let raf = 0;
  const state = { loop: true };

  const duration = () => {
    const d = model.get("duration");
    if (d) return d;
    const a = audios[active];
    return a && isFinite(a.duration) ? a.duration : 1;
  };
  const current = () => (audios[active] ? audios[active].currentTime : 0);
  const playing = () => audios[active] && !audios[active].paused;

  function seekAll(t) {
    for (const a of Object.values(audios)) a.currentTime = t;
  }

  function play() {
    const t = current();
    for (const [label, a] of Object.entries(audios)) {
      a.muted = label !== active;
      a.currentTime = t;
      const p = a.play();
      if (p && p.catch) p.catch(() => {});
    }
    tick();
  }

  function pause() {
    for (const a of Object.values(audios)) a.pause();
    cancelAnimationFrame(raf);
    draw();
  }

  function select(label) {
    if (!(label in audios)) return;
    const t = current();
    active = label;
    for (const [l, a] of Object.entries(audios)) {
      a.muted = l !== active;
      if (Math.abs(a.currentTime - t) > 0.03) a.currentTime = t;
    }
    model.set("active", label);
    model.save_changes();
    draw();
  }

  function tick() {
    const a = audios[active];
    if (!a) return;
    const t = a.currentTime;
    const [r0, r1] = region || [0, duration()];
    if (state.loop && region && (t >= r1 || t < r0 - 0.05)) {
      seekAll(r0);
    } else if (!a.paused) {
      // keep the muted ones on the audible one's clock
      for (const [l, o] of Object.entries(audios)) {
        if (l !== active && Math.abs(o.currentTime - t) > 0.04) o.currentTime = t;
      }
    }
    if (a.ended && state.loop) { seekAll(r0); play(); return; }
    draw();
    if (!a.paused) raf = requestAnimationFrame(tick);
  }

  // ---- layout
  const pickers = h("div", { class: "sep-pickers" });
  const title = h("div", { class: "sep-title" });
  const playBtn = h("button", { class: "sep-play", type: "button", title: "play / pause (space)" }, "▶ play");
  const timeText = h("span", { class: "sep-time" });
  const loopBox = h("input", { type: "checkbox", class: "sep-loop" });
  loopBox.checked = state.loop;
  const clearBtn = h("button", { type: "button", class: "sep-clear" }, "clear region");
  const controls = h("div", { class: "sep-controls" }, playBtn, timeText,
    h("label", {}, loopBox, " loop region"), clearBtn,
    h("span", { class: "sep-hint" }, "drag on the spectrogram to select a region · click to seek · keys 1–9 switch"));
  const specImg = h("img", { class: "sep-spec", alt: "spectrogram", draggable: "false" });
  const regionDiv = h("div", { class: "sep-region" });
  const playhead = h("div", { class: "sep-playhead" });
  const specLabel = h("div", { class: "sep-spec-label" });
  const specBox = h("div", { class: "sep-specbox" }, specImg, regionDiv, playhead, specLabel);
  const table = h("table", { class: "sep-signals" });
  const audioBox = h("div", { class: "sep-audio" });
  root.append(title, pickers, controls, specBox, table, audioBox);

  playBtn.addEventListener("click", () => (playing() ? pause() : play()));
  loopBox.addEventListener("change", () => { state.loop = loopBox.checked; });
  clearBtn.addEventListener("click", () => { region = null; draw(); });
  root.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "SELECT" || ev.target.tagName === "INPUT") return;
    if (ev.key === " ") { ev.preventDefault(); playing() ? pause() : play(); }
    const k = parseInt(ev.key, 10);
    const sig = model.get("signals") || [];
    if (k >= 1 && k <= sig.length) select(sig[k - 1].label);
  });

  // click = seek, drag = region
  let drag = null;
  const xToTime = (x) => {
    const r = specBox.getBoundingClientRect();
    return Math.min(Math.max((x - r.left) / r.width, 0), 1) * duration();
  };
  specBox.addEventListener("mousedown", (ev) => { drag = { t0: xToTime(ev.clientX), moved: false }; ev.preventDefault(); });
  window.addEventListener("mousemove", (ev) => {
    if (!drag) return;
    const t = xToTime(ev.clientX);
    if (Math.abs(t - drag.t0) > 0.02 * duration()) drag.moved = true;
    if (drag.moved) { region = [Math.min(drag.t0, t), Math.max(drag.t0, t)]; draw(); }
  });
  window.addEventListener("mouseup", (ev) => {
    if (!drag) return;
    if (drag.moved) { seekAll(region[0]); } else { seekAll(xToTime(ev.clientX)); }
    drag = null;
    draw();
  });

  function draw() {
    const d = duration(), t = current();
    playhead.style.left = `${(100 * t) / d}%`;
    timeText.textContent = `${fmtTime(t)} / ${fmtTime(d)}`;
    playBtn.textContent = playing() ? "❚❚ pause" : "▶ play";
    if (region) {
      regionDiv.style.display = "block";
      regionDiv.style.left = `${(100 * region[0]) / d}%`;
      regionDiv.style.width = `${(100 * (region[1] - region[0])) / d}%`;
    } else regionDiv.style.display = "none";
    for (const tr of table.querySelectorAll("tr[data-label]")) {
      tr.classList.toggle("sep-active", tr.dataset.label === active);
    }
    const sig = (model.get("signals") || []).find((s) => s.label === active);
    if (sig && specImg.getAttribute("src") !== sig.spec) specImg.setAttribute("src", sig.spec);
    specLabel.textContent = sig ? `listening to: ${sig.label}` : "";
    root.dataset.active = active || "";
  }

  function buildPickers() {
    pickers.replaceChildren();
    const files = model.get("files") || [];
    if (!files.length) return;
    const fileSel = h("select", { class: "sep-file" });
    for (const f of files) fileSel.append(h("option", { value: f }, f));
    fileSel.value = model.get("file");
    fileSel.addEventListener("change", () => { model.set("file", fileSel.value); model.save_changes(); });
    const models = model.get("models") || [];
    const chosen = new Set(model.get("selected") || []);
    const boxes = h("span", { class: "sep-models" });
    for (const m of models) {
      const cb = h("input", { type: "checkbox", value: m });
      cb.checked = chosen.has(m);
      cb.addEventListener("change", () => {
        const sel = [...boxes.querySelectorAll("input:checked")].map((c) => c.value);
        model.set("selected", sel);
        model.save_changes();
      });
      boxes.append(h("label", {}, cb, m));
    }
    pickers.append(h("label", {}, "file ", fileSel), boxes);
  }

  function buildSignals() {
    const wasPlaying = playing();
    const t = current();
    for (const a of Object.values(audios)) { a.pause(); a.removeAttribute("src"); a.load(); }
    audios = {};
    audioBox.replaceChildren();
    table.replaceChildren();
    const sig = model.get("signals") || [];
    const names = model.get("metric_names") || [];
    title.textContent = model.get("title") || "";
    table.append(h("tr", {}, h("th", {}, "#"), h("th", {}, "signal"), h("th", {}, "spectrogram"),
      ...names.map((n) => h("th", {}, n))));
    sig.forEach((s, i) => {
      const a = h("audio", { preload: "auto", src: s.audio, "data-label": s.label });
      a.loop = false;
      a.addEventListener("loadedmetadata", draw);
      a.addEventListener("ended", () => { if (s.label === active) tick(); });
      audios[s.label] = a;
      audioBox.append(a);
      const tr = h("tr", { "data-label": s.label, class: `sep-${s.kind || "model"}`, title: "listen to this signal" },
        h("td", {}, String(i + 1)), h("td", { class: "sep-name" }, s.label),
        h("td", {}, h("img", { class: "sep-thumb", src: s.thumb || s.spec, alt: `${s.label} spectrogram` })),
        ...names.map((n, k) => h("td", { class: "sep-num" },
          (s.metrics || {})[n] || (s.kind === "clean" && k === 0 ? "reference" : ""))));
      tr.addEventListener("click", () => select(s.label));
      table.append(tr);
    });
    const keep = model.get("active");
    active = sig.some((s) => s.label === keep) ? keep : sig.length ? sig[0].label : null;
    for (const [l, a] of Object.entries(audios)) a.muted = l !== active;
    if (t) seekAll(t);
    if (wasPlaying) play();
    draw();
  }

  buildPickers();
  buildSignals();
  model.on("change:signals", buildSignals);
  model.on("change:files", buildPickers);
  model.on("change:models", buildPickers);
  return () => { pause(); cancelAnimationFrame(raf); };
}

export default { render };
