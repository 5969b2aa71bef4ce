"use strict";
// The search page: every request goes to this server's /api; nothing is fetched from anywhere else.

const $ = (id) => document.getElementById(id);
const state = { collections: [], liked: [], unliked: [], mapData: null, mapXY: [], lastQuery: null, browseNext: null };
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#7b4173", "#3182bd", "#e6550d"];

function apiKey() { return localStorage.getItem("embedkit-api-key") || ""; }

async function api(path, options = {}, retried = false) {
  const headers = Object.assign({}, options.headers || {});
  if (apiKey()) headers["X-API-Key"] = apiKey();
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401 && !retried) {
    const key = window.prompt("This server needs its API key:");
    if (key) { localStorage.setItem("embedkit-api-key", key); return api(path, options, true); }
  }
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const detail = body && body.detail;
    throw new Error(typeof detail === "string" ? detail : `${response.status} ${response.statusText}`);
  }
  return body;
}

function imageUrl(sampleId, size = 192) {
  const key = apiKey() ? `&api_key=${encodeURIComponent(apiKey())}` : "";
  return `/api/collections/${encodeURIComponent(collection())}/image?id=${encodeURIComponent(sampleId)}&size=${size}${key}`;
}

const collection = () => $("collection").value;
const vector = () => $("vector").value || null;

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").className = "status" + (error ? " error" : "");
}

function filter() {
  const conditions = {};
  if ($("label").value !== "") conditions.label = Number($("label").value);
  if ($("split").value !== "") conditions.split = $("split").value;
  return conditions;
}

function k() { return Math.max(1, Math.min(200, Number($("k").value) || 24)); }

async function loadCollections() {
  const [health, collections] = await Promise.all([api("/api/health"), api("/api/collections")]);
  $("store").textContent = health.store;
  $("store").title = health.store;
  state.collections = collections;
  $("collection").replaceChildren(...collections.map((c) => new Option(`${c.name} (${c.points})`, c.name)));
  if (!collections.length) setStatus("This store has no collections yet: ingest one with `embedkit ingest`.", true);
  await collectionChanged();
}

async function collectionChanged() {
  const info = state.collections.find((c) => c.name === collection());
  $("vector").replaceChildren(...(info ? info.vectors : []).map((v) => {
    const option = new Option(`${v.name} (${v.dim}-d)`, v.name);
    option.selected = v.default;
    return option;
  }));
  state.liked = []; state.unliked = []; state.mapData = null;
  renderExamples();
  $("grid").replaceChildren();
  $("browse-grid").replaceChildren();
  state.browseNext = null;
  $("empty").hidden = false;
  if (!info) return;
  const facets = await api(`/api/collections/${encodeURIComponent(info.name)}/facets`);
  $("label").replaceChildren(new Option("any", ""), ...facets.labels.map(
    (l) => new Option(`${l.name ?? l.label} (${l.count})`, String(l.label))));
  $("split").replaceChildren(new Option("any", ""), ...facets.splits.map(
    (s) => new Option(`${s.split} (${s.count})`, s.split)));
  updateTextAvailability();
  if (info.half_written && info.half_written.length) setStatus(info.half_written.join(" "), true);
  const open = document.querySelector(".tabs [aria-selected=true]").dataset.tab;
  if (open !== "results") showTab(open);
}

function updateTextAvailability() {
  const info = state.collections.find((c) => c.name === collection());
  const text = info && info.vectors.some((v) => v.embeds_text);
  $("text").disabled = !text;
  $("text-search").disabled = !text;
  $("text").placeholder = text ? "Describe what you look for" : "This collection's encoders embed images only";
}

async function run(description, request) {
  setStatus(`Searching ${description}…`);
  $("grid").dataset.state = "loading";
  try {
    const result = await request();
    state.lastQuery = description;
    render(result);
    setStatus(`${result.hits.length} results for ${description} in ${(result.seconds * 1000).toFixed(0)} ms ` +
              `(${result.vector})`);
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    $("grid").dataset.state = "done";
  }
}

function selectedEmbedsText() {
  const info = state.collections.find((c) => c.name === collection());
  return Boolean(info && info.vectors.some((v) => v.name === vector() && v.embeds_text));
}

function searchJson(body, description) {
  // a text goes to the vector picked if it embeds text, else to the one the server finds that does
  const chosen = body.text !== undefined && !selectedEmbedsText() ? null : vector();
  return run(description, () => api(`/api/collections/${encodeURIComponent(collection())}/search`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(Object.assign({ vector: chosen, k: k(), filter: filter() }, body)),
  }));
}

