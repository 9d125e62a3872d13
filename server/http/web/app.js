// TRM Serve's web page: pick a model, enter or generate a puzzle, and watch the model's answer
// change at every ACT step, streamed from POST /v1/solve:stream (server-sent events over fetch).
// Plain browser JavaScript, no libraries; everything comes from this server.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

const state = {
  models: [],
  model: null,        // The selected ModelInfo (canonical JSON: lowerCamelCase, defaults omitted).
  seed: null,         // From ?seed=N: Generate is reproducible (N, N+1, ...).
  abort: null,        // AbortController of the solve in flight.
  trace: [],          // SolveStep messages shown so far, in arrival order.
  queue: [],          // Received, not yet shown (slow motion).
  timer: null,
  shown: -1,          // Index in trace of the step on the board.
  givens: "",         // Sudoku: the puzzle as solved (81 chars).
  mazeRows: [],       // Maze: the puzzle as solved.
  threshold: null,    // The halting threshold in effect, for the chart.
};

const kindOf = (model) => (model ? model.task : "");
const pageKinds = new Set(["sudoku", "maze"]);

// ---------------------------------------------------------------------------------------------
// Server calls

async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw apiError(res, body);
  return body;
}

function apiError(res, body) {
  const err = new Error(body && body.message ? body.message : `HTTP ${res.status}`);
  err.code = body && body.code ? body.code : `HTTP ${res.status}`;
  return err;
}

async function checkReady() {
  const el = $("server-status");
  try {
    const res = await fetch("/readyz");
    const body = await res.json().catch(() => ({}));
    el.textContent = res.ok ? "Server ready" : `Server not ready: ${body.message || res.status}`;
    el.dataset.state = res.ok ? "ready" : "busy";
  } catch (e) {
    el.textContent = "Server unreachable";
    el.dataset.state = "down";
  }
}

// ---------------------------------------------------------------------------------------------
// Models and puzzles

async function loadModels() {
  const body = await getJson("/v1/models");
  state.models = body.models || [];
  const select = $("model");
  select.textContent = "";
  for (const m of state.models) {
    const opt = document.createElement("option");
    opt.value = m.name;
    const usable = pageKinds.has(m.task);
    opt.textContent = m.name + (m.name === m.task ? "" : ` (${m.task})`) +
        (m.isDefault ? ", default" : "") + (usable ? "" : ": not on this page");
    opt.disabled = !usable;
    select.append(opt);
  }
  const first = state.models.find((m) => m.task === "sudoku" && m.isDefault) ||
      state.models.find((m) => pageKinds.has(m.task));
  if (!first) {
    showError({ code: "NOT_FOUND", message: "the server has no sudoku or maze model loaded" });
    $("solve").disabled = true;
    $("generate").disabled = true;
    return;
  }
  select.value = first.name;
  selectModel(first.name);
}

function selectModel(name) {
  state.model = state.models.find((m) => m.name === name) || null;
  const m = state.model;
  if (!m) return;
  const params = Number(m.parameters || 0);
  $("model-info").textContent =
      `${m.task}, version ${m.version || "-"}, ${formatCount(params)} parameters on ${m.device || "?"}; ` +
      `up to ${m.haltMaxSteps || "?"} steps, halts at confidence ${fmt(m.haltThreshold || 0.5)}, ` +
      `${m.dihedralViews || 1} view${(m.dihedralViews || 1) > 1 ? "s" : ""} by default.`;
  $("threshold").placeholder = fmt(m.haltThreshold || 0.5);
  $("max-steps").placeholder = String(m.haltMaxSteps || "");
  const sudoku = m.task === "sudoku";
  $("sudoku-input").hidden = !sudoku;
  $("maze-preview-block").hidden = sudoku;
  $("puzzle-text-label").textContent = sudoku ? "Puzzle (81 characters)" : "Maze (one row per line)";
  $("puzzle-text-help").textContent = sudoku
      ? "Digits 1-9 for givens, . or 0 for blanks; spaces and line breaks are ignored."
      : "# wall, space or . open, S start, G goal. The model marks the shortest path with o.";
  $("puzzle-text").rows = sudoku ? 3 : (m.mazeSide || 9) + 1;
  $("puzzle-text").value = "";
  syncFromText();
  clearTrace("Generate or enter a puzzle, then Solve.");
}

