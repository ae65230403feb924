/* Relative times ("12 minutes ago") next to the absolute ones, kept fresh once a minute in the
   page's language. The server renders the first text (statuspage/templatetags/status.py `ago`);
   without JavaScript it stays as rendered. */
(function () {
  "use strict";
  if (!window.Intl || !Intl.RelativeTimeFormat) return;
  var format = new Intl.RelativeTimeFormat(document.documentElement.lang || "en", { numeric: "always" });
  // Django's timesince units (a month is 30 days), rounded down as it does.
  var units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];

  function text(element) {
    var seconds = (Date.now() - Date.parse(element.getAttribute("data-ago"))) / 1000;
    if (!(seconds >= 60)) return element.getAttribute("data-just-now");
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][1]) return format.format(-Math.floor(seconds / units[i][1]), units[i][0]);
    }
  }

  function refresh() {
    var elements = document.querySelectorAll(".ago[data-ago]");
    for (var i = 0; i < elements.length; i++) {
      var fresh = text(elements[i]);
      if (fresh && elements[i].textContent !== fresh) elements[i].textContent = fresh;
    }
  }

  refresh();
  setInterval(refresh, 30000);
  // Live updates replace sections: freshen their times at once.
  document.addEventListener("statuspage:updated", refresh);
})();