function searchImage(file) {
  const reader = new FileReader();
  reader.onload = () => { $("query-image").src = reader.result; $("query-image").hidden = false; $("drop-hint").hidden = true; };
  reader.readAsDataURL(file);
  const form = new FormData();
  form.append("image", file, file.name || "pasted.png");
  if (vector()) form.append("vector", vector());
  form.append("k", String(k()));
  form.append("filter", JSON.stringify(filter()));
  return run(`the image ${file.name || "pasted"}`, () =>
    api(`/api/collections/${encodeURIComponent(collection())}/search/image`, { method: "POST", body: form }));
}

function searchId(sampleId) {
  $("query-image").src = imageUrl(sampleId, 256);
  $("query-image").hidden = false;
  $("drop-hint").hidden = true;
  showTab("results");
  return searchJson({ id: sampleId }, `sample ${sampleId}`);
}

function card(hit, isQuery) {
  const element = document.createElement("article");
  element.className = "card" + (isQuery ? " query-card" : "");
  element.dataset.sampleId = hit.sample_id;
  const thumb = document.createElement("button");
  thumb.className = "thumb";
  thumb.title = "Search from this image";
  const image = document.createElement("img");
  image.loading = "lazy";
  image.alt = hit.label_name ?? hit.sample_id;
  image.src = imageUrl(hit.sample_id);
  thumb.append(image);
  thumb.addEventListener("click", () => searchId(hit.sample_id));
  const meta = document.createElement("div");
  meta.className = "meta";
  const top = document.createElement("div");
  top.className = "top";
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = hit.label_name ?? (hit.label ?? "—");
  const score = document.createElement("span");
  score.className = "score";
  score.textContent = isQuery ? "query" : typeof hit.score === "number" ? hit.score.toFixed(3) : (hit.split ?? "");
  top.append(label, score);
  const id = document.createElement("span");
  id.className = "id";
  id.textContent = hit.sample_id;
  id.title = hit.payload.source ? `${hit.sample_id}\n${hit.payload.source}` : hit.sample_id;
  meta.append(top, id);
  if (!isQuery) {
    const actions = document.createElement("div");
    actions.className = "actions";
    for (const [kind, text] of [["like", "+ Like"], ["unlike", "− Unlike"]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = text;
      button.className = kind;
      const list = () => (kind === "like" ? state.liked : state.unliked);
      if (list().includes(hit.sample_id)) button.classList.add("on");
      button.addEventListener("click", () => { toggleExample(kind, hit.sample_id); button.classList.toggle("on"); });
      actions.append(button);
    }
    meta.append(actions);
  }
  element.append(thumb, meta);
  return element;
}

function render(result) {
  const cards = result.query_hit ? [card(result.query_hit, true)] : [];
  cards.push(...result.hits.map((hit) => card(hit, false)));
  $("grid").replaceChildren(...cards);
  $("empty").hidden = cards.length > 0;
  if (!cards.length) $("empty").textContent = "Nothing matches: loosen the label or split filter.";
}

function toggleExample(kind, sampleId) {
  const [mine, other] = kind === "like" ? [state.liked, state.unliked] : [state.unliked, state.liked];
  const at = mine.indexOf(sampleId);
  if (at >= 0) mine.splice(at, 1); else mine.push(sampleId);
  const there = other.indexOf(sampleId);
  if (there >= 0) other.splice(there, 1);
  renderExamples();
}

function renderExamples() {
  $("examples").hidden = !state.liked.length && !state.unliked.length;
  const chip = (id, kind) => {
    const element = document.createElement("span");
    element.className = "chip " + kind;
    element.textContent = (kind === "like" ? "+ " : "− ") + id;
    return element;
  };
  $("example-chips").replaceChildren(...state.liked.map((id) => chip(id, "like")),
                                     ...state.unliked.map((id) => chip(id, "unlike")));
}

function showTab(name) {
  for (const button of document.querySelectorAll(".tabs button")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === name));
  }
  for (const panel of ["results", "browse", "map", "bench"]) $(panel).hidden = panel !== name;
  if (name === "browse") browse(false);
  if (name === "map") loadMap();
  if (name === "bench") loadBench();
}