async function generate() {
  hideError();
  const m = state.model;
  if (!m) return;
  const params = new URLSearchParams({ model: m.name, difficulty: $("difficulty").value });
  if (state.seed !== null) params.set("seed", String(state.seed++));
  $("generate").disabled = true;
  try {
    const example = await getJson(`/v1/example?${params}`);
    $("puzzle-text").value = example.sudoku !== undefined
        ? formatSudokuText(example.sudoku)
        : ((example.maze && example.maze.rows) || []).join("\n");
    syncFromText();
    clearTrace("A fresh puzzle: press Solve.");
  } catch (e) {
    showError(e);
  } finally {
    $("generate").disabled = false;
  }
}

function formatSudokuText(s) {
  return [0, 27, 54].map((i) => s.slice(i, i + 27)).join("\n");
}

function sudokuTextValue() {
  return $("puzzle-text").value.replace(/\s+/g, "");
}

function mazeTextRows() {
  return $("puzzle-text").value.replace(/\r/g, "").split("\n").filter((r) => r.trim() !== "");
}

// ---------------------------------------------------------------------------------------------
// The editable sudoku grid (input side)

function buildSudokuInput() {
  const grid = $("sudoku-grid");
  grid.textContent = "";
  for (let r = 0; r < 9; r++) {
    const row = document.createElement("div");
    row.setAttribute("role", "row");
    row.className = "grid-row";
    for (let c = 0; c < 9; c++) {
      const cell = document.createElement("input");
      cell.type = "text";
      cell.inputMode = "numeric";
      cell.maxLength = 1;
      cell.autocomplete = "off";
      cell.className = cellClass(r, c);
      cell.setAttribute("role", "gridcell");
      cell.setAttribute("aria-label", `Row ${r + 1}, column ${c + 1}`);
      cell.dataset.index = String(r * 9 + c);
      cell.addEventListener("input", onGridInput);
      cell.addEventListener("keydown", onGridKey);
      row.append(cell);
    }
    grid.append(row);
  }
}

function cellClass(r, c) {
  let cls = "cell";
  if (c % 3 === 2 && c < 8) cls += " box-right";
  if (r % 3 === 2 && r < 8) cls += " box-bottom";
  return cls;
}

function gridCells() {
  return Array.from($("sudoku-grid").querySelectorAll("input"));
}

function onGridInput(ev) {
  const cell = ev.target;
  const digits = cell.value.replace(/[^1-9]/g, "");
  cell.value = digits.slice(-1);
  syncFromGrid();
  if (cell.value) moveFocus(Number(cell.dataset.index), 1);
}

function onGridKey(ev) {
  const i = Number(ev.target.dataset.index);
  const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -9, ArrowDown: 9 };
  if (ev.key in moves) {
    ev.preventDefault();
    moveFocus(i, moves[ev.key]);
  } else if (ev.key === "Backspace" || ev.key === "Delete") {
    ev.preventDefault();
    ev.target.value = "";
    syncFromGrid();
    if (ev.key === "Backspace") moveFocus(i, -1);
  }
}

function moveFocus(i, delta) {
  const next = i + delta;
  if (next >= 0 && next < 81) gridCells()[next].focus();
}

function syncFromGrid() {
  const s = gridCells().map((c) => c.value || ".").join("");
  $("puzzle-text").value = formatSudokuText(s);
}

function syncFromText() {
  if (kindOf(state.model) === "sudoku") {
    const s = sudokuTextValue();
    gridCells().forEach((cell, i) => {
      const ch = s[i] || ".";
      cell.value = /[1-9]/.test(ch) ? ch : "";
    });
  } else {
    const rows = mazeTextRows();
    renderMaze($("maze-preview"), rows, rows, new Set());
  }
}

// ---------------------------------------------------------------------------------------------
// Boards (output side)

// Sudoku: `digits` is the model's 81-digit answer, `givens` the puzzle; `changed` cell indices.
function renderSudoku(board, digits, givens, changed, verdict) {
  board.className = "board board-sudoku";
  if (board.children.length !== 81) {
    board.textContent = "";
    for (let i = 0; i < 81; i++) {
      const cell = document.createElement("div");
      cell.className = cellClass(Math.floor(i / 9), i % 9);
      board.append(cell);
    }
  }
  Array.from(board.children).forEach((cell, i) => {
    const given = /[1-9]/.test(givens[i] || "");
    const ch = digits[i] || "";
    cell.textContent = given ? givens[i] : (/[1-9]/.test(ch) ? ch : "");
    cell.className = cellClass(Math.floor(i / 9), i % 9) + (given ? " given" : " model") +
        (changed.has(i) && !given ? " changed" : "");
  });
  board.dataset.verdict = verdict || "";
  board.setAttribute("aria-label", `Sudoku answer: ${digits}`);
}

