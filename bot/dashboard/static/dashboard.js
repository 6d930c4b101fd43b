/* TTFB Lab dashboard: helpers shared by the pages' scripts.
 *
 * Every value from a data file reaches the page as text (textContent) or as an attribute set
 * through the DOM, never as HTML; links are built only from validated commit ids and report
 * ids. Numbers are formatted as the PR comment formats them (bot/report/fmt.py). */
(function () {
  "use strict";

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children || []) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fmtS(s) {
    if (s === null || s === undefined) return "–";
    if (Math.abs(s) < 0.9995) return Math.round(s * 1000) + " ms";
    return s.toFixed(2) + " s";
  }

  function fmtDs(s) {
    if (s === null || s === undefined) return "–";
    if (Math.abs(s) < 0.0005) return "±0 ms";
    return (s >= 0 ? "+" : "-") + fmtS(Math.abs(s));
  }

  function fmtPct(p) {
    if (p === null || p === undefined) return "–";
    return (p >= 0 ? "+" : "") + p.toFixed(1) + "%";
  }

  function fmtCi(lo, hi) {
    if (lo === null || lo === undefined || hi === null || hi === undefined) return "–";
    return fmtPct(lo) + " … " + fmtPct(hi);
  }

  const HEX = /^[0-9a-f]{7,64}$/;
  const isHex = (s) => typeof s === "string" && HEX.test(s);
  const short = (rev) => (typeof rev === "string" && rev ? rev.slice(0, 10) : "–");
  const base = (url) => (typeof url === "string" && /^https?:\/\/[^\s"'<>\\]+$/.test(url) ? url : null);

  function commitUrl(repo, sha) {
    return base(repo) && isHex(sha) ? base(repo) + "/commit/" + sha : null;
  }

  function diffUrl(repo, a, b) {
    return base(repo) && isHex(a) && isHex(b) ? base(repo) + "/compare/" + a + "..." + b : null;
  }

  function reportHref(prefix, id) {
    return typeof id === "string" && /^[0-9a-f]{12}$/.test(id) ? prefix + "reports/" + id + ".html" : null;
  }

  function seriesHref(prefix, key) {
    return typeof key === "string" && /^[A-Za-z0-9_.-]+$/.test(key) ? prefix + "scenarios/" + key + ".html" : null;
  }

  function link(href, text) {
    return href ? el("a", { href: href }, [text]) : document.createTextNode(text);
  }

  function badge(verdicts, verdict) {
    const v = verdicts[verdict];
    return el("span", { class: "verdict sym-" + (v ? verdict : "none") }, [v ? v.badge : "–"]);
  }

  /* Fill <table> with a header row and body rows; a cell is text, a Node, or
   * {node|text, right: true}. */
  function fillTable(table, head, rows, caption) {
    table.replaceChildren();
    if (caption) table.append(el("caption", {}, [caption]));
    const cell = (tag, c, scope) => {
      const spec = c !== null && typeof c === "object" && !(c instanceof Node) ? c : { value: c };
      const attrs = { class: spec.right ? "align-right" : null, scope: scope || null };
      return el(tag, attrs, [spec.value === undefined ? "" : spec.value]);
    };
    table.append(el("thead", {}, [el("tr", {}, head.map((h) => cell("th", h, "col")))]));
    const body = el("tbody");
    for (const row of rows) body.append(el("tr", {}, row.map((c) => cell("td", c))));
    table.append(body);
  }

  window.TTFB = {
    css, el, fmtS, fmtDs, fmtPct, fmtCi, short, isHex, commitUrl, diffUrl, reportHref,
    seriesHref, link, badge, fillTable,
  };
})();