function browseFilter() {
  const conditions = filter(), extra = $("browse-field").value.trim();
  if (extra) {
    const [field, ...rest] = extra.split("=");
    const value = rest.join("=").trim();
    if (!field.trim() || !value) throw new Error("Write the condition as field=value, e.g. cluster=3");
    const values = value.split(",").map((v) => (/^-?[0-9]+$/.test(v.trim()) ? Number(v) : v.trim()));
    conditions[field.trim()] = values.length > 1 ? values : values[0];
  }
  return conditions;
}

async function browse(more) {
  // a page of the points matching the label, split and field conditions, with no query; More adds the next page
  if (!collection()) return;
  try {
    const conditions = browseFilter();
    const params = new URLSearchParams({ filter: JSON.stringify(conditions), limit: String(k()) });
    if (more && state.browseNext) params.set("offset", state.browseNext);
    setStatus("Browsing…");
    const page = await api(`/api/collections/${encodeURIComponent(collection())}/points?${params}`);
    const cards = page.points.map((point) => card(point, false));
    if (more) $("browse-grid").append(...cards); else $("browse-grid").replaceChildren(...cards);
    state.browseNext = page.next_offset;
    $("browse-more").hidden = !page.next_offset;
    const shown = $("browse-grid").children.length;
    const where = Object.keys(conditions).length ? ` matching ${JSON.stringify(conditions)}` : "";
    $("browse-count").textContent = `${shown} of ${page.matching} points${where}`;
    setStatus(`${shown} of ${page.matching} points${where}; click an image to search from it`);
  } catch (error) { setStatus(error.message, true); }
}

async function loadMap() {
  if (!collection()) return;
  const key = `${collection()}/${vector()}`;
  if (!state.mapData || state.mapData.key !== key) {
    setStatus("Drawing the map…");
    try {
      const query = vector() ? `?vector=${encodeURIComponent(vector())}` : "";
      state.mapData = Object.assign(await api(`/api/collections/${encodeURIComponent(collection())}/map${query}`), { key });
      setStatus(`Map of ${state.mapData.points.length} of ${state.mapData.total} points (PCA); hover for the image, ` +
                "click to search from it");
    } catch (error) { setStatus(error.message, true); return; }
  }
  drawMap();
}

function drawMap() {
  const canvas = $("map-canvas"), context = canvas.getContext("2d"), points = state.mapData.points;
  const scale = window.devicePixelRatio || 1, width = canvas.clientWidth, height = Math.min(560, Math.round(width * 0.6));
  canvas.width = width * scale; canvas.height = height * scale; canvas.style.height = `${height}px`;
  context.setTransform(scale, 0, 0, scale, 0, 0);
  context.clearRect(0, 0, width, height);
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y), pad = 24;
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const labels = [...new Set(points.map((p) => p.label_name ?? "(none)"))].sort();
  const colour = (p) => PALETTE[labels.indexOf(p.label_name ?? "(none)") % PALETTE.length];
  state.mapXY = points.map((p) => [pad + (p.x - x0) / ((x1 - x0) || 1) * (width - 2 * pad),
                                  height - pad - (p.y - y0) / ((y1 - y0) || 1) * (height - 2 * pad)]);
  context.globalAlpha = 0.75;
  points.forEach((p, i) => {
    context.fillStyle = colour(p);
    context.beginPath();
    context.arc(state.mapXY[i][0], state.mapXY[i][1], 3.2, 0, 2 * Math.PI);
    context.fill();
  });
  context.globalAlpha = 1;
  $("map-legend").replaceChildren(...labels.slice(0, 40).map((name, i) => {
    const item = document.createElement("span");
    const dot = document.createElement("i");
    dot.style.background = PALETTE[i % PALETTE.length];
    item.append(dot, name);
    return item;
  }));
}

function nearestPoint(event) {
  const box = $("map-canvas").getBoundingClientRect(), x = event.clientX - box.left, y = event.clientY - box.top;
  let best = -1, bestDistance = 64;
  state.mapXY.forEach(([px, py], i) => {
    const distance = (px - x) ** 2 + (py - y) ** 2;
    if (distance < bestDistance) { best = i; bestDistance = distance; }
  });
  return best < 0 ? null : { point: state.mapData.points[best], x, y };
}

function protocolOf(result) {
  // two rows of one encoder differ by how they were scored: say it (leave-one-out, or query split vs gallery)
  if (result.protocol !== "split") return result.protocol ?? "";
  return `${result.query_split ?? "?"} vs ${result.gallery_split ?? "?"}`;
}

