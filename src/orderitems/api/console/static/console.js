// The orderitems console: each page asks the admin API (/_sandbox/...) and shows the answer.
// Hand-written, no build step, no dependency. Text goes in with textContent only.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const readOnly = document.body.dataset.readOnly === "true";
const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  }
  return node;
}

function notice(text, isError = false) {
  const box = $("#notice");
  box.textContent = text;
  box.className = isError ? "error" : "";
  box.hidden = !text;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.Message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

// One admin API call: the session cookie goes along, and the CSRF token on every change.
async function api(method, path, body) {
  const headers = { "X-CSRF-Token": csrf };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch("/_sandbox" + path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (response.status === 401) window.location.assign("/");
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

async function attempt(work, done) {
  try {
    const result = await work();
    if (done) notice(done);
    return result;
  } catch (error) {
    notice(error.message, true);
    return undefined;
  }
}

function statusClass(status) {
  if (status === 429) return "s429";
  return "s" + String(status)[0];
}

function pretty(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function describe(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, String(value))]));
}

// ---- start page
async function startPage() {
  const status = await attempt(() => api("GET", "/status"));
  if (!status) return;
  const limit = status.RateLimit.Enabled
    ? `${status.RateLimit.Requests} per AccessToken per ${status.RateLimit.WindowSeconds} s` : "off";
  describe($("#server"), [
    ["Version", status.Version], ["Mode", status.Mode], ["Base URL", status.BaseUrl],
    ["Database", status.Database], ["Shared state", status.SharedState], ["Rate limit", limit],
  ]);
  fill($("#enterprises tbody"), status.Enterprises.map((e) =>
    el("tr", {}, el("td", {}, e.Name), el("td", {}, e.Currency), el("td", { class: "num" }, e.Items.toLocaleString()))));
  const changed = Object.entries(status.ChangedSettings);
  describe($("#settings"), changed.length ? changed : [["(none)", ""]]);
  const tokens = status.DemoTokens;
  $("#tokens-card").hidden = tokens.length === 0;
  fill($("#tokens tbody"), tokens.map((t) => el("tr", {},
    el("td", {}, t.Label), el("td", { class: "mono" }, t.ClientToken), el("td", { class: "mono" }, t.AccessToken),
    el("td", {}, el("button", { type: "button", class: "quiet", onclick: () => copy(`${t.ClientToken}\n${t.AccessToken}`) }, "Copy")))));
  const pair = tokens[0] || { ClientToken: "<ClientToken>", AccessToken: "<AccessToken>" };
  const url = `${status.BaseUrl}/api/connector/v1/orderItems/getAll`;
  const body = {
    ClientToken: pair.ClientToken, AccessToken: pair.AccessToken, Client: "Sample Client 1.0.0",
    CreatedUtc: { StartUtc: "2025-01-01T00:00:00Z", EndUtc: "2025-04-01T00:00:00Z" },
    Limitation: { Count: 100 },
  };
  $("#curl-snippet").textContent =
    `curl -s -X POST ${url} \\\n  -H 'Content-Type: application/json' \\\n  -d '${JSON.stringify(body, null, 2)}'`;
  $("#python-snippet").textContent =
    `import httpx\n\nbody = ${JSON.stringify(body, null, 4)}\npage = httpx.post("${url}", json=body).json()\nprint(len(page["OrderItems"]), page["Cursor"])`;
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", () => copy($("#" + button.dataset.copy).textContent));
  }
}

async function copy(text) {
  try { await navigator.clipboard.writeText(text); notice("Copied."); } catch { notice("Select the text and copy it.", true); }
}

