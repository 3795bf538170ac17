/* Plotly charts in Indonesian while the interface is Indonesian: month and day names on date
 * axes (Okt, Des...), decimal comma and thousands dot, and the tool-bar tooltips.
 *
 * plotly.js registers the locales queued in window.PlotlyLocales when it loads (after its own
 * English ones), and every chart uses the default "en-US" locale: queuing the Indonesian words
 * under that name makes them the default for this page load (the language switch reloads the
 * page). Nothing is queued in English. */
(function () {
  "use strict";
  var lang = document.documentElement.lang === "en" ? "en" : "id";  /* set by the server */
  if (lang !== "id") { return; }
  var locale = {
    moduleType: "locale",
    name: "en-US",
    dictionary: {
      "Autoscale": "Skala otomatis",
      "Box Select": "Pilih kotak",
      "Click to enter Colorscale title": "Klik untuk mengisi judul skala warna",
      "Compare data on hover": "Bandingkan data saat disorot",
      "Double-click on legend to isolate one trace": "Klik dua kali pada legenda untuk satu seri saja",
      "Double-click to zoom back out": "Klik dua kali untuk memperkecil kembali",
      "Download plot": "Unduh grafik",
      "Download plot as a png": "Unduh grafik sebagai PNG",
      "Lasso Select": "Pilih laso",
      "Pan": "Geser",
      "Produced with Plotly.js": "Dibuat dengan Plotly.js",
      "Reset axes": "Atur ulang sumbu",
      "Reset view": "Atur ulang tampilan",
      "Show closest data on hover": "Tampilkan data terdekat saat disorot",
      "Snapshot succeeded": "Gambar tersimpan",
      "Taking snapshot - this may take a few seconds": "Menyimpan gambar — perlu beberapa detik",
      "Toggle Spike Lines": "Garis bantu",
      "Zoom": "Perbesar area",
      "Zoom in": "Perbesar",
      "Zoom out": "Perkecil",
      "trace": "seri"
    },
    format: {
      days: ["Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"],
      shortDays: ["Min", "Sen", "Sel", "Rab", "Kam", "Jum", "Sab"],
      months: ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
               "September", "Oktober", "November", "Desember"],
      shortMonths: ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt",
                    "Nov", "Des"],
      date: "%d/%m/%Y",
      decimal: ",",
      thousands: "."
    }
  };
  if (window.Plotly && window.Plotly.register) {
    window.Plotly.register(locale);
  } else {
    window.PlotlyLocales = window.PlotlyLocales || [];
    window.PlotlyLocales.push(locale);
  }
})();
