// The operator console: views over the /v1/ inspection API, drawn with DOM calls (no framework,
// no build step, no inline script). Every name is set as text, never as HTML. When the server
// wants a token, it is kept in sessionStorage and sent only in the Authorization header.

const TOKEN_KEY = "pkgindex-token";
const THEME_KEY = "pkgindex-theme";
/** How often the overview's counters are sampled, and how many samples the chart keeps. */
const SAMPLE_MS = 2000;
const HISTORY = 150;
/** The most names a list in a view shows; the totals are always complete. */
const LIST_LIMIT = 500;
/** The most boxes a layer of the package graph draws before it collapses the rest. */
const LAYER_LIMIT = 12;
const PAGE_SIZE = 50;
const COMMANDS = ["INDEX", "REMOVE", "QUERY"];
const REPLIES = ["OK", "FAIL", "ERROR"];
const SVG = "http://www.w3.org/2000/svg";

const main = document.getElementById("main");
const statusLine = document.getElementById("status");
const access = document.querySelector('meta[name="pkgindex-access"]').content;

/** Thrown when the server answers 401: the page asks for the token. */
class Unauthorized extends Error {}

/** Calls the API at `path` with the stored token; resolves to the parsed JSON answer. */
async function api(path, init = {}) {
  const headers = new Headers(init.headers);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  const response = await fetch(path, { ...init, headers, cache: "no-store" });
  if (response.status === 401) throw new Unauthorized("The server refused the token.");
  const body = await response.json();
  if (!response.ok) {
    const error = new Error(body.error ?? `The server answered ${response.status}.`);
    error.status = response.status;
    throw error;
  }
  return body;
}

/** Makes an HTML element with attributes and children (strings become text). */
function h(tag, attributes = {}, ...children) {
  return build(document.createElement(tag), attributes, children);
}

/** Makes an SVG element with attributes and children. */
function s(tag, attributes = {}, ...children) {
  return build(document.createElementNS(SVG, tag), attributes, children);
}

function build(element, attributes, children) {
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) element.append(child);
  }
  return element;
}

// Numbers are formatted by hand: creating Intl formatters costs tens of milliseconds at startup.
/** An integer with thousands separators: 1234567 → "1,234,567". */
function integer(value) {
  return String(Math.round(value)).replace(/\B(?=(\d{3})+$)/g, ",");
}

/** One decimal at most: 8427.25 → "8,427.3", 3 → "3". */
function decimal(value) {
  const [whole, fraction = "0"] = value.toFixed(1).split(".");
  return integer(Number(whole)) + (fraction === "0" ? "" : `.${fraction}`);
}

/** Three significant digits at most, for small durations: 0.046612 → "0.0466". */
function precise(value) {
  return value >= 100 ? decimal(value) : String(Number(value.toPrecision(3)));
}

function packageHref(name) {
  return `#/package/${encodeURIComponent(name)}`;
}

function packageLink(name) {
  return h("a", { href: packageHref(name) }, name);
}

