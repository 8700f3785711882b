/* The course's page behaviour, loaded by book/_ext/course.py.
 * Display math wider than its column scrolls inside its box: mark those boxes
 * (a fading right edge, see course.css) so that a reader sees there is more. */
(function () {
  "use strict";

  function markScrollingMath() {
    document.querySelectorAll("div.math, mjx-container[display='true']").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      box.classList.toggle("course-scrolls", scrolls);
      if (scrolls) {
        box.setAttribute("tabindex", "0");  // reachable, and scrollable, from the keyboard
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "Wide formula: scroll sideways to read all of it");
      }
    });
  }

  // Wide tables and outputs scroll inside their box: reachable from the
  // keyboard too (a scrollable region needs a tab stop and a name).
  function markScrollingOutputs() {
    document.querySelectorAll(".cell_output *, .output *, table, div.highlight pre").forEach(function (box) {
      var style = window.getComputedStyle(box);
      var scrollable = style.overflowX === "auto" || style.overflowX === "scroll";
      if (scrollable && box.scrollWidth > box.clientWidth + 1 && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "Wide output: scroll sideways to read all of it");
      }
    });
    // sphinxcontrib-bibtex marks its list role="list" around entries that
    // are not list items: the plain container reads the same and is valid.
    document.querySelectorAll(".citation-list[role='list']").forEach(function (list) {
      list.removeAttribute("role");
    });
  }

  // Figures on a narrow screen: a figure shrunk to the column would shrink
  // its labels with it (a 720-px figure on a 360-px phone column shows its
  // 12-px labels at 6 px). Below MIN_FIGURE_SCALE of its drawn size, the
  // figure is shown at that scale instead, in a box that scrolls sideways and
  // says so, like wide formulas.
  var MIN_FIGURE_SCALE = 0.8;

  function drawnWidth(img) {
    // A 2x PNG declares its CSS width (inline style or width attribute);
    // kept in data-drawn-width, since a scrolling figure's style changes.
    if (!img.dataset.drawnWidth) {
      var declared = parseFloat(img.style.width) || parseFloat(img.getAttribute("width"));
      if (!declared && img.naturalWidth) { declared = img.srcset ? img.naturalWidth / 2 : img.naturalWidth; }
      if (!declared) { return 0; }
      img.dataset.drawnWidth = String(declared);
    }
    return parseFloat(img.dataset.drawnWidth);
  }

  var FIGURE_LABEL = "Wide figure: scroll sideways to see all of it";

  function fitFigures() {
    document.querySelectorAll("div.cell_output img").forEach(function (img) {
      if (img.closest("div.animation")) { return; }  // animations fit the column (their own controls)
      var box = img.parentElement;
      var drawn = drawnWidth(img);
      var column = box.clientWidth;
      if (!drawn || !column) { return; }
      var scrolls = column < MIN_FIGURE_SCALE * drawn - 1;
      img.classList.toggle("course-legible", scrolls);
      img.style.width = Math.round(scrolls ? MIN_FIGURE_SCALE * drawn : drawn) + "px";
      box.classList.toggle("course-figure-box", scrolls);
      box.classList.toggle("course-scrolls", scrolls);
      if (scrolls) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", FIGURE_LABEL);
      } else if (box.getAttribute("aria-label") === FIGURE_LABEL) {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }

  function whenImagesLoaded() {
    document.querySelectorAll("div.cell_output img").forEach(function (img) {
      if (!img.complete) { img.addEventListener("load", fitFigures, {once: true}); }
    });
    fitFigures();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", whenImagesLoaded);
  } else {
    whenImagesLoaded();
  }
  window.addEventListener("resize", fitFigures);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", markScrollingOutputs);
  } else {
    markScrollingOutputs();
  }
  window.addEventListener("load", markScrollingOutputs);

  function whenTypeset() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(markScrollingMath);
    } else {
      markScrollingMath();
    }
  }

  // MathJax's script is loaded by the time of `load`; its startup promise
  // resolves once the page is typeset.
  if (document.readyState === "complete") {
    whenTypeset();
  } else {
    window.addEventListener("load", whenTypeset);
  }
  window.addEventListener("resize", markScrollingMath);
})();
