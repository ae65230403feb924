/* The standby copy's heartbeat check (only on the mirror): reads /mirror.json, says when the
 * copy was last checked against the live page and, when that is older than the page's limit,
 * shows the "we may be having a larger outage" warning with that time in the page's time zone.
 * The pages carry only the time their content last changed (so a heartbeat rewrites nothing but
 * mirror.json); without JavaScript that sentence, which stays true, is all that shows. */
(function () {
  "use strict";
  var box = document.querySelector("[data-standby]");
  if (!box) return;
  var limit = (parseInt(box.getAttribute("data-stale-after"), 10) || 600) * 1000;
  var zone = box.getAttribute("data-time-zone") || "UTC";
  var lang = document.documentElement.lang || "en";

  function show(publishedAt) {
    var at = new Date(publishedAt);
    if (isNaN(at.getTime())) return;
    var time;
    try {
      time = at.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", timeZone: zone });
    } catch (e) {
      time = at.toISOString().slice(11, 16) + " UTC";
    }
    Array.prototype.forEach.call(box.querySelectorAll("[data-standby-time]"), function (el) {
      el.textContent = time;
      el.setAttribute("datetime", at.toISOString());
    });
    box.querySelector("[data-standby-checked]").hidden = false;
    box.querySelector("[data-standby-stale]").hidden = Date.now() - at.getTime() <= limit;
  }

  function check() {
    if (!window.fetch) return;
    // An unreadable heartbeat proves nothing either way: the page then says only what it knows.
    window.fetch("/mirror.json", { cache: "no-store" }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (heartbeat) {
      if (heartbeat && heartbeat.published_at) show(heartbeat.published_at);
    }).catch(function () {});
  }

  check();
  window.setInterval(check, 60000);
})();