/** A list of package links, with a line saying how many of how many it shows. */
function nameList(title, names, total, { ordered = false, empty = "None." } = {}) {
  const id = `list-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  const list = h(ordered ? "ol" : "ul", { class: "names", "aria-labelledby": id });
  list.append(...names.map((name) => h("li", {}, packageLink(name))));
  return h(
    "section",
    {},
    h("h3", { id }, `${title} (${integer(total)})`),
    names.length === 0 ? h("p", { class: "muted" }, empty) : list,
    names.length < total
      ? h("p", { class: "muted" }, `Showing the first ${integer(names.length)}.`)
      : null,
  );
}

function cards(entries) {
  return h(
    "dl",
    { class: "cards" },
    entries.map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", {}, value))),
  );
}

function table(caption, headings, rows) {
  return h(
    "table",
    {},
    h("caption", { class: "muted" }, caption),
    h(
      "thead",
      {},
      h("tr", {}, headings.map(([text, numeric]) => h("th", { class: numeric && "n" }, text))),
    ),
    h(
      "tbody",
      {},
      rows.map((cells) =>
        h("tr", {}, cells.map((cell, i) => h("td", { class: headings[i][1] && "n" }, cell)))
      ),
    ),
  );
}

// ---- The sampler: /v1/info every SAMPLE_MS, for the overview's rates and chart. ----

const samples = [];
let sampling;

async function sample() {
  const info = await api("/v1/info");
  samples.push({ time: performance.now(), info });
  if (samples.length > HISTORY + 1) samples.shift();
  document.getElementById("role-link").hidden = info.replication == null;
  return info;
}

function startSampling() {
  if (sampling !== undefined) return;
  sampling = setInterval(async () => {
    try {
      await sample();
      statusLine.textContent = `Counters updated at ${new Date().toISOString().slice(11, 19)} UTC.`;
      if (currentView === "overview") renderOverview();
    } catch (error) {
      if (error instanceof Unauthorized) {
        stopSampling();
        askForToken("The server refused the token.");
      } else statusLine.textContent = `Cannot read the counters: ${error.message}`;
    }
  }, SAMPLE_MS);
}

function stopSampling() {
  clearInterval(sampling);
  sampling = undefined;
}

/** Requests per second between two samples, for `count(info)`. */
function rate(before, after, count) {
  const seconds = (after.time - before.time) / 1000;
  return seconds > 0 ? (count(after.info) - count(before.info)) / seconds : 0;
}

function totalRequests(info) {
  let total = info.malformed;
  for (const command of COMMANDS) {
    for (const reply of REPLIES) total += info.requests[command][reply];
  }
  return total;
}

// ---- Views. Each renders into `main` and resolves when its data is shown. ----

async function overview() {
  if (samples.length === 0) await sample();
  renderOverview();
  startSampling();
}

function renderOverview() {
  const last = samples.at(-1);
  const before = samples.at(-2);
  const { info } = last;
  const perSecond = (count) =>
    before === undefined ? "…" : `${decimal(rate(before, last, count))}/s`;
  const rows = COMMANDS.map((command) => [
    command,
    ...REPLIES.map((reply) => perSecond((i) => i.requests[command][reply])),
    integer(REPLIES.reduce((sum, reply) => sum + info.requests[command][reply], 0)),
  ]);
  rows.push(["malformed", perSecond((i) => i.malformed), "", "", integer(info.malformed)]);
  const hours = Math.floor(info.uptimeSeconds / 3600);
  const minutes = Math.floor(info.uptimeSeconds / 60) % 60;
  main.replaceChildren(
    h("h2", {}, "Overview"),
    cards([
      ["Packages", integer(info.packages)],
      ["Dependency edges", integer(info.edges)],
      ["Open connections", integer(info.connections.open)],
      ["Requests", perSecond(totalRequests)],
      ["Up for", `${hours} h ${minutes} min`],
      ["Version", info.version],
    ]),
    h("h3", {}, "Requests per second, by command and reply"),
    table(
      "Rates from the last two samples; totals since the start.",
      [["Command"], ["OK", true], ["FAIL", true], ["ERROR", true], ["Total", true]],
      rows,
    ),
    commits(last, samples[0]),
    h("h3", {}, "All requests per second, last minutes"),
    chart(),
    h(
      "p",
      { class: "muted" },
      `Connections accepted ${integer(info.connections.accepted)}, rejected at the limit ${
        integer(info.connections.rejected)
      }, closed idle ${integer(info.connections.idleTimeouts)}.`,
    ),
  );
}

/** The durable mode's commits: the mean latency over the samples the chart shows. */
function commits(last, first) {
  const { commits } = last.info;
  if (commits === undefined) {
    return h("p", { class: "muted" }, "No data file: requests are not committed to disk.");
  }
  const count = commits.committed - first.info.commits.committed;
  const seconds = commits.totalSeconds - first.info.commits.totalSeconds;
  const minutes = Math.max(1, Math.round((last.time - first.time) / 60000));
  return h(
    "section",
    {},
    h("h3", {}, "Commits to the data file"),
    cards([
      [
        "Mean commit latency",
        count > 0 ? `${precise((seconds / count) * 1000)} ms` : "no commits lately",
      ],
      [`Commits, last ${minutes} min`, integer(count)],
      ["Slowest commit", `${precise(commits.maxSeconds * 1000)} ms`],
      ["Committed", integer(commits.committed)],
      ["Failed", integer(commits.failed)],
    ]),
  );
}

/** The requests per second of every pair of samples, as a line. */
function chart() {
  const width = 600;
  const height = 120;
  const points = [];
  for (let i = 1; i < samples.length; i++) {
    points.push({ time: samples[i].time, value: rate(samples[i - 1], samples[i], totalRequests) });
  }
  const peak = Math.max(1, ...points.map((point) => point.value));
  const now = samples.at(-1).time;
  const span = HISTORY * SAMPLE_MS;
  const x = (time) => width - ((now - time) / span) * width;
  const y = (value) => height - 4 - (value / peak) * (height - 24);
  const latest = points.at(-1)?.value ?? 0;
  return s(
    "svg",
    {
      class: "chart",
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: "img",
      "aria-label": `Requests per second over the last ${span / 60000} minutes: now ${
        decimal(latest)
      }, peak ${decimal(peak)}.`,
    },
    s("line", { class: "axis", x1: 0, y1: height - 4, x2: width, y2: height - 4 }),
    s("text", { x: 4, y: 14 }, `peak ${decimal(peak)}/s`),
    s("text", { x: width - 4, y: 14, "text-anchor": "end" }, `${span / 60000} min`),
    s("polyline", {
      points: points.map((point) => `${x(point.time).toFixed(1)},${y(point.value).toFixed(1)}`)
        .join(" "),
    }),
    points.length === 0
      ? s("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "Sampling…")
      : s("circle", { cx: x(points.at(-1).time), cy: y(latest), r: 3 }),
  );
}

async function search({ query }) {
  const prefix = query.get("prefix") ?? "";
  const after = query.get("after") ?? "";
  const input = h("input", {
    type: "text",
    id: "prefix",
    name: "prefix",
    value: prefix,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "gtk",
  });
  const form = h(
    "form",
    {
      role: "search",
      onsubmit(event) {
        event.preventDefault();
        location.hash = `#/search?prefix=${encodeURIComponent(input.value)}`;
      },
    },
    h("label", { for: "prefix" }, "Name prefix"),
    input,
    h("button", { type: "submit" }, "Search"),
  );
  const parameters = new URLSearchParams({ prefix, after, limit: String(PAGE_SIZE) });
  const page = await api(`/v1/packages?${parameters.toString().replaceAll("+", "%20")}`);
  const trail = searchTrails.get(prefix) ?? [""];
  if (!trail.includes(after)) trail.push(after);
  searchTrails.set(prefix, trail);
  const position = trail.indexOf(after);
  const previous = position > 0 ? trail[position - 1] : undefined;
  const link = (text, cursor) =>
    h("a", {
      href: `#/search?prefix=${encodeURIComponent(prefix)}` +
        (cursor === "" ? "" : `&after=${encodeURIComponent(cursor)}`),
    }, text);
  const pages = h(
    "nav",
    { "aria-label": "Pages", class: "pages" },
    after === "" || previous === "" ? null : [link("First page", ""), " "],
    previous === undefined ? null : [link("Previous page", previous), " "],
    page.next === null ? null : link("Next page", page.next),
  );
  main.replaceChildren(
    h("h2", {}, "Search"),
    form,
    h(
      "p",
      { id: "search-summary" },
      `${integer(page.total)} ${page.total === 1 ? "package starts" : "packages start"} ` +
        `with '${prefix}'` + (after === "" ? "." : `; after '${after}':`),
    ),
    h(
      "ul",
      { class: "results", "aria-label": "Packages" },
      page.names.map((name) => h("li", {}, packageLink(name))),
    ),
    pages,
  );
  return input;
}

