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
    document.querySelectorAll(".cell_output *, .output *, table").forEach(function (box) {
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
