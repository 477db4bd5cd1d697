/* Cartable inside an insurer's frame: tells the insurer's page the height of the document,
   so that its iframe fits the content (no inner scroll bar), and opens links leaving the
   portal in a new tab. Messages go only to the insurer's allowed origins (never "*"), listed
   by the server in data-origins; with location.ancestorOrigins, only to the actual parent. */
(function () {
  "use strict";
  var script = document.currentScript;
  var allowed = ((script && script.getAttribute("data-origins")) || "").split(" ").filter(Boolean);
  if (window.parent === window || allowed.length === 0) {
    return;
  }
  var targets = allowed;
  if (location.ancestorOrigins && location.ancestorOrigins.length > 0) {
    var parentOrigin = location.ancestorOrigins[0];
    targets = allowed.indexOf(parentOrigin) >= 0 ? [parentOrigin] : [];
  }
  document.documentElement.classList.add("in-frame");

  var lastHeight = 0;
  function postHeight() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === lastHeight) {
      return;
    }
    lastHeight = height;
    targets.forEach(function (origin) {
      window.parent.postMessage({ type: "cartable:height", height: height }, origin);
    });
  }

  postHeight();
  window.addEventListener("load", postHeight);
  window.addEventListener("resize", postHeight);
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(postHeight).observe(document.documentElement);
  }

  // A link to another site would otherwise open inside the insurer's frame.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (link && /^https?:$/.test(link.protocol) && link.origin !== location.origin) {
      link.target = "_blank";
      link.relList.add("noopener"); // keeps its other values (noreferrer…)
    }
  }, true);
})();
