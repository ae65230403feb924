/* Live updates for the customer view, /my/ (progressive enhancement: the page works without it).
 *
 * Connects to /ws/my/ (the session cookie says which customer; the server never lets anyone
 * else join), and on each push fetches /my/sections/ and replaces the overview's sections.
 * Reconnects with jittered exponential backoff and polls every minute while it cannot.
 */
(function () {
  "use strict";
  var target = document.querySelector("[data-my-sections]");
  var announcer = document.getElementById("live-announcer");
  if (!target || !window.fetch || !window.WebSocket) return;
  var BASE_DELAY = 1000, MAX_DELAY = 30000, POLL_EVERY = 60000;
  var attempt = 0, pollTimer = null, fetching = false;

  function refresh(announce) {
    if (fetching) return;
    fetching = true;
    fetch("/my/sections/", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 403) { window.location.href = "/my/sign-in/"; return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data || !data.html) return;
        target.innerHTML = data.html;
        if (announce && announcer) {
          announcer.textContent = "";
          window.setTimeout(function () { announcer.textContent = announce; }, 50);
        }
      })
      .catch(function () {})
      .then(function () { fetching = false; });
  }

  function poll() {
    if (pollTimer) return;
    pollTimer = window.setInterval(function () { refresh(""); }, POLL_EVERY);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/my/");
    socket.onopen = function () {
      attempt = 0;
      if (pollTimer) { window.clearInterval(pollTimer); pollTimer = null; }
    };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      if (data.type === "hello") return;
      refresh(data.announce || "");
    };
    socket.onclose = function (event) {
      if (event.code === 4403) { return; }  // signed out: the page's next fetch says so
      poll();
      var delay = Math.min(MAX_DELAY, BASE_DELAY * Math.pow(2, attempt++));
      window.setTimeout(connect, delay / 2 + Math.random() * delay / 2);
      refresh("");
    };
  }

  connect();
})();
