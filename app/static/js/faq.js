// Questions fréquentes: progressive enhancements only; the page works without them.
(function () {
  "use strict";

  // /faq#<slug> or /faq#theme-<slug>: open the question (and its theme) the link points to.
  function openTarget() {
    if (!window.location.hash) return;
    var target = document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
    if (!target) return;
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    // A theme (#theme-<slug>): its heading, then the disclosure of its questions.
    var questions = target.querySelector(":scope > details.faq-theme");
    if (questions) questions.open = true;
    target.scrollIntoView();
  }

  // Printing: every answer, not only the opened ones; restored afterwards.
  var closedBeforePrint = [];
  window.addEventListener("beforeprint", function () {
    closedBeforePrint = Array.prototype.slice.call(document.querySelectorAll("details:not([open])"));
    closedBeforePrint.forEach(function (details) { details.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closedBeforePrint.forEach(function (details) { details.open = false; });
    closedBeforePrint = [];
  });

  window.addEventListener("hashchange", openTarget);
  document.addEventListener("DOMContentLoaded", openTarget);
})();
