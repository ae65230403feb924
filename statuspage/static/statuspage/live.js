/* Live updates for the public status page (progressive enhancement: the page works without it).
 *
 * Connects to /ws/pages/<slug>/, replaces the [data-live] sections and the title with what the
 * server pushes, announces each change in #live-announcer, reconnects with jittered exponential
 * backoff, catches up from the state the server sends after its hello (or <prefix>live.json) when
 * its version is behind, and polls that URL
 * (with If-None-Match) while websockets do not get through. When the app's live.json cannot be
 * reached either, it polls the static mirror's copy (data-mirror-url, MIRROR_PUBLIC_URL); on the
 * mirror itself (a [data-standby] note) it only polls the mirror's own live.json.
 */
(function () {
  "use strict";
  var body = document.body;
  var announcer = document.getElementById("live-announcer");
  var slug = body.getAttribute("data-page");
  if (!slug || !announcer || !window.fetch) return;

  var prefix = body.getAttribute("data-prefix") || "/";
  var canonical = "/p/" + slug + "/";
  var lang = document.documentElement.lang || "en";
  var version = parseInt(body.getAttribute("data-version"), 10) || 0;
  var etagMeta = document.querySelector('meta[name="live-etag"]');
  var etag = etagMeta ? etagMeta.getAttribute("content") : "";
  var BASE_DELAY = 1000, MAX_DELAY = 5000, POLL_EVERY = 30000, FAILURES_BEFORE_POLLING = 3;
  var CHECK_EVERY = 120000;
  var attempt = 0, failures = 0, pollTimer = null, fetching = false, greeted = false;
  var standby = document.querySelector("[data-standby]") !== null;
  var mirrorUrl = standby ? "" : (body.getAttribute("data-mirror-url") || "");
  var defaultLanguage = body.getAttribute("data-default-language") || "en";

  function setVersion(v) {
    version = v;
    body.setAttribute("data-version", String(v));
  }

  function announce(text) {
    if (!text) return;
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function localLinks(html) {
    // Pushed fragments link to /p/<slug>/...; this page may be served at / (custom host).
    return prefix === canonical ? html : html.split('href="' + canonical).join('href="' + prefix);
  }

  function keepUptimeBars(current, fresh) {
    // Pushed services come without their 90-day bars (they change daily): keep the page's.
    Array.prototype.forEach.call(current.querySelectorAll("[data-component]"), function (item) {
      var bars = item.querySelector(".uptime");
      var id = item.getAttribute("data-component");
      var target = bars && fresh.querySelector('[data-component="' + id + '"]');
      if (target && !target.querySelector(".uptime")) target.appendChild(bars);
    });
  }

  function apply(state) {
    var sections = state.html || {};
    Object.keys(sections).forEach(function (name) {
      var current = document.querySelector('[data-live="' + name + '"]');
      if (!current) return;
      var template = document.createElement("template");
      template.innerHTML = localLinks(sections[name]);
      var fresh = template.content.firstElementChild;
      if (!fresh) return;
      keepUptimeBars(current, fresh);
      current.replaceWith(fresh);
    });
    if (state.title) document.title = state.title;
    setVersion(state.version);
    announce(state.announce);
    document.dispatchEvent(new CustomEvent("statuspage:updated"));
  }

  function fetchState() {
    if (fetching) return;
    fetching = true;
    var headers = { Accept: "application/json" };
    if (etag) headers["If-None-Match"] = etag;
    window.fetch(prefix + "live.json", {
      headers: headers,
      cache: "no-store",
      credentials: "same-origin"
    }).then(function (response) {
      if (response.status >= 500) throw new Error("app unavailable");
      if (response.status === 304 || !response.ok) return null;
      etag = response.headers.get("ETag") || etag;
      return response.json();
    }).then(function (state) {
      if (state && state.version > version) apply(state);
    }).catch(function () {
      // The app is unreachable: its websocket failed too unless we were greeted.
      if (mirrorUrl && !greeted) return fetchMirror();
    }).then(function () { fetching = false; });
  }

  function fetchMirror() {
    // The standby copy keeps each language at /<lang>/... (and its default at /...); its
    // links go to the mirror too. A plain GET (no extra headers): no CORS preflight.
    var path = lang === defaultLanguage ? canonical : "/" + lang + canonical;
    return window.fetch(mirrorUrl + path + "live.json", {
      cache: "no-store",
      mode: "cors",
      credentials: "omit"
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (state) {
      if (!state || !(state.version > version)) return;
      Object.keys(state.html || {}).forEach(function (name) {
        state.html[name] = state.html[name].split('href="/').join('href="' + mirrorUrl + "/");
      });
      apply(state);
    }).catch(function () { /* the mirror is unreachable too: try again at the next poll */ });
  }

  function startPolling() {
    if (pollTimer !== null) return;
    fetchState();
    pollTimer = window.setInterval(fetchState, POLL_EVERY);
  }

  function stopPolling() {
    if (pollTimer !== null) window.clearInterval(pollTimer);
    pollTimer = null;
  }

  function onMessage(event) {
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    if (message.type === "hello") {
      greeted = true;
      attempt = 0;
      failures = 0;
      stopPolling();
      // Missed updates while away: the state follows the hello, or is fetched.
      if (message.version > version && !message.state) fetchState();
      return;
    }
    if (typeof message.version !== "number" || message.version <= version) return;
    apply(message);
  }

  // Exponential backoff with full jitter: attempt n waits a random time up to
  // min(MAX_DELAY, BASE_DELAY * 2^n). After a server restart every open page comes back within
  // MAX_DELAY of the server serving again, spread evenly over that window (no thundering herd:
  // 10,000 pages arrive at about 2,000/s, bench/websocket_fanout.py --reconnect).
  function reconnectDelay(n) {
    return Math.random() * Math.min(MAX_DELAY, BASE_DELAY * Math.pow(2, n));
  }

  function connect() {
    if (!("WebSocket" in window)) { startPolling(); return; }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    greeted = false;
    try {
      // The version shown: a hello ahead of it comes with the state (no live.json fetch).
      socket = new WebSocket(scheme + window.location.host + "/ws/pages/" +
                             encodeURIComponent(slug) + "/?lang=" + encodeURIComponent(lang) +
                             "&v=" + version);
    } catch (e) { startPolling(); return; }
    socket.onmessage = onMessage;
    socket.onclose = function (event) {
      if (event.code === 4404) return; // the page no longer exists
      // No hello: refused, or a proxy that lets the handshake through but not the frames.
      if (!greeted && ++failures >= FAILURES_BEFORE_POLLING) startPolling();
      window.setTimeout(connect, reconnectDelay(attempt++));
    };
  }

  // A slow safety net while connected: a change made where the push cannot reach (another
  // process on the embedded in-memory layer, such as `make run`'s maintenance clock) shows up
  // within CHECK_EVERY. Costs one 304 when nothing changed.
  window.setInterval(function () {
    if (document.visibilityState === "visible" && pollTimer === null) fetchState();
  }, CHECK_EVERY);

  // A tab back from the background (where browsers may suspend sockets) checks it is current.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") fetchState();
  });

  if (standby) startPolling(); // a static copy: no websocket to open
  else connect();
})();