// Maze: `rows` to draw ('#', ' ', '.', 'S', 'G', 'o'); `puzzle` the rows as given.
function renderMaze(board, rows, puzzle, changed, verdict) {
  board.classList.add("board-maze");
  board.classList.remove("board-sudoku");
  board.textContent = "";
  const height = rows.length;
  const width = rows.reduce((w, r) => Math.max(w, r.length), 0);
  if (!height || !width) {
    board.setAttribute("aria-label", "No maze yet");
    return;
  }
  board.style.setProperty("--cols", String(width));
  const side = (state.model && state.model.mazeSide) || width;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const ch = rows[r][c] || "#";
      const cell = document.createElement("div");
      let cls = "mcell";
      if (ch === "#") cls += " wall";
      else if (ch === "S") cls += " start";
      else if (ch === "G") cls += " goal";
      else if (ch === "o") cls += " path";
      else cls += " open";
      if (changed.has(r * side + c)) cls += " changed";
      cell.className = cls;
      if (ch === "S" || ch === "G") cell.textContent = ch;
      board.append(cell);
    }
  }
  board.dataset.verdict = verdict || "";
  const pathCells = rows.join("").split("o").length - 1;
  board.setAttribute("aria-label", `Maze ${height} by ${width}, ${pathCells} path cells marked`);
}

function renderAnswer(step, verdict) {
  const board = $("board");
  const changed = new Set(step.changedCells || []);
  const a = step.answer || {};
  if (a.sudoku !== undefined) {
    renderSudoku(board, a.sudoku, state.givens, changed, verdict);
  } else if (a.maze) {
    renderMaze(board, a.maze.rows || [], state.mazeRows, changed, verdict);
  } else {
    board.className = "board";
    board.textContent = `The answer did not decode as a puzzle: ${JSON.stringify(a)}`;
  }
}

function showLegend(kind) {
  const items = kind === "sudoku"
      ? [["given", "given"], ["model", "model's digit"], ["changed", "changed at this step"]]
      : [["wall", "wall"], ["path", "model's path"], ["changed", "changed at this step"]];
  const legend = $("legend");
  legend.textContent = "";
  for (const [cls, text] of items) {
    const item = document.createElement("span");
    const swatch = document.createElement("span");
    swatch.className = `swatch ${kind}-${cls}`;
    swatch.setAttribute("aria-hidden", "true");
    item.append(swatch, document.createTextNode(text));
    legend.append(item);
  }
}

// ---------------------------------------------------------------------------------------------
// The confidence chart (inline SVG)

function drawChart() {
  const svg = $("chart");
  svg.textContent = "";
  const W = 320, H = 140, L = 34, R = 10, T = 10, B = 26;
  const steps = state.trace.slice(0, state.shown + 1);
  const maxStep = Math.max(
      Number($("max-steps").value) || (state.model && state.model.haltMaxSteps) || 8,
      ...steps.map((s) => s.step || 0), 2);
  const x = (s) => L + ((s - 1) / (maxStep - 1)) * (W - L - R);
  const y = (v) => T + (1 - v) * (H - T - B);
  const add = (name, attrs, text) => {
    const el = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    svg.append(el);
    return el;
  };
  for (const v of [0, 0.5, 1]) {
    add("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid-line" });
    add("text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, v.toFixed(1));
  }
  const ticks = maxStep <= 16 ? maxStep : 8;
  for (let i = 0; i < ticks; i++) {
    const s = 1 + Math.round((i * (maxStep - 1)) / Math.max(ticks - 1, 1));
    add("text", { x: x(s), y: H - 8, class: "axis", "text-anchor": "middle" }, String(s));
  }
  if (state.threshold !== null) {
    add("line", { x1: L, x2: W - R, y1: y(state.threshold), y2: y(state.threshold),
                  class: "threshold" });
  }
  if (!steps.length) return;
  const pts = steps.map((s) => `${x(s.step)},${y(s.confidence || 0)}`).join(" ");
  add("polyline", { points: pts, class: "conf-line" });
  steps.forEach((s, i) => {
    const dot = add("circle", { cx: x(s.step), cy: y(s.confidence || 0), r: i === state.shown ? 5 : 3.5,
                                class: s.final ? "conf-dot final" : "conf-dot" });
    const title = document.createElementNS(SVG, "title");
    title.textContent = `step ${s.step}: ${fmt(s.confidence || 0)}`;
    dot.append(title);
  });
  const first = steps[0].confidence || 0, last = steps[steps.length - 1].confidence || 0;
  svg.setAttribute("aria-label",
      `Confidence from ${fmt(first)} at step ${steps[0].step} to ${fmt(last)} at step ` +
      `${steps[steps.length - 1].step}`);
}