// ---- request log
function logPage() {
  let entries = [];
  let selected = null;
  const form = $("#log-filter");
  const matches = (entry) => {
    const status = form.status.value, operation = form.operation.value, token = form.token.value.toLowerCase();
    if (status && !String(entry.Status).startsWith(status)) return false;
    if (operation && entry.Operation !== operation) return false;
    if (token && !(entry.TokenLabel || "").toLowerCase().includes(token)) return false;
    return true;
  };
  const render = () => fill($("#log tbody"), entries.filter(matches).map((entry) => el("tr",
    { "data-request-id": entry.RequestId, class: entry.RequestId === selected ? "selected" : "", onclick: () => open(entry.RequestId) },
    el("td", {}, entry.AtUtc.replace("T", " ").slice(0, 23)),
    el("td", {}, entry.Operation || entry.Path),
    el("td", {}, entry.TokenLabel || ""),
    el("td", { class: "status " + statusClass(entry.Status) }, String(entry.Status)),
    el("td", { class: "num" }, entry.LatencyMs.toFixed(1)),
    el("td", { class: "num" }, entry.Items ?? ""),
    el("td", { class: "mono", title: entry.RequestId }, entry.RequestId.slice(0, 8)))));
  const poll = async () => {
    try {
      entries = await api("GET", "/requests?limit=200");
      $("#live").textContent = "live";
      render();
    } catch (error) {
      $("#live").textContent = "paused: " + error.message;
    }
    setTimeout(poll, 500);
  };
  form.addEventListener("input", render);
  poll();

  async function open(requestId) {
    selected = requestId;
    render();
    const entry = await attempt(() => api("GET", "/requests/" + encodeURIComponent(requestId)));
    if (!entry) return;
    const detail = entry.Detail || {};
    $("#detail").hidden = false;
    $("#detail-title").textContent = `${entry.Status} ${entry.Operation || ""} · ${entry.RequestId}`;
    $("#detail-message").textContent = entry.Message
      ? entry.Message + (entry.FaultId ? ` (injected by fault #${entry.FaultId})` : "") : "";
    const problems = detail.Problems && entry.Status === 400 ? detail.Problems : [];
    $("#detail-problems").replaceChildren(...(problems.length ? [
      el("h3", {}, "Validation problems" + (detail.Field ? ` (${detail.Field})` : "")),
      el("ul", { id: "problems" }, ...problems.map((p) => el("li", {}, p)))] : []));
    const w = detail.Window;
    $("#detail-window").replaceChildren(...(w ? [el("h3", {}, "The token's window then"),
      el("p", { id: "window-then" }, `${w.Used} of ${w.Limit} requests in ${w.WindowSeconds} s; the oldest left it ${w.OldestLeavesInSeconds} s later.`)] : []));
    $("#detail-request").textContent = pretty(detail.RequestBody || "") || "(empty)";
    const size = detail.ResponseBytes ?? 0;
    const cut = size > (detail.ResponseExcerpt || "").length;
    $("#detail-response-size").textContent = `${size.toLocaleString()} bytes` +
      (detail.Items != null ? `, ${detail.Items} items` : "") + (cut ? " (first part shown)" : "");
    $("#detail-response").textContent = cut ? detail.ResponseExcerpt + " …" : pretty(detail.ResponseExcerpt || "");
  }
}

// ---- traffic
function trafficPage() {
  const seconds = 300, classes = ["s2", "s4", "s429", "s5"];
  const colour = { s2: "#2f9e5b", s4: "#d97b0d", s429: "#b8489e", s5: "#c7322f" };
  const draw = (entries) => {
    const now = Date.now() / 1000, bins = [];
    for (let i = 0; i < seconds; i++) bins.push({ s2: 0, s4: 0, s429: 0, s5: 0 });
    for (const entry of entries) {
      const age = Math.floor(now - Date.parse(entry.AtUtc) / 1000);
      const key = statusClass(entry.Status);
      if (age >= 0 && age < seconds && key in bins[0]) bins[seconds - 1 - age][key] += 1;
    }
    const top = Math.max(1, ...bins.map((b) => classes.reduce((sum, k) => sum + b[k], 0)));
    const svg = $("#chart"), width = 900 / seconds, ns = "http://www.w3.org/2000/svg";
    const shapes = [];
    bins.forEach((bin, i) => {
      let y = 200;
      for (const key of classes) {
        if (!bin[key]) continue;
        const h = (bin[key] / top) * 190;
        y -= h;
        const rect = document.createElementNS(ns, "rect");
        for (const [n, v] of Object.entries({ x: i * width, y, width: Math.max(width - 0.5, 0.5), height: h, fill: colour[key] })) rect.setAttribute(n, v);
        shapes.push(rect);
      }
    });
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", 4); label.setAttribute("y", 14); label.setAttribute("fill", "#667085");
    label.textContent = `${top} per second`;
    svg.replaceChildren(...shapes, label);
  };
  const poll = async () => {
    const entries = await attempt(() => api("GET", "/requests?limit=1000"));
    if (entries) draw(entries);
    const windows = await attempt(() => api("GET", "/windows"));
    if (windows) {
      fill($("#windows tbody"), windows.length ? windows.map((w) => {
        const bar = el("div");
        bar.style.width = Math.min(100, (100 * w.Used) / w.Limit) + "%";
        return el("tr", {}, el("td", {}, w.TokenLabel || "unknown token " + w.TokenSha256),
          el("td", {}, `${w.Used} of ${w.Limit}`),
          el("td", {}, el("div", { class: "meter" + (w.Used >= w.Limit ? " full" : "") }, bar)),
          el("td", {}, `${w.OldestLeavesInSeconds} s`));
      }) : [el("tr", {}, el("td", { colspan: "4" }, "No token has a request in its window."))]);
    }
    setTimeout(poll, 2000);
  };
  poll();
}

