// MathJax configuration for pymdownx.arithmatex (generic mode): \( … \) and \[ … \].
// MathJax itself is vendored (javascripts/vendor/mathjax/tex-svg-full.js, MathJax 3.2.2,
// Apache-2.0): every TeX extension is inside that one file and the SVG output needs no
// font files, so a page renders its formulas without any network access.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  svg: {
    fontCache: "global"
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  }
};

document$.subscribe(() => {
  if (window.MathJax && MathJax.typesetPromise) {
    MathJax.startup.output.clearCache();
    MathJax.typesetClear();
    MathJax.texReset();
    MathJax.typesetPromise();
  }
});