// ---------------------------------------------------------------------------------------------
// Solving: the stream, the step player, the result

function buildRequest() {
  const m = state.model;
  const req = { model: m.name, options: {} };
  if (m.task === "sudoku") {
    req.sudoku = sudokuTextValue();
    state.givens = req.sudoku;
  } else {
    req.maze = { rows: mazeTextRows() };
    state.mazeRows = req.maze.rows;
  }
  const o = req.options;
  const views = Number($("views").value);
  if (views) o.dihedralViews = views;
  const threshold = $("threshold").value;
  if (threshold !== "") o.haltThreshold = Number(threshold);
  const maxSteps = $("max-steps").value;
  if (maxSteps !== "") o.maxSteps = Number(maxSteps);
  if ($("exact-fallback").checked) o.exactFallback = true;
  if ($("ignore-halting").checked) o.ignoreHalting = true;
  state.threshold = o.ignoreHalting ? null
      : (threshold !== "" ? Number(threshold) : (m.haltThreshold || 0.5));
  return req;
}

async function solve() {
  hideError();
  if (!state.model) return;
  const req = buildRequest();
  clearTrace("Waiting for the first step…");
  showLegend(state.model.task);
  const abort = new AbortController();
  state.abort = abort;
  setBusy(true);
  try {
    const res = await fetch("/v1/solve:stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(req),
      signal: abort.signal,
    });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      throw apiError(res, body);
    }
    await readEvents(res.body, onEvent);
  } catch (e) {
    if (e.name === "AbortError") {
      $("step-status").textContent = "Stopped.";
    } else {
      showError(e);
      if (!state.trace.length) {
        $("step-status").textContent = "No answer: see the message under the Solve button.";
        $("legend").textContent = "";
      }
    }
  } finally {
    state.abort = null;
    setBusy(false);
  }
}

// Server-sent events from a fetch body: blocks separated by a blank line, `event:` and `data:`.
async function readEvents(body, handle) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) handle(name, JSON.parse(data.join("\n")));
    }
  }
}

function onEvent(name, message) {
  if (name === "error") {
    showError(message);
    return;
  }
  state.queue.push(message);
  playNext();
}

// Shows queued steps one by one; in slow motion each stays up for a moment, so a fast model's
// steps can be watched, but a long backlog (hundreds of steps) plays faster so it ends in seconds.
function playNext() {
  if (state.timer !== null || !state.queue.length) return;
  const step = state.queue.shift();
  state.trace.push(step);
  showStep(state.trace.length - 1, true);
  const dwell = $("slow-motion").checked
      ? Math.max(20, Math.min(450, 3000 / (state.queue.length + 1))) : 0;
  state.timer = setTimeout(() => {
    state.timer = null;
    playNext();
  }, dwell);
}

function showStep(index, appended) {
  state.shown = index;
  const step = state.trace[index];
  const result = step.final ? step.result || {} : null;
  const verdict = result ? verdictOf(result) : "";
  renderAnswer(step, verdict);
  if (appended) addTimelineEntry(index);
  const scrub = $("scrub");
  scrub.max = String(state.trace.length - 1);
  scrub.value = String(index);
  scrub.setAttribute("aria-valuetext", `step ${step.step}${step.final ? " (final)" : ""}`);
  $("scrub-block").hidden = state.trace.length < 2;
  for (const li of $("timeline").children) {
    const b = li.firstChild;
    if (Number(b.dataset.index) === index) b.setAttribute("aria-current", "step");
    else b.removeAttribute("aria-current");
  }
  const changed = (step.changedCells || []).length;
  $("step-status").textContent = step.final
      ? `Step ${step.step}, final: ${haltText(result)}. ${verdictText(result)}`
      : `Step ${step.step}: confidence ${fmt(step.confidence || 0)}, ${changed} cell${changed === 1 ? "" : "s"} changed.`;
  drawChart();
  if (result) showResult(result);
}

