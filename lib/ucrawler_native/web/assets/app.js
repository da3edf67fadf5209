// ucrawler dashboard: polls {base}/api/overview.json every 2 s and draws it. No framework and no
// network but this API. Every value reaches the page as text (textContent / Text nodes), never
// as HTML. Actions are real forms (POST + csrf_token field, 303 back to the page); with JS they
// are confirmed, then sent with fetch and the X-CSRF-Token header.
(function () {
  "use strict";

  const meta = (name) => document.querySelector(`meta[name="${name}"]`).getAttribute("content");
  const BASE = meta("ucrawler-base");
  // Absolute, from the origin: a page opened as http://user:pass@host/... must not fetch URLs
  // resolved against it (fetch refuses URLs with credentials).
  const ROOT = window.location.origin + BASE;
  const TOKEN = meta("csrf-token");
  const POLL_MS = 2000;
  const BUCKET = 10; // seconds per history bucket
  const BUCKETS = 360; // one hour
  const ACTIONS = [
    ["pause", "Pause", "Pause crawl \"%s\"? Its workers stop taking pages (pages in flight finish)."],
    ["resume", "Resume", "Resume crawl \"%s\"?"],
    ["cancel", "Cancel", "Cancel crawl \"%s\"? Its workers stop within a few seconds."],
    ["requeue_failed", "Requeue failed", "Queue the failed pages of crawl \"%s\" again?"],
  ];
  const SVG = "http://www.w3.org/2000/svg";
  const openDetails = new Set(); // "crawl name" of the recent-error lists left open
  let timer = null;

  // ---- DOM helpers: attributes with setAttribute, children as nodes or text -------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined && value !== false) node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  const $ = (id) => document.getElementById(id);

  // ---- formatting ---------------------------------------------------------------------------
  const num = (n) => (n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US"));
  const rate = (n) => (n === null || n === undefined ? "–" : n >= 100 ? n.toFixed(0) : n.toFixed(1));
  const secs = (s) => (s === null || s === undefined ? "–" : s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`);
  function bytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
  }
  const memory = (m) => (m ? `${bytes(m.used)} of ${bytes(m.limit)}` : "–");
  // Memory by part: nested under `parts`, or beside limit/used as in the engine's stats.
  const PARTS = ["bodies", "pages", "frontier", "seen"];
  function parts(m) {
    const source = m && (m.parts || m);
    return source ? PARTS.filter((k) => typeof source[k] === "number").map((k) => `${k} ${bytes(source[k])}`).join(" · ") : "";
  }

  // With render: the process's browser, outside max_memory (render_memory bounds it).
  const browserMemory = (r) => (r && r.browser_rss_bytes ? el("small", null, `browser ${bytes(r.browser_rss_bytes)}`) : null);

  function table(headers, rows, attrs) {
    return el("div", { class: "scroll" }, el("table", attrs,
      el("thead", null, el("tr", null, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", null, rows)));
  }
  const td = (value, cls, field) => el("td", { class: cls, "data-field": field }, value);

  // ---- the header: Redis and freshness --------------------------------------------------------
  function renderRedis(redis) {
    const line = $("redis");
    line.className = "redis";
    if (!redis) {
      line.classList.add("alert");
      line.textContent = "Redis not configured: shared crawls are not shown (UcrawlerNative::Web.redis, or --redis).";
    } else if (!redis.reachable) {
      line.classList.add("alert");
      line.textContent = `Redis unreachable: ${redis.url} (prefix ${redis.prefix}): ${redis.error || "no answer"}`;
    } else {
      line.textContent = `Redis ${redis.url} · prefix ${redis.prefix}`;
    }
  }

  function notice(text, isError) {
    const node = $("notice");
    node.textContent = text;
    node.className = isError ? "notice alert" : "notice";
    node.hidden = false;
  }

  // ---- local crawls ---------------------------------------------------------------------------
  function renderLocal(local, now) {
    if (!local.length) return el("p", { class: "empty" }, "No crawl running in this process.");
    const rows = table(["Crawl", "Pages", "Errors", "Pages/s", "Frontier", "Memory", "End"],
      local.map(({ name, stats }) => el("tr", { "data-crawl": name },
        td(name, "name"), td(num(stats.pages), "num", "pages"), td(num(stats.errors), "num", "errors"),
        td(rate(stats.pages_per_sec), "num"), td(num(stats.frontier), "num"),
        td([memory(stats.memory), browserMemory(stats.render)], "num"),
        td(stats.end_reason || "running", null, "end_reason"))),
      { class: "local" });
    // Each crawl's last hour, as the shared crawls have theirs.
    const charts = local.filter(({ history }) => history && history.length)
      .map(({ name, history }) => el("div", { class: "local-chart", "data-crawl": name },
        el("h3", null, name), chart(history, now)));
    return el("div", null, rows, ...charts);
  }

  // ---- shared crawls --------------------------------------------------------------------------
  function actionForm(name, [action, label, question]) {
    const form = el("form", {
      method: "post", class: "action", "data-action": action,
      action: `${BASE}/api/crawls/${encodeURIComponent(name)}/${action}`,
    },
    el("input", { type: "hidden", name: "csrf_token", value: TOKEN }),
    el("button", { type: "submit", class: action === "cancel" ? "danger" : null }, label));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!window.confirm(question.replace("%s", name))) return;
      send(`${ROOT}/api/crawls/${encodeURIComponent(name)}/${action}`, name, label);
    });
    return form;
  }

  async function send(url, name, label) {
    try {
      const response = await fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": TOKEN, Accept: "application/json" },
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok || !body.ok) throw new Error(body.error || `HTTP ${response.status}`);
      const what = "requeued" in body ? `requeued ${body.requeued} failed pages` : `now ${body.state}`;
      notice(`${name}: ${what}.`, false);
    } catch (error) {
      notice(`${label} ${name} failed: ${error.message}`, true);
    }
    refresh();
  }

  // Pages/s and errors/s of the last hour, one point per 10 s bucket, missing buckets as 0. The
  // bucket in progress is left out: drawn, its partial count would look like a drop.
  function chart(history, now) {
    const last = (Math.floor(now / BUCKET) - 1) * BUCKET;
    const first = last - (BUCKETS - 1) * BUCKET;
    const pages = new Array(BUCKETS).fill(0);
    const errors = new Array(BUCKETS).fill(0);
    for (const bucket of history || []) {
      const i = Math.floor((bucket.t - first) / BUCKET);
      if (i < 0 || i >= BUCKETS) continue;
      pages[i] += (bucket.pages || 0) / BUCKET;
      errors[i] += (bucket.errors || 0) / BUCKET;
    }
    const peak = Math.max(...pages, ...errors);
    const top = peak > 0 ? peak : 1;
    const height = 60;
    const line = (values, cls) => {
      const node = document.createElementNS(SVG, "polyline");
      node.setAttribute("class", cls);
      node.setAttribute("points", values.map((v, i) => `${i + 0.5},${(height - (v / top) * (height - 2)).toFixed(2)}`).join(" "));
      return node;
    };
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${BUCKETS} ${height}`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("class", "chart");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "pages and errors per second, last hour");
    svg.append(line(pages, "pages"), line(errors, "errors"));
    return el("figure", { class: "chart" }, svg,
      el("figcaption", null, el("span", { class: "key pages" }, "pages/s"), " ",
        el("span", { class: "key errors" }, "errors/s"), ` · last hour · peak ${rate(peak)}/s`));
  }

  function workersTable(workers) {
    if (!workers || !workers.length) return el("p", { class: "empty" }, "No live worker (no heartbeat in the last 15 s).");
    return table(["Worker", "Pages/s", "Pages", "Errors", "RSS", "Memory", "Fetch window", "In flight", "Heartbeat"],
      workers.map((w) => el("tr", { "data-worker": w.id },
        td([`${w.host} (pid ${w.pid}) `, w.paused ? el("span", { class: "badge state-paused" }, "paused") : null], "name"),
        td(rate(w.pages_per_sec), "num"), td(num(w.pages), "num"), td(num(w.errors), "num"),
        td([bytes(w.rss), w.browser_rss ? el("small", null, `browser ${bytes(w.browser_rss)}`) : null], "num rss"),
        td([memory(w.memory), el("small", null, parts(w.memory))], "num memory"),
        td(num(w.fetch_window), "num"), td(num(w.in_flight), "num"), td(`${secs(w.age)} ago`, "num"))),
      { class: "workers" });
  }

  function list(title, items, text, empty) {
    return el("div", { class: "list" }, el("h4", null, title),
      items && items.length ? el("ul", null, items.map((item) => el("li", null, text(item)))) : el("p", { class: "empty" }, empty));
  }

  function recentErrors(crawl, now) {
    const details = el("details", { class: "recent" },
      el("summary", null, `Recent errors (${(crawl.recent_errors || []).length})`),
      table(["When", "URL", "Kind", "Message"], (crawl.recent_errors || []).map((e) => el("tr", null,
        td(`${secs(Math.max(0, now - e.at))} ago`, "num"), td(e.url, "url"), td(e.kind), td(e.message))),
      { class: "errors" }));
    details.open = openDetails.has(crawl.name);
    details.addEventListener("toggle", () => (details.open ? openDetails.add(crawl.name) : openDetails.delete(crawl.name)));
    return details;
  }

  function count(label, value, field) {
    return el("div", { class: "count" }, el("dt", null, label), el("dd", { "data-field": field }, value));
  }

  // With max_pages_per_host: the pages the host's budget spent.
  function queued(host) {
    return host.budget_used == null ? "" : ` (${num(host.budget_used)} queued of its budget)`;
  }

  function renderCrawl(crawl, now) {
    const kinds = Object.entries(crawl.errors_by_kind || {}).sort((a, b) => b[1] - a[1]);
    return el("section", { class: "crawl", "data-crawl": crawl.name },
      el("header", null, el("h3", null, crawl.name), " ",
        el("span", { class: `badge state-${crawl.state}`, "data-field": "state" }, crawl.state)),
      el("dl", { class: "counts" },
        count("pending", num(crawl.pending), "pending"), count("leased", num(crawl.leased), "leased"),
        count("done", num(crawl.done), "done"), count("failed", num(crawl.failed), "failed"),
        count("pages/s", rate(crawl.pages_per_sec), "pages_per_sec")),
      el("div", { class: "actions" }, ACTIONS.map((action) => actionForm(crawl.name, action))),
      chart(crawl.history, now),
      el("h4", null, `Workers (${(crawl.workers || []).length})`),
      workersTable(crawl.workers),
      el("div", { class: "lists" },
        list("Errors by kind", kinds, ([kind, n]) => `${kind}: ${num(n)}`, "No error."),
        list("Busiest hosts", crawl.busiest_hosts, (h) => `${h.host}: ${num(h.in_flight)} in flight${queued(h)}`, "None."),
        list("Paused hosts", crawl.paused_hosts, (h) => `${h.host}: ${secs(h.seconds)}${queued(h)}`, "None."),
        list("Over their budget", crawl.over_budget_hosts, (h) => `${h.host}: ${num(h.dropped)} dropped`, "None.")),
      recentErrors(crawl, now));
  }

  function renderShared(data) {
    if (!data.redis) return el("p", { class: "empty" }, "No Redis configured.");
    if (!data.redis.reachable) return el("p", { class: "empty alert" }, "Redis unreachable: shared crawls unknown.");
    if (!data.shared.length) return el("p", { class: "empty" }, `No shared crawl under prefix ${data.redis.prefix}.`);
    return data.shared.map((crawl) => renderCrawl(crawl, data.generated_at));
  }

  // ---- polling ----------------------------------------------------------------------------------
  function render(data) {
    renderRedis(data.redis);
    $("local-body").replaceChildren(renderLocal(data.local || [], data.generated_at));
    $("shared-body").replaceChildren(...[renderShared(data)].flat());
    const updated = $("updated");
    updated.className = "updated";
    updated.textContent = `Updated ${new Date(data.generated_at * 1000).toLocaleTimeString()}`;
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const response = await fetch(`${ROOT}/api/overview.json`, {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new Error(`HTTP ${response.status}${body.error ? `: ${body.error}` : ""}`);
      }
      render(await response.json());
    } catch (error) {
      const updated = $("updated");
      updated.className = "updated alert";
      updated.textContent = `Dashboard API unreachable (${error.message}): showing the last data, retrying.`;
    } finally {
      timer = setTimeout(refresh, POLL_MS);
    }
  }

  refresh();
})();
