/* Cartable for insurers' web pages: sizes each <iframe data-cartable> to the portal's content.
   Only messages from the portal's origin (taken from the iframe's src) and from that very
   frame are heeded; anything else is ignored. See /e/<slug>/integration for the snippet. */
(function () {
  "use strict";
  var MAX_HEIGHT = 100000;

  function portalOrigin(frame) {
    try {
      return new URL(frame.src, location.href).origin;
    } catch (error) {
      return null;
    }
  }

  function frames() {
    return Array.prototype.slice.call(document.querySelectorAll("iframe[data-cartable]"));
  }

  function prepare() {
    frames().forEach(function (frame) {
      frame.style.border = "0";
      frame.style.width = "100%";
      frame.style.display = "block";
    });
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || typeof data !== "object" || data.type !== "cartable:height") {
      return;
    }
    var height = Number(data.height);
    if (!isFinite(height) || height <= 0 || height > MAX_HEIGHT) {
      return;
    }
    frames().forEach(function (frame) {
      if (event.source === frame.contentWindow && event.origin === portalOrigin(frame)) {
        frame.style.height = Math.ceil(height) + "px";
      }
    });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", prepare);
  } else {
    prepare();
  }
})();