/** For each searched prefix, the cursors of the pages seen, so "Previous page" can go back. */
const searchTrails = new Map();

async function packageView({ argument: name }) {
  const path = `/v1/packages/${encodeURIComponent(name)}`;
  const limit = `?limit=${LIST_LIMIT}`;
  // Asked in this order: the server walks one at a time, and the blockers are the longest walk.
  const viewAnswer = api(path + limit);
  const orderAnswer = api(`${path}/install-order${limit}`);
  const blockersAnswer = api(`${path}/blockers${limit}`);
  // Only the first answer's failure is shown; the others fail the same way.
  orderAnswer.catch(() => {});
  blockersAnswer.catch(() => {});
  let view;
  try {
    view = await viewAnswer;
  } catch (error) {
    if (error.status !== 404) throw error;
    main.replaceChildren(
      h("h2", {}, name),
      h("p", {}, error.message),
      h("p", {}, h("a", { href: `#/search?prefix=${encodeURIComponent(name)}` }, "Search")),
    );
    return;
  }
  // The package and its graph first; the two longer walks fill in their places when they end.
  const pending = (title) =>
    h("section", {}, h("h3", {}, title), h("p", { class: "muted" }, "Walking the graph…"));
  const blockersSection = pending("Blockers, in REMOVE order");
  const orderSection = pending("Install order");
  const blockersTotal = h("span", {}, "…");
  const orderTotal = h("span", {}, "…");
  main.replaceChildren(
    h("h2", {}, view.name),
    cards([
      ["Dependencies", integer(view.dependencyCount)],
      ["Dependents", integer(view.dependentCount)],
      ["Blockers of REMOVE", blockersTotal],
      ["Install order", orderTotal],
    ]),
    graph(view),
    h(
      "div",
      { class: "columns" },
      nameList("Dependencies", view.dependencies, view.dependencyCount),
      nameList("Dependents", view.dependents, view.dependentCount),
      blockersSection,
      orderSection,
    ),
  );
  performance.mark("pkgindex:package-shown");
  const [order, blockers] = await Promise.all([orderAnswer, blockersAnswer]);
  orderTotal.textContent = integer(order.total);
  orderSection.replaceWith(nameList("Install order", order.order, order.total, { ordered: true }));
  blockersTotal.textContent = integer(blockers.total);
  blockersSection.replaceWith(
    nameList("Blockers, in REMOVE order", blockers.blockers, blockers.total, {
      ordered: true,
      empty: "None: REMOVE succeeds.",
    }),
  );
}

