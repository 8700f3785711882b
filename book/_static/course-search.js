/* Section-level search hits, loaded on the search page only (book/_ext/course.py).
 * Sphinx lists the pages that match; under each page hit this adds the
 * sections whose title or prose hold every word of the query, best first,
 * each linked to its anchor with a snippet. The sections come from
 * course-sections.js, written by the build: a book opened from disk cannot
 * fetch its own pages for snippets. */
(function () {
  "use strict";
  var MAX_SECTIONS = 4;
  var query = new URLSearchParams(window.location.search).get("q") || "";
  var words = query.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 1; });
  var results = null;
  var root = new URL(".", window.location.href);  // search.html is at the root of the build

  function count(text, word) {
    var n = 0, at = text.indexOf(word);
    while (at !== -1) { n += 1; at = text.indexOf(word, at + word.length); }
    return n;
  }

  function snippet(text, word) {
    var at = text.toLowerCase().indexOf(word);
    if (at === -1) { return text.slice(0, 160) + (text.length > 160 ? "…" : ""); }
    var start = Math.max(0, at - 70);
    return (start > 0 ? "…" : "") + text.slice(start, at + 110) + (at + 110 < text.length ? "…" : "");
  }

  function sectionsFor(page) {
    var sections = window.COURSE_SECTIONS[page] || [];
    return sections.map(function (s) {
      var title = s[1].toLowerCase(), text = s[2].toLowerCase();
      var all = words.every(function (w) { return title.indexOf(w) !== -1 || text.indexOf(w) !== -1; });
      var score = words.reduce(function (sum, w) { return sum + 10 * count(title, w) + count(text, w); }, 0);
      return {anchor: s[0], title: s[1], text: s[2], score: all ? score : 0};
    }).filter(function (s) { return s.score > 0; })
      .sort(function (a, b) { return b.score - a.score; });
  }

  function enhance() {
    results.querySelectorAll("ul.search > li:not([data-course-sections])").forEach(function (item) {
      item.setAttribute("data-course-sections", "");
      var link = item.querySelector("a");
      if (!link) { return; }
      var url = new URL(link.getAttribute("href"), root);
      if (url.hash) { return; }  // already a section (a title or an API entry)
      var page = decodeURIComponent(url.pathname.slice(root.pathname.length));
      var hits = sectionsFor(page).slice(0, MAX_SECTIONS);
      if (!hits.length) { return; }
      var list = document.createElement("ul");
      list.className = "course-section-hits";
      hits.forEach(function (hit) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = new URL("#" + hit.anchor, url).href;  // keeps ?highlight=
        a.textContent = hit.title;
        var p = document.createElement("p");
        p.className = "context";
        p.textContent = snippet(hit.text, words[0]);
        li.appendChild(a);
        li.appendChild(p);
        list.appendChild(li);
      });
      item.appendChild(list);
    });
  }

  function start() {
    results = document.getElementById("search-results");
    if (!words.length || !results || !window.COURSE_SECTIONS) { return; }
    new MutationObserver(enhance).observe(results, {childList: true, subtree: true});
    enhance();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
