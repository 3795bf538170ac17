/* Words inside third-party widgets that take no text from Pantau, in Indonesian while the
 * interface is Indonesian: Leaflet's zoom buttons (title, aria-label) and the screen-reader
 * labels of dash-bootstrap-components' pagination. Applied again whenever the page changes. */
(function () {
  "use strict";
  var ID = {
    "Zoom in": "Perbesar",
    "Zoom out": "Perkecil",
    "First": "Pertama",
    "Previous": "Sebelumnya",
    "Next": "Berikutnya",
    "Last": "Terakhir",
    "More": "Lainnya"
  };

  function pantauLang() {
    return document.documentElement.lang === "en" ? "en" : "id";  /* set by the server */
  }

  function translate() {
    if (pantauLang() !== "id") { return; }
    var links = document.querySelectorAll(".leaflet-control-zoom a");
    for (var i = 0; i < links.length; i++) {
      ["title", "aria-label"].forEach(function (attr) {
        var v = links[i].getAttribute(attr);
        if (v && ID[v]) { links[i].setAttribute(attr, ID[v]); }
      });
    }
    var hidden = document.querySelectorAll(".pagination .visually-hidden");
    for (var j = 0; j < hidden.length; j++) {
      var text = hidden[j].textContent;
      if (ID[text]) { hidden[j].textContent = ID[text]; }
    }
  }

  var queued = false;
  function schedule() {
    if (queued) { return; }
    queued = true;
    window.requestAnimationFrame(function () { queued = false; translate(); });
  }
  new MutationObserver(schedule).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener("DOMContentLoaded", schedule);
})();