/**
 * The package between its dependencies (above) and its dependents (below), each layer cut at
 * LAYER_LIMIT boxes, the last saying how many more there are.
 */
function graph(view) {
  const columns = 6;
  const box = { width: 140, height: 26, gap: 10 };
  const width = columns * (box.width + box.gap) - box.gap;
  const layerHeight = (count) =>
    Math.ceil(Math.max(count, 1) / columns) * (box.height + box.gap) - box.gap;
  const shown = (names, total) => {
    const boxes = names.slice(0, total > LAYER_LIMIT ? LAYER_LIMIT - 1 : LAYER_LIMIT);
    return { boxes, more: total - boxes.length };
  };
  const up = shown(view.dependencies, view.dependencyCount);
  const down = shown(view.dependents, view.dependentCount);
  const upCount = up.boxes.length + (up.more > 0 ? 1 : 0);
  const downCount = down.boxes.length + (down.more > 0 ? 1 : 0);
  const top = 20;
  const middle = top + layerHeight(upCount) + 50;
  const bottom = middle + box.height + 50;
  const height = bottom + layerHeight(downCount) + 4;
  const edges = s("g", {});
  const nodes = s("g", {});
  const self = { x: (width - box.width) / 2, y: middle };
  const place = (layer, y) => {
    const count = layer.boxes.length + (layer.more > 0 ? 1 : 0);
    const positions = [];
    for (let i = 0; i < count; i++) {
      const row = Math.floor(i / columns);
      const inRow = Math.min(columns, count - row * columns);
      const left = (width - (inRow * (box.width + box.gap) - box.gap)) / 2;
      positions.push({
        x: left + (i % columns) * (box.width + box.gap),
        y: y + row * (box.height + box.gap),
      });
    }
    return positions;
  };
  const drawLayer = (layer, y, above) => {
    place(layer, y).forEach((position, i) => {
      const name = layer.boxes[i];
      const selfEnd = above ? self.y : self.y + box.height;
      const end = above ? position.y + box.height : position.y;
      edges.append(s("line", {
        class: "edge",
        x1: self.x + box.width / 2,
        y1: selfEnd,
        x2: position.x + box.width / 2,
        y2: end,
      }));
      nodes.append(
        name === undefined
          ? s("g", { class: "more" }, node(position, `+${integer(layer.more)} more`))
          : s("a", { href: packageHref(name), "aria-label": name }, node(position, name)),
      );
    });
  };
  const node = (position, label) => {
    const text = label.length > 18 ? `${label.slice(0, 17)}…` : label;
    return [
      s("title", {}, label),
      s("rect", { ...position, width: box.width, height: box.height, rx: 4 }),
      s("text", {
        x: position.x + box.width / 2,
        y: position.y + box.height / 2 + 4,
        "text-anchor": "middle",
      }, text),
    ];
  };
  drawLayer(up, top, true);
  drawLayer(down, bottom, false);
  nodes.append(s("g", { class: "self" }, node(self, view.name)));
  return s(
    "svg",
    {
      class: "graph",
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: "group",
      "aria-label": `${view.name}: ${view.dependencyCount} dependencies above, ` +
        `${view.dependentCount} dependents below`,
    },
    s("text", { class: "layer", x: 0, y: 12 }, "depends on ↑"),
    s("text", { class: "layer", x: 0, y: bottom - 8 }, "needed by ↓"),
    edges,
    nodes,
  );
}

