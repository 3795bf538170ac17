/* Pantau map functions for dash-leaflet (referenced as {"variable": "pantau.map.*"}) and the
   wall-screen (kiosk) mode. No external libraries: Leaflet (L) comes with dash-leaflet. */
(function () {
  "use strict";
  var STATUS = {
    online: "#2fb344", degraded: "#f59f00", offline: "#d63939",
    unknown: "#8a94a6", disabled: "#5c677d"
  };
  var ALERT = {1: "#4dabf7", 2: "#f59f00", 3: "#d63939"};
  var LEVEL = {normal: "#2fb344", warning: "#f59f00", danger: "#d63939", unknown: "#8a94a6"};
  var KIND = {
    crime: "#d63939", fire: "#f76707", traffic_accident: "#f59f00", flood: "#4dabf7",
    illegal_dumping: "#a9a9a9", illegal_racing: "#ae3ec9", illegal_parking: "#74b816",
    street_children: "#e64980", crowd: "#fab005", street_vendors: "#20c997", other: "#8a94a6"
  };

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  window.pantau = window.pantau || {};
  window.pantau.map = {
    /* camera points: fill by health, ring by open-alert level */
    camera: function (feature, latlng) {
      var p = feature.properties || {};
      var alert = p.a || 0;
      var m = L.circleMarker(latlng, {
        radius: alert ? 9 : 7,
        fillColor: STATUS[p.s] || STATUS.unknown,
        fillOpacity: 0.95,
        color: alert ? ALERT[alert] : "#0b1f33",
        weight: alert ? 4 : 1.5,
        className: "pantau-cam pantau-cam-" + esc(p.s) + (alert ? " pantau-cam-alert" : "")
      });
      m.bindTooltip("<b>" + esc(p.n) + "</b><br>" + esc(p.c) + " · " + esc(p.k));
      return m;
    },
    /* cluster bubbles: navy with gold ring, size by count */
    cluster: function (feature, latlng) {
      var n = feature.properties.point_count;
      var size = n < 10 ? 34 : n < 100 ? 40 : n < 1000 ? 48 : 56;
      var icon = L.divIcon({
        html: "<div><span>" + feature.properties.point_count_abbreviated + "</span></div>",
        className: "marker-cluster pantau-cluster",
        iconSize: L.point(size, size)
      });
      return L.marker(latlng, {icon: icon});
    },
    /* value points for trend map layers: radius and colour from properties.v / hideout.max */
    value: function (feature, latlng, context) {
      var p = feature.properties || {};
      var max = (context && context.hideout && context.hideout.max) || 1;
      var share = Math.max(0, Math.min(1, (p.v || 0) / max));
      var m = L.circleMarker(latlng, {
        radius: 5 + 14 * Math.sqrt(share),
        fillColor: "#f2b705",
        fillOpacity: 0.35 + 0.5 * share,
        color: "#0b1f33",
        weight: 1
      });
      m.bindTooltip("<b>" + esc(p.n) + "</b><br>" + esc(p.label));
      return m;
    },
    sensor: function (feature, latlng) {
      var p = feature.properties || {};
      var m = L.circleMarker(latlng, {
        radius: 9, fillColor: LEVEL[p.level] || LEVEL.unknown, fillOpacity: 0.95,
        color: "#ffffff", weight: 2
      });
      m.bindTooltip("<b>" + esc(p.n) + "</b><br>" + esc(p.label || ""));
      return m;
    },
    incident: function (feature, latlng) {
      var p = feature.properties || {};
      var m = L.circleMarker(latlng, {
        radius: 6, fillColor: KIND[p.kind] || KIND.other, fillOpacity: p.demo ? 0.45 : 0.85,
        color: "#0b1f33", weight: 1, dashArray: p.demo ? "2 2" : null  /* demo rows: faded */
      });
      m.bindTooltip("<b>" + esc(p.title) + "</b><br>" + esc(p.label || ""));
      return m;
    },
    river: function () {
      return {color: "#4dabf7", weight: 7, opacity: 0.55, dashArray: null};
    },
    /* kecamatan outlines (/api/areas.geojson): thin navy line, dashed for demo boundaries */
    area: function (feature) {
      var demo = feature.properties && feature.properties.demo;
      return {color: "#7d8aa3", weight: 1.6, opacity: 0.9, fill: true, fillOpacity: 0,
              dashArray: demo ? "6 4" : null};
    },
    areaTip: function (feature, layer) {
      var p = feature.properties || {};
      var demo = p.demo ? "<br><i>" + esc(document.documentElement.lang === "en" ?
        "demo boundary (approximate)" : "batas demo (perkiraan)") + "</i>" : "";
      layer.bindTooltip("<b>" + esc(p.name) + "</b>" + demo, {sticky: true});
    },
    /* choropleth of a per-kecamatan figure: fill colour and label computed on the server */
    choropleth: function (feature) {
      var p = feature.properties || {};
      return {color: "#7d8aa3", weight: 1.4, opacity: 0.9, fillColor: p.fill || "#adb5bd",
              fillOpacity: p.fill ? 0.72 : 0.12, dashArray: p.demo ? "6 4" : null};
    },
    choroplethTip: function (feature, layer) {
      var p = feature.properties || {};
      layer.bindTooltip("<b>" + esc(p.name) + "</b><br>" + esc(p.label || ""), {sticky: true});
    }
  };

  /* ---- wall screen: ?kiosk=1[&rotate=seconds] ------------------------------------------- */
  var params = new URLSearchParams(window.location.search);
  if (params.get("kiosk") === "1") {
    document.documentElement.setAttribute("data-bs-theme", "dark");
    document.documentElement.classList.add("pantau-kiosk");
    /* chart type follows the wall's size (dashboard/wall_theme.py reads this cookie on the
       callbacks of ?kiosk=1 pages): 1 at 1920x1080, 2 at 3840x2160 */
    var wallScale = Math.max(1, Math.min(window.innerWidth / 1920, window.innerHeight / 1080));
    document.cookie = "pantau_wall_scale=" + wallScale.toFixed(2) + "; path=/; SameSite=Strict";
    var rotate = parseInt(params.get("rotate") || "0", 10);
    window.pantau.kiosk = {rotateSeconds: rotate > 0 ? Math.max(5, rotate) : 30};
    function pages() {
      var el = document.getElementById("shell-kiosk-bar");
      var raw = (el && el.getAttribute("data-pages")) || "";
      return raw.split(",").filter(function (h) { return h && h.charAt(0) === "/"; });
    }
    function next() {
      var list = pages();
      if (list.length < 2) { return; }
      var i = list.indexOf(window.location.pathname);
      if (i < 0) { return; }  /* a wall page outside the rotation (e.g. /dinding) stays */
      var target = list[(i + 1) % list.length];
      window.location.assign(target + window.location.search);
    }
    function tick() {
      var el = document.getElementById("shell-kiosk-clock");
      if (el) {
        el.textContent = new Date().toLocaleTimeString("id-ID", {
          timeZone: el.getAttribute("data-tz") || "Asia/Jakarta", hour: "2-digit", minute: "2-digit"
        }) + " " + (el.getAttribute("data-tzlabel") || "WIB");
      }
    }
    var started = Date.now();
    setInterval(function () {
      tick();
      if (params.get("rotate") === "0") { return; }
      /* a siaga alert on show (assets/pantau_wall.js) holds the rotation */
      if (window.pantau.kiosk.paused) { started = Date.now(); return; }
      var bar = document.getElementById("shell-kiosk-bar");
      var seconds = rotate > 0 ? Math.max(5, rotate)
        : parseInt((bar && bar.getAttribute("data-rotate")) || "30", 10);
      window.pantau.kiosk.rotateSeconds = seconds;
      if ((Date.now() - started) / 1000 >= seconds) { started = Date.now(); next(); }
    }, 1000);
  }
})();
