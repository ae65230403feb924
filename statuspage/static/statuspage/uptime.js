/* The 90-day uptime history: one slider per component (one tab stop). Arrow keys, Home/End
 * and Page Up/Down move between days; the slider's aria-valuetext (read by screen readers on
 * every move) and the visible tip give the day's date, figures and incidents. Hovering a bar
 * shows the same tip. Event delegation: live.js moves these elements between pushed fragments.
 */
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var dateFormat = new Intl.DateTimeFormat(lang, {
    weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC"
  });
  var narrow = window.matchMedia("(max-width: 560px)");

  function data(slider) {
    if (!slider._uptime) {
      slider._uptime = {
        days: slider.getAttribute("data-days").split(",").map(Number),
        texts: JSON.parse(slider.getAttribute("data-texts")),
        start: Date.parse(slider.getAttribute("data-start") + "T00:00:00Z")
      };
    }
    return slider._uptime;
  }

  function first(slider) {
    var count = data(slider).days.length;
    // On a phone only the last 30 days are drawn (status.css): the keys stay among them.
    return narrow.matches ? Math.max(1, count - 29) : 1;
  }

  function show(slider, position) {
    var info = data(slider);
    var count = info.days.length;
    position = Math.min(count, Math.max(first(slider), position));
    var date = dateFormat.format(new Date(info.start + (position - 1) * 86400000));
    var lines = info.texts[info.days[position - 1]].split("\n");
    slider.setAttribute("aria-valuenow", String(position));
    slider.setAttribute("aria-valuetext", date + ": " + lines.join(". "));
    var cursor = slider.querySelector(".uptime-cursor");
    cursor.setAttribute("d", "M" + (position - 1) + " 15h.8");
    var tip = slider.querySelector(".uptime-tip");
    tip.textContent = "";
    var strong = document.createElement("strong");
    strong.textContent = date;
    tip.appendChild(strong);
    lines.forEach(function (line) {
      var span = document.createElement("span");
      span.textContent = line;
      tip.appendChild(span);
    });
    var svg = slider.querySelector("svg").getBoundingClientRect();
    var box = slider.getBoundingClientRect();
    var x = svg.left - box.left + (position - 0.5) * svg.width / count;
    tip.style.left = Math.max(0, Math.min(box.width - tip.offsetWidth, x - tip.offsetWidth / 2)) + "px";
    slider.classList.add("uptime-bars--showing");
  }

  function hide(slider) {
    slider.classList.remove("uptime-bars--showing");
  }

  var KEYS = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, PageDown: -7, PageUp: 7 };

  document.addEventListener("keydown", function (event) {
    var slider = event.target;
    if (!slider.classList || !slider.classList.contains("uptime-bars")) return;
    var now = parseInt(slider.getAttribute("aria-valuenow"), 10);
    var count = data(slider).days.length;
    var next = null;
    if (event.key in KEYS) next = now + KEYS[event.key];
    else if (event.key === "Home") next = first(slider);
    else if (event.key === "End") next = count;
    if (next === null) return;
    event.preventDefault();
    show(slider, next);
  });

  document.addEventListener("focusin", function (event) {
    var slider = event.target;
    if (slider.classList && slider.classList.contains("uptime-bars")) {
      show(slider, parseInt(slider.getAttribute("aria-valuenow"), 10));
    }
  });

  document.addEventListener("focusout", function (event) {
    var slider = event.target;
    if (slider.classList && slider.classList.contains("uptime-bars")) hide(slider);
  });

  document.addEventListener("mousemove", function (event) {
    var slider = event.target.closest && event.target.closest(".uptime-bars");
    if (!slider) return;
    var svg = slider.querySelector("svg").getBoundingClientRect();
    var count = data(slider).days.length;
    show(slider, Math.floor((event.clientX - svg.left) / svg.width * count) + 1);
  });

  document.addEventListener("mouseout", function (event) {
    var slider = event.target.closest && event.target.closest(".uptime-bars");
    if (slider && !slider.contains(event.relatedTarget) && document.activeElement !== slider) {
      hide(slider);
    }
  });
})();
