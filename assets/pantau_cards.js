/* Phones: tables read as cards (assets/pantau.css, "tables as cards"). Each cell gets its
   column's header text as data-label, which the phone stylesheet prints before the value.
   Works for Bootstrap tables (.table) and Dash DataTables; runs again when Dash re-renders. */
(function () {
  "use strict";
  function labelBootstrap(table) {
    var heads = table.querySelectorAll("thead th");
    if (!heads.length) { return; }
    var names = Array.prototype.map.call(heads, function (th) { return th.textContent.trim(); });
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      Array.prototype.forEach.call(tr.children, function (td, i) {
        if (names[i] && td.getAttribute("data-label") !== names[i]) { td.setAttribute("data-label", names[i]); }
      });
    });
  }
  function labelDataTable(box) {
    var names = {};
    box.querySelectorAll("th[data-dash-column]").forEach(function (th) {
      names[th.getAttribute("data-dash-column")] = th.textContent.trim();
    });
    box.querySelectorAll("td[data-dash-column]").forEach(function (td) {
      var name = names[td.getAttribute("data-dash-column")];
      if (name && td.getAttribute("data-label") !== name) { td.setAttribute("data-label", name); }
    });
  }
  var pending = false;
  function run() {
    pending = false;
    if (window.innerWidth > 576) { return; }
    document.querySelectorAll("table.table").forEach(labelBootstrap);
    document.querySelectorAll(".dash-table-container").forEach(labelDataTable);
  }
  function schedule() {
    if (!pending) { pending = true; window.requestAnimationFrame(run); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    new MutationObserver(schedule).observe(document.body, {childList: true, subtree: true});
    schedule();
  });
  window.addEventListener("resize", schedule);
})();