async function explain({ query }) {
  const line = query.get("line") ?? "";
  const input = h("input", {
    type: "text",
    id: "line",
    value: line,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "REMOVE|openssl|",
  });
  const form = h(
    "form",
    {
      onsubmit(event) {
        event.preventDefault();
        location.hash = `#/explain?line=${encodeURIComponent(input.value)}`;
      },
    },
    h("label", { for: "line" }, "Protocol line"),
    input,
    h("button", { type: "submit" }, "Explain"),
  );
  const parts = [h("h2", {}, "Explain a line"), form];
  if (line !== "") {
    const answer = await api("/v1/explain", { method: "POST", body: line });
    parts.push(
      h(
        "section",
        { "aria-label": "Explanation" },
        h("p", { class: `reply reply-${answer.reply}`, id: "reply" }, answer.reply),
        h("p", { id: "reason" }, answer.reason),
        answer.malformed === undefined ? null : h(
          "pre",
          { "aria-label": `The ${answer.malformed.field} is malformed` },
          `${answer.line}\n${" ".repeat(answer.malformed.byte)}^ ${answer.malformed.field}`,
        ),
        answer.cycle === undefined ? null : h(
          "section",
          {},
          h("h3", {}, "Cycle it would close"),
          h(
            "p",
            {},
            answer.cycle.flatMap((name, i) => [i === 0 ? "" : " → ", packageLink(name)]),
          ),
        ),
        h(
          "div",
          { class: "columns" },
          answer.missing === undefined
            ? null
            : nameList("Missing dependencies", answer.missing, answer.missing.length),
          answer.dependents === undefined
            ? null
            : nameList("Dependents", answer.dependents, answer.dependents.length),
          answer.blockers === undefined
            ? null
            : nameList("Blockers, in REMOVE order", answer.blockers, answer.blockers.length, {
              ordered: true,
            }),
        ),
        answer.truncated ? h("p", { class: "muted" }, "The lists were cut at the limit.") : null,
      ),
    );
  }
  main.replaceChildren(...parts);
  return input;
}

async function activity() {
  const [slowlog, connections] = await Promise.all([
    api(`/v1/slowlog?limit=${LIST_LIMIT}`),
    api(`/v1/connections?limit=${LIST_LIMIT}`),
  ]);
  main.replaceChildren(
    h("h2", {}, "Slow log and connections"),
    h("button", { type: "button", onclick: () => route() }, "Refresh"),
    h("h3", {}, "Open connections"),
    table(
      `${integer(connections.total)} open, oldest first.`,
      [
        ["Peer"],
        ["Age s", true],
        ["Idle s", true],
        ["Requests", true],
        ["Bytes received", true],
        ["Bytes sent", true],
      ],
      connections.connections.map((c) => [
        c.peer,
        decimal(c.ageSeconds),
        decimal(c.idleSeconds),
        integer(c.requests),
        integer(c.bytesReceived),
        integer(c.bytesSent),
      ]),
    ),
    h("h3", {}, "Slow requests"),
    table(
      `INDEX requests that took ${slowlog.thresholdMs} ms or more, newest first: ` +
        `${integer(slowlog.recorded)} since the start.`,
      [["#", true], ["Time"], ["Command"], ["Package"], ["Deps", true], ["ms", true], ["Peer"]],
      slowlog.entries.map((entry) => [
        String(entry.id),
        entry.time.slice(11, 23),
        entry.command,
        packageLink(entry.package),
        String(entry.dependencies),
        precise(entry.durationMs),
        entry.peer,
      ]),
    ),
  );
}

