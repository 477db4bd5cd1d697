// Questions fréquentes: progressive enhancements only; the page works without them.
(function () {
  "use strict";

  // /faq#<slug>: open the question the link points to (a theme, #theme-<slug>, is a heading).
  function openTarget() {
    if (!window.location.hash) return;
    var target = document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
    if (!target) return;
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    target.scrollIntoView();
  }

  // « Tout afficher » / « Tout masquer »: without JavaScript a link to /faq?tout=1 (or back
  // to /faq); with it, a button that opens or closes every answer in place. Its label says
  // what it will do: « Tout masquer » once every answer is open, whichever way they were.
  function setUpToggleAll() {
    var link = document.querySelector("[data-faq-toggle]");
    if (!link) return;
    var questions = Array.prototype.slice.call(document.querySelectorAll("details.faq-question"));
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button-secondary";
    function allOpen() {
      return questions.every(function (details) { return details.open; });
    }
    function refresh() {
      button.textContent = allOpen() ? "Tout masquer" : "Tout afficher";
    }
    button.addEventListener("click", function () {
      var open = !allOpen();
      questions.forEach(function (details) { details.open = open; });
      refresh();
    });
    questions.forEach(function (details) { details.addEventListener("toggle", refresh); });
    refresh();
    link.replaceWith(button);
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
  document.addEventListener("DOMContentLoaded", function () {
    setUpToggleAll();
    openTarget();
  });
})();