async function loadBench() {
  if (!collection()) return;
  try {
    const results = await api(`/api/collections/${encodeURIComponent(collection())}/bench`);
    if (!results.length) {
      $("bench-table").innerHTML = "";
      $("bench-table").append(Object.assign(document.createElement("p"), { className: "empty",
        textContent: "No bench results for this collection: run `embedkit bench` (results go to bench-results/)." }));
      return;
    }
    const metricNames = [...new Set(results.flatMap((r) => Object.keys(r.metrics || {})))];
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const name of ["encoder", "dataset", "protocol", "queries", ...metricNames]) head.append(Object.assign(
      document.createElement("th"), { textContent: name }));
    const body = table.createTBody();
    for (const result of results) {
      const row = body.insertRow();
      row.insertCell().textContent = result.encoder;
      row.insertCell().textContent = result.dataset;
      row.insertCell().textContent = protocolOf(result);
      row.insertCell().textContent = result.queries ?? "";
      for (const name of metricNames) {
        const cell = row.insertCell();
        cell.className = "num";
        const value = (result.metrics || {})[name];
        cell.textContent = typeof value === "number" ? value.toFixed(4) : "";
      }
    }
    $("bench-table").replaceChildren(table);
  } catch (error) { setStatus(error.message, true); }
}

function wire() {
  $("query-image").addEventListener("load", (event) => {
    event.target.classList.toggle("small", event.target.naturalWidth < 128);  // 28 px clothes: crisp squares, not blur
  });
  const drop = $("drop"), file = $("file");
  drop.addEventListener("click", () => file.click());
  drop.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") file.click(); });
  file.addEventListener("change", () => { if (file.files[0]) searchImage(file.files[0]); file.value = ""; });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault(); drop.classList.remove("over");
    const dropped = [...event.dataTransfer.files].find((f) => f.type.startsWith("image/"));
    if (dropped) searchImage(dropped); else setStatus("Drop an image file (JPEG, PNG, WebP, …).", true);
  });
  document.addEventListener("paste", (event) => {
    const item = [...(event.clipboardData?.items || [])].find((i) => i.type.startsWith("image/"));
    if (item) searchImage(item.getAsFile());
  });
  $("text-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (text) { $("query-image").hidden = true; $("drop-hint").hidden = false; searchJson({ text }, `“${text}”`); }
  });
  $("collection").addEventListener("change", () => collectionChanged().catch((e) => setStatus(e.message, true)));
  $("vector").addEventListener("change", () => { state.mapData = null; updateTextAvailability(); });
  $("search-examples").addEventListener("click", () => {
    if (!state.liked.length) { setStatus("Like at least one result first.", true); return; }
    searchJson({ like: state.liked, unlike: state.unliked },
               `${state.liked.length} liked and ${state.unliked.length} disliked examples`);
  });
  $("clear-examples").addEventListener("click", () => { state.liked = []; state.unliked = []; renderExamples();
    document.querySelectorAll(".actions .on").forEach((b) => b.classList.remove("on")); });
  for (const button of document.querySelectorAll(".tabs button")) {
    button.addEventListener("click", () => showTab(button.dataset.tab));
  }
  $("browse-form").addEventListener("submit", (event) => { event.preventDefault(); browse(false); });
  $("browse-more").addEventListener("click", () => browse(true));
  for (const id of ["label", "split"]) {
    $(id).addEventListener("change", () => { if (!$("browse").hidden) browse(false); });
  }
  const canvas = $("map-canvas"), tip = $("map-tip");
  canvas.addEventListener("mousemove", (event) => {
    const found = state.mapData && nearestPoint(event);
    if (!found) { tip.hidden = true; return; }
    const { point, x, y } = found;
    tip.replaceChildren(Object.assign(document.createElement("img"), { src: imageUrl(point.id, 120), alt: "" }),
      Object.assign(document.createElement("div"), { textContent: `${point.label_name ?? "(no label)"} · ${point.id}` }));
    tip.style.left = `${Math.min(x + 14, canvas.clientWidth - 150)}px`;
    tip.style.top = `${Math.max(y - 70, 0)}px`;
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  canvas.addEventListener("click", (event) => { const found = state.mapData && nearestPoint(event);
    if (found) searchId(found.point.id); });
  window.addEventListener("resize", () => { if (!$("map").hidden && state.mapData) drawMap(); });
}

wire();
loadCollections().catch((error) => setStatus(error.message, true));
