/* /lapor: a photo over the upload limit is refused in the browser by dcc.Upload (max_size),
   which says nothing; say it next to the field (text from the layout's data attributes). */
(function () {
  "use strict";
  function box() { return document.getElementById("lapor-photo-box"); }
  function check(files) {
    var b = box();
    if (!b || !files || !files.length) { return; }
    var limit = parseInt(b.getAttribute("data-max-bytes"), 10);
    var out = document.getElementById("lapor-photo-refused");
    if (!out) { return; }
    var tooLarge = Array.prototype.some.call(files, function (f) { return f.size > limit; });
    out.textContent = tooLarge ? b.getAttribute("data-too-large") : "";
    if (tooLarge) {
      var named = document.getElementById("lapor-photo-name");
      if (named) { named.textContent = ""; }
    }
  }
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t && t.type === "file" && t.closest && t.closest("#lapor-photo")) { check(t.files); }
  }, true);
  document.addEventListener("drop", function (ev) {
    var t = ev.target;
    if (t && t.closest && t.closest("#lapor-photo") && ev.dataTransfer) {
      check(ev.dataTransfer.files);
    }
  }, true);
})();
