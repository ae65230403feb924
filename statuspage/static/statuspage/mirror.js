/* The standby copy's heartbeat check (only on the mirror): reads /mirror.json and, when the
 * last publish is older than the page's limit, shows the "we may be having a larger outage"
 * warning with the time of the last update in the page's time zone. Without JavaScript the
 * note with the publish time still shows. */
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
    box.querySelector("[data-standby-stale]").hidden = Date.now() - at.getTime() <= limit;
  }

  function check() {
    if (!window.fetch) { show(box.getAttribute("data-published")); return; }
    window.fetch("/mirror.json", { cache: "no-store" }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (heartbeat) {
      show(heartbeat && heartbeat.published_at || box.getAttribute("data-published"));
    }).catch(function () { show(box.getAttribute("data-published")); });
  }

  check();
  window.setInterval(check, 60000);
})();
