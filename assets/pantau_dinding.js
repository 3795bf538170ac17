/* Video wall (/dinding): live pictures for the tiles the Dash callbacks put on screen
   (dashboard/callbacks/dinding.py). All tiles of a wall share ONE connection,
   GET /api/dinding/live?codes=A,B,..&fps=N (dashboard/wall_hub.py), because browsers open
   at most six HTTP/1.1 connections per host: sixteen <img> MJPEG streams would show six.
   Each part of that multipart body names its camera (X-Camera), its state (X-State: live,
   wait, busy, gone) and when the picture was taken (X-Taken, epoch s); the picture goes into
   the tile's <img> as a blob URL and the tile's age ("12 s lalu") is kept current here.
   The callbacks re-render the tiles every few seconds (status, alerts): the stream goes on
   while the set of cameras stays the same, and new tile elements get the latest picture at
   once. 503 (too many walls): every tile says "busy" and the wall retries after Retry-After. */
(function () {
  "use strict";
  var current = null;       // {key, controller}
  var cache = {};           // code -> {url, taken, state}
  var retryTimer = null;
  var enc = new TextEncoder();
  var dec = new TextDecoder();
  var SEP = enc.encode("\r\n\r\n");
  /* what the wall's connection did (read by the browser test) */
  window.pantauDinding = {starts: []};

  function grid() { return document.getElementById("dinding-grid"); }
  function tiles() {
    var g = grid();
    return g ? Array.prototype.slice.call(g.querySelectorAll("[data-code]")) : [];
  }
  function english() { return (document.documentElement.lang || "id") === "en"; }

  function ageText(seconds) {
    var en = english();
    if (seconds < 0) { seconds = 0; }
    if (seconds < 120) { return Math.round(seconds) + (en ? " s ago" : " s lalu"); }
    if (seconds < 7200) { return Math.round(seconds / 60) + (en ? " min ago" : " mnt lalu"); }
    if (seconds < 172800) { return Math.round(seconds / 3600) + (en ? " h ago" : " jam lalu"); }
    return Math.round(seconds / 86400) + (en ? " days ago" : " hari lalu");
  }

  function stateText(state) {
    var g = grid();
    if (!g || state === "live") { return ""; }
    return g.getAttribute("data-" + state) || "";
  }

  function apply(tile, entry) {
    if (!entry) { return; }
    var img = tile.querySelector("img.dinding-img");
    if (img && entry.url && img.getAttribute("src") !== entry.url) { img.setAttribute("src", entry.url); }
    var shown = entry.url ? "live" : entry.state;
    if (entry.state === "busy" || entry.state === "gone") { shown = entry.state; }
    if (entry.state === "none" && !entry.url) { shown = "none"; }
    tile.setAttribute("data-state", shown);
    var box = tile.querySelector(".dinding-state");
    if (box) { box.textContent = stateText(shown); }
    updateAge(tile, entry);
  }

  function updateAge(tile, entry) {
    var el = tile.querySelector(".dinding-age");
    if (!el || !entry || !entry.taken) { return; }
    var age = Date.now() / 1000 - entry.taken;
    el.textContent = ageText(age);
    tile.classList.toggle("dinding-stale", age > 60);
  }

  function deliver(code, state, taken, body) {
    if (!code) { return; }  // keep-alive
    var entry = cache[code] || {url: null, taken: 0, state: "wait"};
    entry.state = state;
    if (body && body.length) {
      var old = entry.url;
      entry.url = URL.createObjectURL(new Blob([body], {type: "image/jpeg"}));
      entry.taken = taken || entry.taken;
      if (old) { setTimeout(function () { URL.revokeObjectURL(old); }, 2000); }
    }
    cache[code] = entry;
    tiles().forEach(function (tile) {
      if (tile.getAttribute("data-code") === code) { apply(tile, entry); }
    });
  }

  function indexOf(buf, pat, from) {
    outer: for (var i = from || 0; i <= buf.length - pat.length; i++) {
      for (var j = 0; j < pat.length; j++) { if (buf[i + j] !== pat[j]) { continue outer; } }
      return i;
    }
    return -1;
  }

  function parseParts(state) {
    /* consume every complete part in state.buf */
    for (;;) {
      var end = indexOf(state.buf, SEP, 0);
      if (end < 0) { return; }
      var head = dec.decode(state.buf.subarray(0, end));
      var headers = {};
      head.split("\r\n").forEach(function (line) {
        var k = line.indexOf(":");
        if (k > 0) { headers[line.slice(0, k).trim().toLowerCase()] = line.slice(k + 1).trim(); }
      });
      var len = parseInt(headers["content-length"] || "0", 10) || 0;
      var start = end + SEP.length;
      if (state.buf.length < start + len + 2) { return; }
      var body = state.buf.slice(start, start + len);
      state.buf = state.buf.subarray(start + len + 2);
      deliver(headers["x-camera"] || "", headers["x-state"] || "live",
              parseFloat(headers["x-taken"] || "0") || 0, body);
    }
  }

  function mark(codes, state) { codes.forEach(function (c) { deliver(c, state, 0, null); }); }

  function start(codes, fps, key) {
    var controller = new AbortController();
    window.pantauDinding.starts.push(key);
    current = {key: key, controller: controller};
    var url = "/api/dinding/live?codes=" + encodeURIComponent(codes.join(",")) + "&fps=" + fps;
    fetch(url, {signal: controller.signal, credentials: "same-origin", cache: "no-store"})
      .then(function (resp) {
        if (!resp.ok || !resp.body) {
          var wait = parseInt(resp.headers.get("Retry-After") || "10", 10) || 10;
          mark(codes, resp.status === 503 ? "busy" : "gone");
          retryLater(key, wait);
          return null;
        }
        var reader = resp.body.getReader();
        var state = {buf: new Uint8Array(0)};
        function pump() {
          return reader.read().then(function (r) {
            if (r.done) { retryLater(key, 1); return null; }
            var merged = new Uint8Array(state.buf.length + r.value.length);
            merged.set(state.buf, 0);
            merged.set(r.value, state.buf.length);
            state.buf = merged;
            parseParts(state);
            return pump();
          });
        }
        return pump();
      })
      .catch(function () {
        if (!controller.signal.aborted) { retryLater(key, 5); }
      });
  }

  function retryLater(key, seconds) {
    if (!current || current.key !== key) { return; }
    clearTimeout(retryTimer);
    retryTimer = setTimeout(function () {
      if (current && current.key === key) { current = null; sync(); }
    }, Math.max(1, seconds) * 1000);
  }

  function stop() {
    if (current) { current.controller.abort(); current = null; }
    clearTimeout(retryTimer);
  }

  function fitBelowNavbar() {
    /* the wall fills the screen below whatever is above it (the navbar wraps on narrow
       screens); assets/dinding.css reads --dinding-top */
    var page = document.getElementById("dinding-page");
    if (page) {
      var top = Math.round(page.getBoundingClientRect().top + window.scrollY);
      page.style.setProperty("--dinding-top", top + "px");
    }
  }

  function sync() {
    fitBelowNavbar();
    var list = tiles();
    if (!list.length) { if (!grid()) { stop(); } return; }
    var codes = [];
    list.forEach(function (tile) {
      var code = tile.getAttribute("data-code");
      if (codes.indexOf(code) < 0) { codes.push(code); }
      apply(tile, cache[code] || {url: null, taken: 0, state: "wait"});
    });
    var fps = list[0].getAttribute("data-fps") || "2";
    var key = codes.join(",") + "@" + fps;
    if (current && current.key === key) { return; }
    stop();
    /* forget pictures of cameras no longer on screen (their blob URLs too) */
    Object.keys(cache).forEach(function (code) {
      if (codes.indexOf(code) < 0) {
        if (cache[code].url) { URL.revokeObjectURL(cache[code].url); }
        delete cache[code];
      }
    });
    start(codes, fps, key);
  }

  var scheduled = false;
  function schedule() {
    if (scheduled) { return; }
    scheduled = true;
    setTimeout(function () { scheduled = false; sync(); }, 50);
  }

  function onClick(event) {
    /* a click on a tile enlarges it, a click on the enlarged tile returns to the wall:
       written straight into the page's dinding-focus store (the callbacks re-render the
       tiles every few seconds, so the click is not tied to a tile component) */
    var tile = event.target.closest && event.target.closest("#dinding-grid [data-code]");
    if (!tile || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
    var focused = grid().classList.contains("dinding-focused");
    window.dash_clientside.set_props("dinding-focus",
      {data: focused ? null : tile.getAttribute("data-code")});
  }

  function init() {
    document.addEventListener("click", onClick);
    new MutationObserver(function (records) {
      for (var i = 0; i < records.length; i++) {
        var t = records[i].target;
        if (t.id === "dinding-grid" || (t.closest && t.closest("#dinding-grid")) ||
            records[i].addedNodes.length || records[i].removedNodes.length) {
          schedule();
          return;
        }
      }
    }).observe(document.body, {childList: true, subtree: true});
    window.addEventListener("resize", fitBelowNavbar);
    setInterval(function () {
      tiles().forEach(function (tile) { updateAge(tile, cache[tile.getAttribute("data-code")]); });
    }, 1000);
    schedule();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
