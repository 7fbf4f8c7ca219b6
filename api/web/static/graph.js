// The knowledge graph, drawn with cytoscape.js (served from ./vendor): zoom and pan, filter by
// team, skill or person (the API does the filtering, with the caller's visibility), click a node
// for its details and links to the document or the person's learning page; and the graph's
// questions: experts near a topic, the shortest path to a skill level, bottleneck skills and
// documents that link teams' courses. Every answer comes from the API with the caller's key.
import "./graph.i18n.js"; // first: the page's words join the tables before anything is shown
import cytoscape from "./vendor/cytoscape/cytoscape.esm.min.js";
import { api, documentHref, el, fill, renderHeader, requireSession, say } from "./api.js";
import { t, translate } from "./i18n.js";

translate();
const me = requireSession();
renderHeader("graph");
document
  .querySelector("header.site nav ul")
  ?.append(el("li", {}, el("a", { href: "/web/graph", "aria-current": "page", i18n: "page.graph" })));

/** The drawing and the graph it shows, for the page's own code (and its browser tests). */
export const view = { cy: null, data: null, ready: null };

const KINDS = ["team", "course", "module", "skill", "person", "document"];
const COLOURS = {
  team: "#17213a",
  course: "#1f5fbf",
  module: "#5b8def",
  skill: "#c77c00",
  person: "#1d7a46",
  document: "#b3261e",
};
const SHAPES = {
  team: "hexagon",
  course: "round-rectangle",
  module: "ellipse",
  skill: "diamond",
  person: "ellipse",
  document: "rectangle",
};
const SIZES = { team: 34, course: 28, module: 22, skill: 24, person: 18, document: 16 };
const FONT =
  'system-ui, "Segoe UI", Roboto, Arial, "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';
const STYLE = [
  {
    selector: "node",
    style: {
      "background-color": "data(colour)",
      shape: "data(shape)",
      width: "data(size)",
      height: "data(size)",
      label: "data(label)",
      "font-family": FONT,
      "font-size": 10,
      color: "#1d2330",
      "text-valign": "bottom",
      "text-margin-y": 3,
      "text-wrap": "ellipsis",
      "text-max-width": "110px",
      "min-zoomed-font-size": 6,
    },
  },
  {
    selector: "edge",
    style: {
      width: 1,
      "line-color": "#c3cad6",
      "curve-style": "bezier",
      "target-arrow-shape": "triangle",
      "target-arrow-color": "#c3cad6",
      "arrow-scale": 0.6,
    },
  },
  {
    selector: 'edge[kind = "prerequisite"]',
    style: { width: 2, "line-color": "#5b8def", "target-arrow-color": "#5b8def" },
  },
  { selector: "node:selected", style: { "border-width": 4, "border-color": "#f0a500" } },
  { selector: ".highlight", style: { "border-width": 4, "border-color": "#f0a500" } },
  { selector: ".faded", style: { opacity: 0.15 } },
];

const form = document.getElementById("graph-form");
const status = document.getElementById("graph-status");
const container = document.getElementById("graph");
const details = document.getElementById("details");
const nodeSelect = document.getElementById("g-node");
const boxes = Object.fromEntries(["experts", "path", "bottlenecks", "bridges"].map((id) => [id, document.getElementById(id)]));
let selected = null;

const kindOf = (id) => id.split(":", 1)[0];
const problem = (error) => el("p", { class: "status", "data-kind": "error" }, error.message);
const note = (key, params) => el("p", { class: "muted", i18n: params ? [key, params] : key });
const nodeButton = (id, text) =>
  el("button", { type: "button", class: "link-button", onclick: () => focusNode(id) }, text);
const num = (x) => (Math.round(x * 100) / 100).toString();

/** The filters in the form, without the empty ones. */
function filters() {
  const query = {};
  for (const name of ["team", "skill", "person"]) {
    const value = form[name].value.trim();
    if (value) query[name] = value;
  }
  return query;
}

