// Loaded by the probe page that tests/docs/test_docs_browser.py serves beside the site (same
// origin, so it can read the framed pages). For each target it loads the page in an
// iframe of the given width, waits for MathJax to finish, measures, and writes all the
// measurements as JSON into <pre id="report">, which Chromium's --dump-dom returns.
//
//   overflow  how far the page itself scrolls sideways (0 when everything fits)
//   clipped   wide tables, code blocks, signatures and display formulas whose content is
//             wider than their box while the box does not scroll (cut off or spilling)
//   shrunk    formulas drawn narrower than MathJax made them (squeezed by a theme rule)
//   foreign   resources the page fetched from anywhere but its own origin
(async () => {
  const report = document.getElementById("report");
  const targets = JSON.parse(document.getElementById("targets").textContent);
  const wide = ".md-content table, .md-content pre, .md-content pre > code, "
    + ".md-content div.arithmatex, .md-content .doc-signature, .control";
  const results = [];
  for (const target of targets) {
    const frame = document.createElement("iframe");
    frame.style.width = target.width + "px";
    frame.style.height = "900px";
    const loaded = new Promise((resolve) => { frame.onload = resolve; });
    frame.src = target.url;
    document.body.appendChild(frame);
    await loaded;
    const win = frame.contentWindow;
    if (win.MathJax && win.MathJax.startup && win.MathJax.startup.promise) {
      await win.MathJax.startup.promise;
    }
    // (no requestAnimationFrame here: under virtual time a headless frame may never come)
    await new Promise((resolve) => win.setTimeout(resolve, 50));
    const doc = win.document;
    const root = doc.scrollingElement;
    const clipped = [];
    for (const el of doc.querySelectorAll(wide)) {
      const overflowX = win.getComputedStyle(el).overflowX;
      if (el.scrollWidth > el.clientWidth + 1 && overflowX !== "auto" && overflowX !== "scroll") {
        const text = (el.textContent || "").trim().slice(0, 60);
        clipped.push(`${el.tagName.toLowerCase()}.${el.className} (${overflowX}): ${text}`);
      }
    }
    // a formula drawn smaller than MathJax made it (a theme rule capping svg widths)
    const shrunk = [];
    for (const svg of doc.querySelectorAll("mjx-container > svg")) {
      const drawn = svg.getBoundingClientRect().width;
      const made = svg.width.baseVal.value;
      if (drawn + 1 < 0.95 * made) {
        const tex = svg.closest(".arithmatex");
        shrunk.push(`${Math.round(drawn)} of ${Math.round(made)} px: ${tex ? tex.textContent.slice(0, 40) : ""}`);
      }
    }
    const foreign = win.performance.getEntriesByType("resource")
      .map((entry) => entry.name)
      .filter((name) => !name.startsWith(win.location.origin + "/") && !name.startsWith("data:"));
    results.push({
      url: target.url,
      width: target.width,
      overflow: root.scrollWidth - root.clientWidth,
      clipped: clipped,
      shrunk: shrunk,
      foreign: foreign,
    });
    frame.remove();
    report.textContent = JSON.stringify(results);
  }
  document.title = "probe done";
})();
