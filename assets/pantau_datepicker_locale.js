/* Month and weekday names of the date pickers in the interface language.
 *
 * Dash 4's DatePickerRange formats with date-fns and takes its locale from
 * window.dateFns.locale (assets/vendor/date-fns/locale-id.min.js registers "id"). That
 * registry is replaced here by one whose "id" entry answers only while Pantau is in
 * Indonesian (<html lang>, set by the server): in English it is
 * undefined and date-fns keeps its English names. Works whichever of the two files loads
 * first. */
(function () {
  "use strict";
  var idLocale = null;

  function pantauLang() {
    return document.documentElement.lang === "en" ? "en" : "id";  /* set by the server */
  }

  function registry() {
    var locale = {};
    Object.defineProperty(locale, "id", {
      enumerable: true,
      get: function () { return pantauLang() === "id" ? idLocale : undefined; }
    });
    return {locale: locale};
  }

  var before = window.dateFns;
  if (before && before.locale && before.locale.id) { idLocale = before.locale.id; }
  var current = registry();
  Object.defineProperty(window, "dateFns", {
    configurable: true,
    get: function () { return current; },
    set: function (value) {
      if (value && value.locale && value.locale.id) { idLocale = value.locale.id; }
    }
  });
})();