function elements(data) {
  const nodes = data.nodes.map(({ id, kind, label, ...attrs }) => ({
    group: "nodes",
    data: { id, kind, label, attrs, colour: COLOURS[kind], shape: SHAPES[kind], size: SIZES[kind] },
  }));
  const edges = data.edges.map(({ source, target, kind, level }) => ({
    group: "edges",
    data: { id: `${source}->${target}`, source, target, kind, level },
  }));
  return [...nodes, ...edges];
}

function draw(data) {
  view.data = data;
  selected = null;
  if (view.cy) view.cy.destroy();
  const cy = cytoscape({
    container,
    elements: elements(data),
    style: STYLE,
    layout: {
      name: "cose",
      animate: false,
      randomize: true,
      padding: 20,
      nodeRepulsion: () => 16000,
      idealEdgeLength: () => 70,
    },
    minZoom: 0.1,
    maxZoom: 5,
  });
  cy.on("tap", "node", (event) => showNode(event.target.id()));
  cy.on("tap", (event) => {
    if (event.target === cy) clearSelection();
  });
  view.cy = cy;
  fillNodeSelect();
  if (!data.nodes.length) say(status, ["graph.empty"]);
  else say(status, ["graph.shown", { nodes: data.nodes.length, edges: data.edges.length }]);
  fill(details, note("graph.clickHint"));
}

function fillNodeSelect() {
  const nodes = [...(view.data?.nodes || [])].sort(
    (a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind) || a.label.localeCompare(b.label),
  );
  fill(
    nodeSelect,
    el("option", { value: "", i18n: "graph.chooseNode" }),
    KINDS.map((kind) => {
      const ofKind = nodes.filter((n) => n.kind === kind);
      if (!ofKind.length) return null;
      return el("optgroup", { label: t("graph.kind." + kind) }, ofKind.map((n) => el("option", { value: n.id }, n.label)));
    }),
  );
}

function clearSelection() {
  selected = null;
  view.cy?.elements().removeClass("faded");
  fill(details, note("graph.clickHint"));
}

/** Select a node, fade what is not next to it, and show its details. */
function showNode(id) {
  const cy = view.cy;
  const node = cy?.getElementById(id);
  if (!node || node.empty()) return false;
  selected = id;
  cy.elements().unselect();
  node.select();
  cy.elements().addClass("faded");
  node.closedNeighborhood().removeClass("faded");
  nodeSelect.value = id;
  fill(details, nodeDetails(node));
  return true;
}

/** Select a node, drawing the whole graph first when the current filters leave it out. */
async function focusNode(id) {
  if (showNode(id)) {
    view.cy.center(view.cy.getElementById(id));
    return;
  }
  form.reset();
  await load({});
  if (showNode(id)) view.cy.center(view.cy.getElementById(id));
}

const ATTRIBUTES = {
  team: [],
  course: [["team", "field.team"]],
  module: [["course", "field.course"], ["team", "field.team"], ["hours", "graph.hours"]],
  skill: [["category", "graph.category"], ["weight", "graph.weight"]],
  person: [["team", "field.team"]],
  document: [
    ["type", "field.type"],
    ["team", "field.team"],
    ["course", "field.course"],
    ["module", "field.module"],
    ["author", "field.author"],
    ["date", "field.date"],
    ["source", "field.source"],
  ],
};