async function role() {
  const { replication } = await sample();
  if (replication == null) {
    main.replaceChildren(
      h("h2", {}, "Role"),
      h("p", {}, "This server has no roles: it runs alone, without replication."),
    );
    return;
  }
  // A leader may have no lag to report: a missing number is shown as a dash.
  const shown = (value, format) => typeof value === "number" ? format(value) : "—";
  const { data } = replication;
  main.replaceChildren(
    h("h2", {}, `Role: ${replication.role}`),
    cards([
      ["Role", replication.role],
      ["Epoch", shown(replication.epoch, integer)],
      ["Lease valid", replication.leaseValid ? "yes" : "no"],
      ["Applied change", shown(replication.appliedChange, integer)],
      ["Lag, changes", shown(replication.lagChanges, integer)],
      ["Lag, seconds", shown(replication.lagSeconds, precise)],
    ]),
    data == null
      ? null
      : h("p", {}, "Data: ", h("code", {}, typeof data === "string" ? data : JSON.stringify(data))),
  );
}

// ---- The token, the theme, and the router. ----

function askForToken(message) {
  stopSampling();
  samples.length = 0;
  sessionStorage.removeItem(TOKEN_KEY);
  document.getElementById("forget").hidden = true;
  currentView = "token";
  const input = h("input", {
    type: "password",
    id: "token",
    autocomplete: "off",
    required: true,
  });
  main.replaceChildren(
    h("h2", {}, "Token"),
    h("p", {}, message),
    h(
      "form",
      {
        onsubmit(event) {
          event.preventDefault();
          sessionStorage.setItem(TOKEN_KEY, input.value.trim());
          route();
        },
      },
      h("label", { for: "token" }, "PKGINDEX_HTTP_TOKEN"),
      input,
      h("button", { type: "submit" }, "Use token"),
    ),
    h(
      "p",
      { class: "muted" },
      "The token stays in this tab's session storage and is sent only in the " +
        "Authorization header.",
    ),
  );
  markRendered("token");
  input.focus();
}

const VIEWS = { "": overview, search, package: packageView, explain, activity, role };
const NAMES = { "": "overview", package: "package" };
let currentView;
let generation = 0;

/** Renders the view the location's hash names: `#/view/argument?query`. */
async function route() {
  const hash = location.hash.slice(1) || "/";
  const question = hash.indexOf("?");
  const path = question === -1 ? hash : hash.slice(0, question);
  const query = new URLSearchParams(question === -1 ? "" : hash.slice(question + 1));
  const [, key = "", ...rest] = path.split("/");
  const render = Object.hasOwn(VIEWS, key) ? VIEWS[key] : undefined;
  const name = NAMES[key] ?? key;
  if (access === "token" && sessionStorage.getItem(TOKEN_KEY) === null) {
    askForToken("This server asks for its token.");
    return;
  }
  document.getElementById("forget").hidden = sessionStorage.getItem(TOKEN_KEY) === null;
  const mine = ++generation;
  currentView = name;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (render === undefined) {
    main.replaceChildren(h("h2", {}, "Not found"), h("p", {}, `There is no view '${key}'.`));
    markRendered("missing");
    return;
  }
  main.setAttribute("aria-busy", "true");
  try {
    let argument = "";
    try {
      argument = decodeURIComponent(rest.join("/"));
    } catch {
      argument = rest.join("/");
    }
    const focus = await render({ query, argument });
    if (mine !== generation) return;
    if (samples.length === 0 && name !== "overview") sample().catch(() => {});
    document.title = `${main.querySelector("h2")?.textContent ?? name} · pkgindex`;
    if (focus === undefined) scrollTo(0, 0);
    (focus ?? main).focus({ preventScroll: focus === undefined });
    markRendered(name);
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof Unauthorized) {
      askForToken("The server refused that token; enter it again.");
      return;
    }
    main.replaceChildren(h("h2", {}, "Error"), h("p", { class: "error" }, error.message));
    markRendered("error");
  } finally {
    if (mine === generation) main.removeAttribute("aria-busy");
  }
}

/** Records that `view` is on screen: tests wait for it, and the benchmark reads the mark. */
function markRendered(view) {
  main.dataset.rendered = view;
  performance.mark("pkgindex:rendered", { detail: view });
}

function applyTheme(theme) {
  if (theme === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

const themeSelect = document.getElementById("theme");
themeSelect.value = localStorage.getItem(THEME_KEY) ?? "auto";
applyTheme(themeSelect.value);
themeSelect.addEventListener("change", () => {
  localStorage.setItem(THEME_KEY, themeSelect.value);
  applyTheme(themeSelect.value);
});
document.getElementById("forget").addEventListener("click", () => {
  askForToken("The token is forgotten. Enter it to go on.");
});
addEventListener("hashchange", () => route());
route();
