/* Status widget: <script src="https://status.example.com/p/<slug>/widget.js" async></script>
 * Shows a small notice while something on the status page is not operational; nothing
 * otherwise. No dependencies; reads the page's public summary.json (CORS); polls gently. */
(function () {
  "use strict";
  var config = __CONFIG__;
  var host = null;
  var shown = "";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    if (text) node.textContent = text;
    return node;
  }

  function signature(summary) {
    return summary.status.indicator + ":" + summary.incidents.map(function (i) {
      return i.id + i.status;
    }).join(",");
  }

  function render(summary) {
    var broken = summary.components.filter(function (c) {
      return !c.group && c.status !== "operational";
    });
    var problem = summary.status.indicator !== "none" || broken.length > 0;
    var key = signature(summary);
    if (!problem || sessionStorage.getItem("statuspage-widget-hidden") === key) {
      if (host) { host.remove(); host = null; shown = ""; }
      return;
    }
    if (host && shown === key) return;
    if (host) host.remove();
    host = el("div", { "data-statuspage-widget": "" });
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = el("style", {},
      ".n{position:fixed;bottom:1rem;right:1rem;max-width:22rem;z-index:2147483000;" +
      "background:#fff;color:#1a1a1a;border:1px solid #c9c9c9;border-left:6px solid #c15400;" +
      "border-radius:6px;padding:.75rem 2.25rem .75rem .9rem;font:14px/1.4 system-ui,sans-serif;" +
      "box-shadow:0 2px 10px rgba(0,0,0,.15)}.n.critical{border-left-color:#c62828}" +
      ".n.maintenance{border-left-color:#0b5cad}.n.minor{border-left-color:#8a6d00}" +
      "strong{display:block}a{color:#0b5cad}ul{margin:.3rem 0;padding-left:1.1rem}" +
      "button{position:absolute;top:.35rem;right:.35rem;border:0;background:none;" +
      "font-size:1.1rem;line-height:1;padding:.3rem;cursor:pointer;color:#444}" +
      "button:focus-visible,a:focus-visible{outline:2px solid #0b5cad;outline-offset:2px}");
    var box = el("div", { "class": "n " + summary.status.indicator, role: "status",
      "aria-live": "polite", lang: document.documentElement.lang || "" });
    box.appendChild(el("strong", {}, summary.page.name + ": " + summary.status.description));
    summary.incidents.slice(0, 3).forEach(function (incident) {
      box.appendChild(el("div", {}, incident.name));
    });
    if (broken.length) {
      var list = el("ul", { "aria-label": config.texts.components });
      broken.slice(0, 5).forEach(function (c) { list.appendChild(el("li", {}, c.name)); });
      box.appendChild(list);
    }
    var link = el("a", { href: config.page, target: "_blank", rel: "noopener" },
      config.texts.details);
    box.appendChild(link);
    var close = el("button", { type: "button", "aria-label": config.texts.close }, "\u00d7");
    close.addEventListener("click", function () {
      sessionStorage.setItem("statuspage-widget-hidden", key);
      host.remove(); host = null; shown = "";
    });
    box.appendChild(close);
    root.appendChild(style);
    root.appendChild(box);
    document.body.appendChild(host);
    shown = key;
  }

  function check() {
    fetch(config.summary, { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (summary) { if (summary) render(summary); })
      .catch(function () { /* the status page unreachable: say nothing rather than guess */ })
      .then(function () { setTimeout(check, config.poll * 1000); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", check);
  else check();
})();