function nodeDetails(node) {
  const { id, kind, label, attrs } = node.data();
  const rows = ATTRIBUTES[kind]
    .filter(([name]) => attrs[name] !== undefined && attrs[name] !== "")
    .map(([name, key]) => [el("dt", { i18n: key }), el("dd", {}, String(attrs[name]))]);
  const links = [];
  if (kind === "document") {
    links.push(el("a", { href: documentHref(attrs.doc_id) }, el("span", { i18n: "graph.openDocument" })));
  }
  const mayRead = me.role !== "employee" || me.employee === attrs.employee || !me.role;
  if (kind === "person" && attrs.employee && mayRead) {
    const href = "/web/learning?employee=" + encodeURIComponent(attrs.employee);
    links.push(el("a", { href }, el("span", { i18n: "graph.openLearning" })));
  }
  const around = { team: "team", skill: "skill", person: "person" }[kind];
  if (around) {
    const value = kind === "person" ? attrs.employee || label : id.slice(kind.length + 1);
    links.push(
      el("button", {
        type: "button",
        class: "secondary",
        i18n: "graph.around",
        onclick: () => {
          form.reset();
          form[around].value = value;
          load(filters());
        },
      }),
    );
  }
  // "→ teaches (level 3) X": this node teaches X; "← wrote X": X wrote this node.
  const neighbours = node.connectedEdges().map((edge) => {
    const outgoing = edge.source().id() === id;
    const other = outgoing ? edge.target() : edge.source();
    const kind = edge.data("kind");
    const level = edge.data("level");
    const levelOf = () => el("span", { i18n: ["graph.levelOf", { level }] });
    const relation =
      kind === "has_level" && level
        ? [levelOf()]
        : [el("span", { i18n: "graph.edge." + kind }), ...(level ? [" (", levelOf(), ")"] : [])];
    return el(
      "li",
      {},
      el("span", { class: "small muted" }, outgoing ? "→ " : "← ", ...relation),
      " ",
      nodeButton(other.id(), other.data("label")),
    );
  });
  const badge = el("span", { class: "node-kind", i18n: "graph.kind." + kind });
  badge.style.backgroundColor = COLOURS[kind];
  return [
    badge,
    el("h3", {}, label),
    attrs.restricted ? el("p", { class: "small muted", i18n: "graph.restricted" }) : null,
    rows.length ? el("dl", { class: "attrs" }, rows.flat()) : null,
    links.length ? el("p", { class: "actions" }, links) : null,
    el("h3", { i18n: "graph.connected" }),
    el("ul", { class: "neighbours" }, neighbours),
  ];
}

function legend() {
  fill(
    document.getElementById("legend"),
    KINDS.map((kind) => {
      const swatch = el("span", { class: "swatch" });
      swatch.style.backgroundColor = COLOURS[kind];
      return el("li", {}, swatch, el("span", { i18n: "graph.kind." + kind }));
    }),
  );
}

/** Fetch the graph for `query` (the caller's own: the API enforces visibility) and draw it. */
async function load(query) {
  const url = new URL(location.href);
  url.search = new URLSearchParams(query).toString();
  history.replaceState(null, "", url);
  say(status, ["site.loading"]);
  try {
    draw(await api("/graph", { query }));
  } catch (error) {
    say(status, error, "error");
  }
}

/** The lists of the form (teams, skills, people) from the whole graph the caller may see. */
function fillChoices(data) {
  const of = (kind) =>
    data.nodes.filter((n) => n.kind === kind).sort((a, b) => a.label.localeCompare(b.label));
  const option = (n) => el("option", { value: n.id.slice(n.kind.length + 1) }, n.label);
  form.team.append(...of("team").map(option));
  form.skill.append(...of("skill").map(option));
  document.getElementById("path-skill").append(...of("skill").map(option));
  fill(
    document.getElementById("g-people"),
    of("person")
      .filter((n) => n.employee)
      .map((n) => el("option", { value: n.employee }, n.label)),
  );
}

// -- the questions --------------------------------------------------------------------------
function highlight(ids) {
  view.cy?.nodes().removeClass("highlight");
  for (const id of ids) view.cy?.getElementById(id).addClass("highlight");
}

async function askExperts(event) {
  event.preventDefault();
  const topic = event.target.topic.value.trim();
  if (!topic) return;
  fill(boxes.experts, note("graph.asking"));
  try {
    const answer = await api("/graph/experts", { query: { topic, k: 8 } });
    highlight(answer.experts.map((e) => e.person));
    if (!answer.experts.length) return fill(boxes.experts, note("graph.noExperts"));
    fill(
      boxes.experts,
      el(
        "ol",
        { class: "answer-list" },
        answer.experts.map((e) =>
          el(
            "li",
            {},
            nodeButton(e.person, e.name),
            e.team ? ` (${e.team}) ` : " ",
            el("span", { class: "small muted", i18n: ["graph.score", { score: num(e.score) }] }),
            el("div", { class: "small" }, e.reason),
          ),
        ),
      ),
    );
  } catch (error) {
    fill(boxes.experts, problem(error));
  }
}

