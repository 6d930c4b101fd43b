/* TTFB Lab dashboard: one scenario on one runner. Three charts (median TTFB with its 95% CI
 * band and verdict symbols; phase segments stacked; CPU time, with the head arm's instruction
 * count on a second axis where a compare counted it), a tooltip on hover, a detail panel with
 * the commit and comparison links on click, and a table behind every chart. */
(function () {
  "use strict";
  const T = window.TTFB;
  const D = window.TTFB_DATA;
  const R = D.runs;
  const V = D.verdicts;
  const N = R.uid.length;
  const charts = [];
  window.TTFB_CHARTS = charts; // for tests and the browser console
  let hovered = null; // the chart under the pointer: only it shows a tooltip (the others follow)
  const $ = (id) => document.getElementById(id);
  const branchBox = $("only-branch");
  const onBranch = D.branch && R.on_branch.some((b) => b === 1);
  const WHISKERS_UP_TO = 80; // draw the CI as whiskers too when runs are few enough to see them
  const BARS_UP_TO = 40; // stacked bars below this many runs, stacked areas above

  function shown() {
    const idx = [];
    for (let i = 0; i < N; i++) if (!branchBox.checked || R.on_branch[i] === 1) idx.push(i);
    return idx;
  }

  function padded(u, lo, hi) {
    if (lo === null || hi === null) return [0, 1];
    const pad = Math.max((hi - lo) * 0.15, hi * 0.02, 0.001);
    return [Math.max(0, lo - pad), hi + pad];
  }

  // instruction counts: G (10^9) on the axis and in tooltips, every digit in the table
  const GIGA = 1e9;
  const missing = (v) => v === null || v === undefined;
  const fmtG = (v) => (missing(v) ? "–" : (v / GIGA).toFixed(3) + " G");
  const fmtCount = (v) => (missing(v) ? "–" : Number(v).toLocaleString("en-US"));
  const instructions = (i) => (R.instructions ? R.instructions[i] : null);

  function phaseLabel(k) {
    return (k ? D.phases[k - 1] : "submit") + " → " + D.phases[k];
  }

  function colors() {
    const c = {};
    for (const name of ["fg", "muted", "line", "bg", "accent", "band", "base", "grid", "regression",
      "improvement", "inconclusive", "no-change", "broken"]) c[name] = T.css("--" + name);
    c.phase = (k) => T.css("--phase-" + (k % 10));
    return c;
  }

  function axes(idx, c, format) {
    const label = (i) => (R.rev[i] ? R.rev[i].slice(0, 7) : (R.created[i] || "").slice(5, 10));
    return [
      {
        stroke: c.muted, grid: { stroke: c.grid }, ticks: { stroke: c.line },
        incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
        values: (u, splits) => splits.map((v) => (Number.isInteger(v) && idx[v] !== undefined ? label(idx[v]) : "")),
      },
      { stroke: c.muted, grid: { stroke: c.grid }, ticks: { stroke: c.line }, size: 64,
        values: (u, splits) => splits.map(format) },
    ];
  }

  function base(idx, c, height, series, data, extra) {
    const target = extra.target;
    const opts = Object.assign({
      width: Math.max(target.clientWidth, 320),
      height: height,
      scales: { x: { time: false, range: (u, lo, hi) => [lo - 0.5, hi + 0.5] },
        y: { range: extra.zero ? (u, lo, hi) => [0, (hi || 1) * 1.08] : padded } },
      axes: axes(idx, c, T.fmtS),
      legend: { show: extra.legend === true, live: false },
      cursor: { sync: { key: "ttfb" }, drag: { x: false, y: false }, y: false, points: { size: 8 } },
      series: [{ label: "run" }].concat(series),
      hooks: { setCursor: [(u) => tooltip(u, idx, extra.describe)] },
    }, extra.opts || {});
    if (extra.right) { // a second y axis, on the right, for a series on its own scale
      opts.scales[extra.right.scale] = { range: padded };
      opts.axes.push({ scale: extra.right.scale, side: 1, label: extra.right.label, stroke: c.muted,
        grid: { show: false }, ticks: { stroke: c.line }, size: 64,
        values: (u, splits, ax, space, incr) => splits.map((v) => extra.right.format(v, incr)) });
    }
    target.replaceChildren();
    const u = new uPlot(opts, data, target);
    target.dataset.points = String(data[0].length);
    u.over.addEventListener("mouseenter", () => { hovered = u; });
    u.over.addEventListener("mouseleave", () => { hovered = null; });
    u.over.addEventListener("click", () => {
      if (u.cursor.idx !== null && u.cursor.idx !== undefined) pin(idx[u.cursor.idx]);
    });
    charts.push(u);
    return u;
  }

  function tooltip(u, idx, describe) {
    let tip = u.over.querySelector(".tooltip");
    if (!tip) {
      tip = T.el("div", { class: "tooltip", role: "presentation" });
      u.over.append(tip);
    }
    const k = u.cursor.idx;
    if (hovered !== u || k === null || k === undefined || u.cursor.left < 0) {
      tip.hidden = true;
      return;
    }
    const i = idx[k];
    tip.replaceChildren(
      T.el("span", { class: "t-subject" }, [R.subject[i] || "(commit message not known)"]),
      T.el("div", {}, [T.short(R.rev[i]) + (R.date[i] ? " · " + R.date[i].slice(0, 16).replace("T", " ") : "")]),
      T.el("div", {}, [R.kind[i] + " run " + R.uid[i].slice(0, 8) + " · recorded " + R.created[i].slice(0, 16).replace("T", " ")]),
      ...describe(i).map((line) => T.el("div", {}, [line])),
    );
    tip.hidden = false;
    const right = u.cursor.left > u.over.clientWidth / 2;
    tip.style.left = right ? "" : u.cursor.left + 14 + "px";
    tip.style.right = right ? u.over.clientWidth - u.cursor.left + 14 + "px" : "";
    tip.style.top = Math.max(0, u.cursor.top - 10) + "px";
  }

  function ttfbLines(i) {
    const lines = ["median " + T.fmtS(R.median[i]) + " (95% CI " + T.fmtS(R.lo[i]) + "–" + T.fmtS(R.hi[i]) + ", n=" + R.n[i] + ")"];
    if (R.base[i] !== null) lines.push("base of the compare " + T.fmtS(R.base[i]));
    if (R.verdict[i]) lines.push((V[R.verdict[i]] ? V[R.verdict[i]].badge : R.verdict[i]) + " " + T.fmtPct(R.delta[i]) + " (95% CI " + T.fmtCi(R.dlo[i], R.dhi[i]) + ")");
    return lines;
  }

  function drawMarks(u, idx, c) {
    const ctx = u.ctx;
    const ratio = window.devicePixelRatio || 1;
    ctx.save();
    ctx.textAlign = "center";
    ctx.font = 13 * ratio + "px system-ui, sans-serif";
    const ys = u.scales.y;
    idx.forEach((i, k) => {
      const x = u.valToPos(k, "x", true);
      if (idx.length <= WHISKERS_UP_TO && R.lo[i] !== null && R.hi[i] !== null) {
        const y0 = u.valToPos(R.lo[i], "y", true);
        const y1 = u.valToPos(R.hi[i], "y", true);
        ctx.strokeStyle = c.accent;
        ctx.lineWidth = ratio;
        ctx.beginPath();
        ctx.moveTo(x, y0); ctx.lineTo(x, y1);
        ctx.moveTo(x - 3 * ratio, y0); ctx.lineTo(x + 3 * ratio, y0);
        ctx.moveTo(x - 3 * ratio, y1); ctx.lineTo(x + 3 * ratio, y1);
        ctx.stroke();
      }
      const v = R.verdict[i];
      if (!v || v === "no_change" || !V[v]) return;
      const at = R.hi[i] !== null ? R.hi[i] : R.median[i];
      const y = at === null ? u.valToPos(ys.min, "y", true) - 4 * ratio : u.valToPos(at, "y", true) - 6 * ratio;
      ctx.fillStyle = c[v === "broken" || v === "skipped" ? "broken" : v.replace("_", "-")] || c.fg;
      ctx.fillText(V[v].symbol, x, y);
    });
    ctx.restore();
  }

  function ttfbChart(idx, c) {
    const pick = (col) => idx.map((i) => col[i]);
    const data = [idx.map((_, k) => k), pick(R.median), pick(R.lo), pick(R.hi), pick(R.base)];
    const fmt = (u, v) => T.fmtS(v);
    const series = [
      { label: "median TTFB", stroke: c.accent, width: 2, value: fmt, points: { show: true, size: 6, fill: c.accent } },
      { label: "95% CI low", stroke: c.band, width: 0, value: fmt, points: { show: false } },
      { label: "95% CI high", stroke: c.band, width: 0, value: fmt, points: { show: false } },
      { label: "base of the compare", stroke: c.base, width: 0, value: fmt, paths: () => null,
        points: { show: true, size: 7, stroke: c.base, fill: c.bg, width: 1.5 } },
    ];
    base(idx, c, 300, series, data, {
      target: $("chart-ttfb"),
      describe: ttfbLines,
      opts: { bands: [{ series: [3, 2], fill: c.band }], hooks: {
        setCursor: [(u) => tooltip(u, idx, ttfbLines)], draw: [(u) => drawMarks(u, idx, c)] } },
    });
  }

  function phasesChart(idx, c) {
    const K = D.phases.length;
    const target = $("chart-phases");
    if (!K) {
      target.replaceChildren(T.el("p", { class: "empty" }, ["No phases recorded for this scenario."]));
      return;
    }
    const stacks = [];
    for (let k = 0; k < K; k++) {
      stacks.push(idx.map((i) => {
        let sum = null;
        for (let m = 0; m <= k; m++) if (R.seg[m][i] !== null) sum = (sum || 0) + R.seg[m][i];
        return sum;
      }));
    }
    const bars = idx.length <= BARS_UP_TO ? uPlot.paths.bars({ size: [0.6, 48] }) : undefined;
    const series = [];
    const data = [idx.map((_, k) => k)];
    for (let k = K - 1; k >= 0; k--) { // the tallest stack first: each next band is drawn over it
      series.push({ label: phaseLabel(k), stroke: c.phase(k), fill: c.phase(k), width: 1, paths: bars,
        fillTo: 0, points: { show: false }, value: (u, v, s, j) => T.fmtS(j === null ? null : R.seg[k][idx[j]]) });
      data.push(stacks[k]);
    }
    const describe = (i) => D.phases.map((p, k) => phaseLabel(k) + ": " + T.fmtS(R.seg[k][i]));
    base(idx, c, 280, series, data, { target: target, describe: describe, legend: true, zero: true });
  }

  function cpuChart(idx, c) {
    const pick = (col) => idx.map((i) => col[i]);
    const fmt = (u, v) => T.fmtS(v);
    const series = [
      { label: "CPU time (user+sys)", stroke: c.improvement, width: 2, value: fmt, points: { show: true, size: 5, fill: c.improvement } },
      { label: "wall TTFB", stroke: c.muted, width: 1, dash: [5, 4], value: fmt, points: { show: false } },
    ];
    const data = [idx.map((_, k) => k), pick(R.cpu), pick(R.median)];
    const counted = idx.some((i) => !missing(instructions(i)));
    const extra = { target: $("chart-cpu"), legend: true };
    extra.describe = (i) => ["CPU " + T.fmtS(R.cpu[i]) + " · wall " + T.fmtS(R.median[i])]
      .concat(missing(instructions(i)) ? [] : ["instructions " + fmtG(instructions(i)) + " (head arm, median)"]);
    if (counted) {
      series.push({ label: "instructions (head, right axis)", scale: "instructions", stroke: c.base, width: 2,
        dash: [2, 3], spanGaps: true, value: (u, v) => fmtG(v), points: { show: true, size: 6, stroke: c.base, fill: c.bg } });
      data.push(idx.map((i) => (missing(instructions(i)) ? null : instructions(i))));
      extra.right = { scale: "instructions", label: "instructions (G)",
        format: (v, incr) => (v / GIGA).toFixed(Math.min(6, Math.max(0, -Math.floor(Math.log10((incr || GIGA / 1000) / GIGA))))) };
    }
    base(idx, c, 220, series, data, extra);
  }

  function commitCell(i) {
    return T.link(T.commitUrl(D.repo_url, R.rev[i]), T.short(R.rev[i]));
  }

  function tables(idx) {
    const builders = {
      "table-ttfb": () => T.fillTable($("table-ttfb"),
        ["#", "recorded", "kind", "commit", "message", "median", "95% CI", "n", "base", "verdict", "Δ (95% CI)", "report"],
        idx.map((i, k) => [
          { value: String(k + 1), right: true }, R.created[i], R.kind[i], commitCell(i), R.subject[i] || "",
          { value: T.fmtS(R.median[i]), right: true }, T.fmtS(R.lo[i]) + "–" + T.fmtS(R.hi[i]),
          { value: String(R.n[i]), right: true }, { value: T.fmtS(R.base[i]), right: true },
          T.badge(V, R.verdict[i]), R.verdict[i] ? T.fmtPct(R.delta[i]) + " (" + T.fmtCi(R.dlo[i], R.dhi[i]) + ")" : "",
          T.link(T.reportHref("../", R.report[i]), R.report[i] ? "report" : ""),
        ]), idx.length + " runs, oldest first"),
      "table-phases": () => T.fillTable($("table-phases"),
        ["#", "commit"].concat(D.phases.map((_, k) => phaseLabel(k))),
        idx.map((i, k) => [{ value: String(k + 1), right: true }, commitCell(i)]
          .concat(D.phases.map((_, m) => ({ value: T.fmtS(R.seg[m][i]), right: true })))),
        "median time between consecutive phases, per run"),
      "table-cpu": () => T.fillTable($("table-cpu"), ["#", "commit", "CPU time", "wall TTFB", "instructions"],
        idx.map((i, k) => [{ value: String(k + 1), right: true }, commitCell(i),
          { value: T.fmtS(R.cpu[i]), right: true }, { value: T.fmtS(R.median[i]), right: true },
          { value: fmtCount(instructions(i)), right: true }]),
        "median CPU time (user+sys) to first batch, and the head arm's median instruction count where counted, per run"),
    };
    for (const [id, fill] of Object.entries(builders)) {
      const details = $(id).closest("details");
      $(id).replaceChildren();
      details.ontoggle = () => { if (details.open && !$(id).rows.length) fill(); };
      if (details.open) fill();
    }
  }

  function pin(i) {
    const panel = $("detail");
    const facts = T.el("dl");
    const add = (term, ...value) => facts.append(T.el("dt", {}, [term]), T.el("dd", {}, value));
    add("commit", commitCell(i), " ", R.subject[i] || "(message not known: no git checkout at build time)");
    if (R.date[i]) add("committed", R.date[i]);
    add("run", R.kind[i] + " " + R.uid[i].slice(0, 8) + ", recorded " + R.created[i]);
    ttfbLines(i).forEach((line, k) => add(k ? "" : "values", line));
    add("CPU time", T.fmtS(R.cpu[i]));
    if (!missing(instructions(i))) add("instructions", fmtCount(instructions(i)) + " (head arm, median)");
    const links = [];
    const report = T.reportHref("../", R.report[i]);
    if (report) links.push(T.el("a", { href: report }, ["open the comparison"]));
    const commit = T.commitUrl(D.repo_url, R.rev[i]);
    if (commit) links.push(T.el("a", { href: commit }, ["open the commit"]));
    const diff = T.diffUrl(D.repo_url, R.base_rev[i], R.rev[i]);
    if (diff) links.push(T.el("a", { href: diff }, ["diff on GitHub"]));
    if (links.length) add("open", ...links.flatMap((a, k) => (k ? [" · ", a] : [a])));
    panel.replaceChildren(T.el("h2", {}, ["Run " + R.uid[i].slice(0, 8)]), facts);
    panel.focus({ preventScroll: true });
  }

  function legend() {
    const box = $("ttfb-legend");
    const items = [
      T.el("span", {}, [T.el("span", { class: "swatch swatch-line" }), "median TTFB"]),
      T.el("span", {}, [T.el("span", { class: "swatch swatch-band" }), "95% CI of the median"]),
      T.el("span", {}, [T.el("span", { class: "swatch swatch-base" }), "base of a compare"]),
    ];
    for (const v of ["regression", "improvement", "inconclusive", "broken"]) {
      items.push(T.el("span", {}, [T.el("span", { class: "sym sym-" + v }, [V[v].symbol]), " " + V[v].badge]));
    }
    items.push(T.el("span", {}, ["no symbol: no change, or not a compare"]));
    box.replaceChildren(...items);
  }

  function build() {
    for (const u of charts.splice(0)) u.destroy();
    const idx = shown();
    const c = colors();
    $("shown").textContent = idx.length + " of " + N + " runs shown";
    ttfbChart(idx, c);
    phasesChart(idx, c);
    cpuChart(idx, c);
    tables(idx);
  }

  if (D.branch && R.on_branch.some((b) => b !== null)) {
    $("controls").hidden = false;
    $("branch-name").textContent = D.branch;
    branchBox.checked = Boolean(onBranch);
    branchBox.addEventListener("change", build);
  }
  legend();
  build();
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(() => charts.forEach((u) => u.setSize({ width: Math.max(u.root.parentNode.clientWidth, 320), height: u.height })), 150);
  });
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", build);
})();
