/* TTFB Lab dashboard: every compare in the history, newest first, filtered by verdict,
 * scenario and kind (kept in the URL's #fragment, so a filtered list can be linked), shown a
 * page at a time. */
(function () {
  "use strict";
  const T = window.TTFB;
  const D = window.TTFB_DATA;
  const C = Object.fromEntries(D.columns.map((name, i) => [name, i]));
  const PAGE = 100;
  const $ = (id) => document.getElementById(id);
  const filters = { verdict: $("f-verdict"), scenario: $("f-scenario"), kind: $("f-kind") };
  let limit = PAGE;

  for (const [value, v] of Object.entries(D.verdicts)) {
    filters.verdict.append(T.el("option", { value: value }, [v.badge]));
  }
  for (const name of D.scenarios) filters.scenario.append(T.el("option", { value: name }, [name]));

  const wanted = new URLSearchParams(location.hash.slice(1));
  for (const [key, select] of Object.entries(filters)) {
    const value = wanted.get(key);
    if (value && Array.from(select.options).some((o) => o.value === value)) select.value = value;
  }

  function matches(row) {
    return Object.entries(filters).every(([key, select]) => !select.value || row[C[key]] === select.value);
  }

  function render() {
    const rows = D.rows.filter(matches);
    const shown = rows.slice(0, limit);
    $("count").textContent = rows.length + " of " + D.rows.length + " comparisons";
    T.fillTable($("comparisons"),
      ["recorded", "kind", "scenario", "runner", "base → head", "verdict", "Δ", "95% CI", "pairs", "report"],
      shown.map((r) => [
        r[C.created],
        r[C.kind],
        T.link(T.seriesHref("", r[C.series]), r[C.scenario]),
        r[C.runner],
        T.el("span", {}, [
          T.short(r[C.base]) + " → " + T.short(r[C.head]),
          r[C.subject] ? T.el("br") : null,
          r[C.subject] ? T.el("small", {}, [r[C.subject]]) : null,
        ]),
        T.badge(D.verdicts, r[C.verdict]),
        { value: T.fmtPct(r[C.delta]), right: true },
        T.fmtCi(r[C.dlo], r[C.dhi]),
        { value: String(r[C.pairs]), right: true },
        T.link(T.reportHref("", r[C.report]), "report"),
      ]));
    $("more").hidden = rows.length <= limit;
    if (!D.rows.length) $("count").textContent = "No comparisons in this history yet.";
  }

  function changed() {
    limit = PAGE;
    const state = new URLSearchParams();
    for (const [key, select] of Object.entries(filters)) if (select.value) state.set(key, select.value);
    const hash = "#" + state.toString();
    try {
      history.replaceState(null, "", hash);
    } catch (err) { // a file:// page has an opaque origin: some browsers refuse replaceState
      location.replace(hash);
    }
    render();
  }

  for (const select of Object.values(filters)) select.addEventListener("change", changed);
  $("more").addEventListener("click", () => {
    limit += PAGE;
    render();
  });
  $("filters").hidden = false;
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  render();
})();
