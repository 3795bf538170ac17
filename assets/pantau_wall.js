/* Wall screen (?kiosk=1) alert flash: polls /api/wall/alerts (dashboard/api/wall.py); on a
   new siaga alert the screen flashes, shows the alert and its camera's live picture for
   show_seconds (rotation held), and beeps when sound is on (setting kiosk_alert_sound, or
   ?sound=1 / ?sound=0 on the URL). Alerts already open when the wall starts do not flash;
   the ids seen are kept in sessionStorage, so the rotation's page loads do not flash again. */
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  if (params.get("kiosk") !== "1") { return; }
  /* the video wall shows new alerts itself (a pinned tile): no flash over it */
  if (window.location.pathname === "/dinding") { return; }
  var KEY = "pantau.wall.seen";
  var POLL_MS = Math.max(2, parseInt(params.get("alertpoll") || "10", 10)) * 1000;
  var shownUntil = 0;
  var refreshTimer = null;

  function seen() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { return null; }
  }
  function remember(ids) {
    try { sessionStorage.setItem(KEY, JSON.stringify(ids.slice(-500))); } catch (e) { /* full */ }
  }
  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx();
      [0, 0.45, 0.9].forEach(function (at) {
        var osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.25, ctx.currentTime + at);
        gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + at + 0.35);
        osc.connect(gain); gain.connect(ctx.destination);
        osc.start(ctx.currentTime + at); osc.stop(ctx.currentTime + at + 0.4);
      });
    } catch (e) { /* no audio on this screen */ }
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text != null) { e.textContent = text; }
    return e;
  }
  function hide() {
    var box = document.getElementById("pantau-wall-alert");
    if (box) { box.remove(); }
    if (refreshTimer) { clearInterval(refreshTimer); refreshTimer = null; }
    document.documentElement.classList.remove("pantau-wall-flash");
    window.pantau.kiosk.paused = false;
  }
  function show(alert, seconds) {
    hide();
    var en = document.documentElement.lang === "en";
    var box = el("div", "pantau-wall-alert");
    box.id = "pantau-wall-alert";
    box.setAttribute("role", "alert");
    box.setAttribute("data-alert-id", String(alert.id));
    var head = el("div", "pantau-wall-alert-head");
    head.appendChild(el("span", "badge text-bg-danger", en ? "ALERT" : "SIAGA"));
    head.appendChild(el("span", "pantau-wall-alert-title", alert.title));
    box.appendChild(head);
    if (alert.camera) {
      var img = el("img", "pantau-wall-alert-live");
      img.id = "pantau-wall-alert-live";
      img.alt = alert.camera_name || alert.camera;
      if (alert.live) {
        img.src = alert.live;  /* MJPEG from the public frame hub: live, blurred */
      } else {
        img.src = alert.snapshot + "?t=" + Date.now();
        refreshTimer = setInterval(function () { img.src = alert.snapshot + "?t=" + Date.now(); }, 3000);
      }
      box.appendChild(img);
      box.appendChild(el("div", "pantau-wall-alert-meta", (alert.camera_name || "") + " · " + alert.camera +
        (alert.live ? (en ? " · live" : " · langsung") : (en ? " · latest picture" : " · gambar terakhir"))));
    }
    document.body.appendChild(box);
    document.documentElement.classList.add("pantau-wall-flash");
    window.pantau.kiosk.paused = true;
    window.pantau.kiosk.lastAlert = alert;
    shownUntil = Date.now() + seconds * 1000;
  }
  function poll() {
    if (shownUntil && Date.now() > shownUntil) { shownUntil = 0; hide(); }
    fetch("/api/wall/alerts", {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var ids = data.alerts.map(function (a) { return a.id; });
        var before = seen();
        if (before === null) { remember(ids); return; }  /* the wall just started */
        var fresh = data.alerts.filter(function (a) { return before.indexOf(a.id) < 0; });
        remember(before.concat(fresh.map(function (a) { return a.id; })));
        if (!fresh.length) { return; }
        var sound = params.has("sound") ? params.get("sound") === "1" : !!data.sound;
        show(fresh[0], data.show_seconds || 60);
        if (sound) { beep(); }
      })
      .catch(function () { /* the next poll tries again */ });
  }
  window.pantau = window.pantau || {};
  window.pantau.kiosk = window.pantau.kiosk || {};
  window.pantau.kiosk.pollAlerts = poll;
  window.pantau.kiosk.hideAlert = hide;
  poll();
  setInterval(poll, POLL_MS);
})();