async function findPath(event) {
  event.preventDefault();
  const f = event.target;
  const query = { person: f.person.value.trim(), skill: f.skill.value, level: f.level.value };
  fill(boxes.path, note("site.loading"));
  try {
    const answer = await api("/graph/path", { query });
    highlight(answer.steps.map((s) => "module:" + s.module));
    fill(
      boxes.path,
      el("p", { class: "small" }, answer.reason),
      answer.steps.length
        ? el(
            "ol",
            { class: "answer-list" },
            answer.steps.map((s) =>
              el(
                "li",
                {},
                nodeButton("module:" + s.module, s.title),
                " · ",
                el("span", { i18n: ["learning.hoursShort", { hours: s.hours }] }),
                " · ",
                el("span", { class: "small muted", i18n: ["graph.levelAfter", { level: s.level_after }] }),
              ),
            ),
          )
        : null,
    );
  } catch (error) {
    fill(boxes.path, problem(error));
  }
}

async function showBottlenecks() {
  try {
    const { bottlenecks } = await api("/graph/bottlenecks");
    if (!bottlenecks.length) return fill(boxes.bottlenecks, note("graph.noBottlenecks"));
    fill(
      boxes.bottlenecks,
      el(
        "ol",
        { class: "answer-list" },
        bottlenecks.slice(0, 8).map((b) =>
          el(
            "li",
            {},
            nodeButton("skill:" + b.skill, b.name),
            el("div", {
              class: "small muted",
              i18n: ["graph.relied", { modules: b.modules.length, teachers: b.teachers.length }],
            }),
          ),
        ),
      ),
    );
  } catch (error) {
    fill(boxes.bottlenecks, problem(error));
  }
}

async function showBridges() {
  try {
    const { bridges } = await api("/graph/bridges");
    if (!bridges.length) return fill(boxes.bridges, note("graph.noBridges"));
    fill(
      boxes.bridges,
      el(
        "ol",
        { class: "answer-list" },
        bridges.slice(0, 8).map((b) =>
          el(
            "li",
            {},
            nodeButton("document:" + b.doc_id, b.title),
            el(
              "div",
              { class: "small muted" },
              el("span", { i18n: ["graph.links", { teams: b.teams.join(", ") }] }),
              b.direct ? [" · ", el("span", { i18n: "graph.direct" })] : null,
            ),
          ),
        ),
      ),
    );
  } catch (error) {
    fill(boxes.bridges, problem(error));
  }
}

// -- wiring ---------------------------------------------------------------------------------
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load(filters());
});
document.getElementById("g-reset").addEventListener("click", () => {
  form.reset();
  load({});
});
document.getElementById("zoom-in").addEventListener("click", () => view.cy?.zoom(view.cy.zoom() * 1.25));
document.getElementById("zoom-out").addEventListener("click", () => view.cy?.zoom(view.cy.zoom() / 1.25));
document.getElementById("zoom-fit").addEventListener("click", () => view.cy?.fit(undefined, 20));
nodeSelect.addEventListener("change", () => (nodeSelect.value ? focusNode(nodeSelect.value) : clearSelection()));
document.getElementById("experts-form").addEventListener("submit", askExperts);
document.getElementById("path-form").addEventListener("submit", findPath);
window.addEventListener("kb:language", () => {
  fillNodeSelect(); // option groups carry their kind's name
  if (selected) showNode(selected);
});

async function start() {
  legend();
  const given = Object.fromEntries(
    ["team", "skill", "person"].map((name) => [name, new URLSearchParams(location.search).get(name) || ""]),
  );
  document.getElementById("path-person").value = me.employee || "";
  try {
    const whole = await api("/graph");
    fillChoices(whole);
    for (const [name, value] of Object.entries(given)) form[name].value = value;
    if (Object.values(given).some(Boolean)) await load(filters());
    else draw(whole);
  } catch (error) {
    say(status, error, "error");
  }
  await Promise.all([showBottlenecks(), showBridges()]);
}

view.ready = start();