// A button per step for the first kTimelineSteps and the final one; the slider reaches every step.
const kTimelineSteps = 40;
function addTimelineEntry(index) {
  const step = state.trace[index];
  if (index >= kTimelineSteps && !step.final) return;
  const li = document.createElement("li");
  const b = document.createElement("button");
  b.type = "button";
  b.className = step.final ? "final" : "";
  b.textContent = step.final ? `${step.step} ✓` : String(step.step);
  b.dataset.index = String(index);
  b.setAttribute("aria-label", `Show step ${step.step}${step.final ? " (final)" : ""}`);
  b.addEventListener("click", () => showStep(index, false));
  li.append(b);
  $("timeline").append(li);
}

function verdictOf(result) {
  if (result.verification === "VERIFICATION_VERIFIED") return "verified";
  if (result.verification === "VERIFICATION_INVALID") return "invalid";
  return "unchecked";
}

function haltText(r) {
  switch (r.haltReason) {
    case "HALT_REASON_Q_HEAD": return `halted by the Q head at confidence ${fmt(r.confidence || 0)}`;
    case "HALT_REASON_MAX_STEPS": return "ran out of steps before the Q head said stop";
    case "HALT_REASON_FIXED_STEPS": return "ran every step (halting ignored)";
    default: return "stopped";
  }
}

function verdictText(r) {
  const source = r.source === "ANSWER_SOURCE_EXACT_SOLVER" ? " (answer from the exact solver)" : "";
  switch (r.verification) {
    case "VERIFICATION_VERIFIED": return `Verified: the answer obeys every rule${source}.`;
    case "VERIFICATION_INVALID": return `Invalid: ${r.verificationDetail || "the answer breaks a rule"}.`;
    default: return "Not checkable.";
  }
}

function showResult(r) {
  const dl = $("result");
  dl.textContent = "";
  const timing = r.timing || {};
  const rows = [
    ["Verification", verdictText(r)],
    ["Halting", haltText(r)],
    ["Answer from", r.source === "ANSWER_SOURCE_EXACT_SOLVER" ? "the exact solver" : "the model"],
    ["Steps", String(r.steps || 0)],
    ["Confidence", fmt(r.confidence || 0)],
    ["Views", (r.views || 1) > 1 ? `${r.viewsAgreeing || 0} of ${r.views} agree` : "1 (as given)"],
    ["Time", `${ms(timing.totalMs)} (queue ${ms(timing.queueMs)}, compute ${ms(timing.computeMs)})`],
    ["Model", `${r.model || "?"} ${r.modelVersion || ""}`.trim()],
    ["Request id", r.requestId || ""],
  ];
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    if (k === "Verification") dd.dataset.verdict = verdictOf(r);
    dl.append(dt, dd);
  }
  dl.hidden = false;
}

function clearTrace(message) {
  if (state.timer !== null) clearTimeout(state.timer);
  state.timer = null;
  state.trace = [];
  state.queue = [];
  state.shown = -1;
  $("timeline").textContent = "";
  $("scrub-block").hidden = true;
  $("result").hidden = true;
  $("board").textContent = "";
  $("board").className = "board";
  $("board").dataset.verdict = "";
  $("legend").textContent = "";
  $("step-status").textContent = message;
  drawChart();
}

function setBusy(busy) {
  $("solve").disabled = busy;
  $("generate").disabled = busy;
  $("model").disabled = busy;
  $("stop").hidden = !busy;
}

function showError(e) {
  const box = $("error");
  box.textContent = "";
  const code = document.createElement("strong");
  code.textContent = e.code || "ERROR";
  box.append(code, document.createTextNode(`: ${e.message || String(e)}`));
  box.hidden = false;
}

function hideError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

const fmt = (v) => Number(v).toFixed(2);
const ms = (v) => (v === undefined ? "-" : `${Math.round(Number(v))} ms`);
function formatCount(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)}K`;
  return String(n);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const seed = new URLSearchParams(location.search).get("seed");
  if (seed !== null && /^\d+$/.test(seed)) state.seed = Number(seed);
  buildSudokuInput();
  $("model").addEventListener("change", (e) => selectModel(e.target.value));
  $("generate").addEventListener("click", generate);
  $("solve").addEventListener("click", solve);
  $("stop").addEventListener("click", () => state.abort && state.abort.abort());
  $("puzzle-text").addEventListener("input", syncFromText);
  $("scrub").addEventListener("input", (e) => {
    if (state.trace.length) showStep(Number(e.target.value), false);
  });
  drawChart();
  checkReady();
  try {
    await loadModels();
    if (state.model) await generate();
  } catch (e) {
    showError(e);
  }
  document.body.dataset.ready = "true";
}

main();