// ---- data browser
function dataPage() {
  const form = $("#item-search");
  let cursors = [null], shown = null;
  const list = (text) => text.split(/[\s,]+/).filter(Boolean);
  const search = async (cursor) => {
    const query = { EnterpriseId: form.enterprise.value, Count: Number(form.count.value) || 20 };
    if (cursor) query.Cursor = cursor;
    if (form.by.value) query[form.by.value] = { StartUtc: form.start.value || null, EndUtc: form.end.value || null };
    const states = [...form.states.selectedOptions].map((o) => o.value);
    if (states.length) query.AccountingStates = states;
    if (list(form.types.value).length) query.Types = list(form.types.value);
    if (list(form.serviceOrders.value).length) query.ServiceOrderIds = list(form.serviceOrders.value);
    return attempt(() => api("POST", "/items", query));
  };
  const show = (page) => {
    fill($("#items tbody"), page.OrderItems.map((item) => el("tr", { "data-item-id": item.Id, onclick: () => openItem(item.Id) },
      el("td", {}, item.CreatedUtc), el("td", {}, item.Type), el("td", {}, item.AccountingState),
      el("td", { class: "num" }, `${item.Amount.GrossValue} ${item.Amount.Currency}`), el("td", { class: "mono" }, item.Id))));
    $("#page-number").textContent = `page ${cursors.length}`;
    $("#next-page").disabled = !page.Cursor || page.OrderItems.length < (Number(form.count.value) || 20);
    $("#next-page").dataset.cursor = page.Cursor || "";
  };
  const first = async () => {
    cursors = [null];
    const page = await search(null);
    if (page) show(page);
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); notice(""); first(); });
  $("#first-page").addEventListener("click", first);
  $("#next-page").addEventListener("click", async () => {
    const cursor = $("#next-page").dataset.cursor;
    const page = await search(cursor);
    if (page) { cursors.push(cursor); show(page); }
  });
  async function openItem(itemId) {
    const item = await attempt(() => api("GET", "/items/" + itemId));
    if (!item) return;
    shown = item;
    $("#item").hidden = false;
    $("#item-title").textContent = `${item.Type} · ${item.AccountingState}`;
    $("#item-result").textContent = "";
    $("#item-document").textContent = JSON.stringify(item, null, 2);
  }
  $("#cancel-item").addEventListener("click", async () => {
    if (!shown || !window.confirm(`Cancel order item ${shown.Id}?`)) return;
    try {
      await api("POST", "/cancel", { EnterpriseId: shown.EnterpriseId, OrderItemIds: [shown.Id] });
      await openItem(shown.Id);
      $("#item-result").textContent = `Canceled at ${shown.CanceledUtc}.`;
      $("#item-result").className = "";
    } catch (error) {
      $("#item-result").textContent = `${error.status}: ${error.message}`;
      $("#item-result").className = "error";
    }
  });
  (async () => {
    const enterprises = await attempt(() => api("GET", "/enterprises"));
    if (!enterprises) return;
    form.enterprise.replaceChildren(...enterprises.map((e) => el("option", { value: e.Id }, `${e.Name} (${e.Items})`)));
    if (enterprises.length) first();
  })();
}

