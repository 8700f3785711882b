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