// ---- faults, clock, state
function sandboxPage() {
  const faultForm = $("#fault-form"), clockForm = $("#clock-form");
  const loadFaults = async () => {
    const faults = await attempt(() => api("GET", "/faults"));
    if (!faults) return;
    fill($("#faults tbody"), faults.length ? faults.map((f) => el("tr", {},
      el("td", {}, String(f.Id)),
      el("td", {}, f.Status ? `${f.Status}${f.RetryAfter != null ? ` Retry-After ${f.RetryAfter}` : ""}` : "—"),
      el("td", {}, f.DelayMs || f.DatabaseDelayMs ? `${f.DelayMs} + db ${f.DatabaseDelayMs} ms` : ""),
      el("td", {}, f.Remaining == null ? "∞" : String(f.Remaining)),
      el("td", {}, String(f.Percent)),
      el("td", {}, f.Operation || "any"),
      el("td", { class: "mono" }, f.AccessTokenSha256 ? f.AccessTokenSha256.slice(0, 12) : "any"),
      el("td", {}, readOnly ? "" : el("button", { type: "button", class: "danger", onclick: async () => {
        await attempt(() => api("DELETE", "/faults/" + f.Id), `Fault ${f.Id} removed.`);
        loadFaults();
      } }, "Remove"))))
      : [el("tr", {}, el("td", { colspan: "8" }, "No faults."))]);
  };
  const loadClock = async () => {
    const clock = await attempt(() => api("GET", "/clock"));
    if (clock) describe($("#clock"), [["Now", clock.NowUtc], ["Frozen", clock.Frozen ? "yes" : "no"], ["Offset", `${clock.OffsetSeconds} s`]]);
  };
  faultForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = (name) => faultForm[name].value.trim();
    const spec = { DelayMs: Number(v("delay")) || 0, DatabaseDelayMs: Number(v("databaseDelay")) || 0, Percent: Number(v("percent")) || 100 };
    if (v("status")) spec.Status = Number(v("status"));
    if (v("retryAfter")) spec.RetryAfter = Number(v("retryAfter"));
    if (v("count")) spec.Count = Number(v("count"));
    if (v("operation")) spec.Operation = v("operation");
    if (v("token")) spec.AccessToken = v("token");
    const added = await attempt(() => api("POST", "/faults", spec));
    if (added) notice(`Fault ${added.Id} added.`);
    loadFaults();
  });
  $("#clear-faults").addEventListener("click", async () => {
    if (!window.confirm("Remove every fault?")) return;
    await attempt(() => api("DELETE", "/faults"), "Every fault removed.");
    loadFaults();
  });
  const setClock = async (frozen) => {
    const body = { Frozen: frozen };
    if (clockForm.at.value.trim()) body.NowUtc = clockForm.at.value.trim();
    await attempt(() => api("PUT", "/clock", body), frozen ? "Clock frozen." : "Clock set.");
    loadClock();
  };
  clockForm.addEventListener("submit", (event) => { event.preventDefault(); setClock(true); });
  $("#run-clock").addEventListener("click", () => setClock(false));
  $("#release-clock").addEventListener("click", async () => {
    await attempt(() => api("DELETE", "/clock"), "Clock released.");
    loadClock();
  });
  $("#clear-limits").addEventListener("click", async () => {
    if (window.confirm("Forget every token's rate-limit window?")) await attempt(() => api("DELETE", "/limits"), "Rate-limit windows cleared.");
  });
  $("#clear-log").addEventListener("click", async () => {
    if (window.confirm("Empty the request log?")) await attempt(() => api("DELETE", "/requests"), "Request log cleared.");
  });
  $("#reset").addEventListener("click", async () => {
    if (!window.confirm("Delete all data and regenerate the demo state? Faults, clock and log go too.")) return;
    notice("Resetting…");
    const done = await attempt(() => api("POST", "/reset"));
    if (done) {
      $("#reset-result").textContent = `Reset: ${done.Items} items in ${done.Seconds} s.`;
      notice(`Reset to the demo state: ${done.Items} items.`);
    }
    loadFaults();
    loadClock();
  });
  loadFaults();
  loadClock();
  // Counted faults are used up and a running clock moves: keep both current.
  setInterval(() => { loadFaults(); loadClock(); }, 2000);
}

const logout = $("#logout");
if (logout) {
  logout.addEventListener("click", async () => {
    await fetch("/console/logout", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
    window.location.assign("/");
  });
}
const pages = { start: startPage, log: logPage, traffic: trafficPage, data: dataPage, sandbox: sandboxPage };
if (pages[document.body.dataset.page]) pages[document.body.dataset.page]();
