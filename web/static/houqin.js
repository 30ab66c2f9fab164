/* Houqin pages: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";
  var body = document.body;
  var text = function (name) { return body.getAttribute("data-i18n-" + name) || ""; };
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // htmx requests carry the CSRF token like forms do.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrf;
  });

  // Timers: remaining working time from the server, counted down while the calendar is open; the same
  // words as the server's first text (web/pages/view.py: working time in hours, and said to be so).
  function span(seconds, working) {
    var s = Math.abs(Math.round(seconds));
    var d = working ? 0 : Math.floor(s / 86400);
    var h = Math.floor((working ? s : s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var said = d ? d + text("d") + " " + h + text("h") : h ? h + text("h") + " " + m + text("m") : m + text("m");
    return working ? said + text("working") : said;
  }
  var started = Date.now();
  var timers = Array.prototype.slice.call(document.querySelectorAll(".countdown[data-remaining]"));
  function tick() {
    var elapsed = (Date.now() - started) / 1000;
    timers.forEach(function (el) {
      var remaining = parseFloat(el.getAttribute("data-remaining"));
      if (el.getAttribute("data-ticking") === "yes") remaining -= elapsed;
      var late = remaining < 0 || el.classList.contains("late");
      el.classList.toggle("late", late);
      var working = el.getAttribute("data-working") === "yes";
      var what = (late ? text("late") : text("left")) + " " + span(remaining, working);
      if (el.getAttribute("data-status") === "paused") what += " · " + text("paused");
      el.textContent = (el.getAttribute("data-label") + " " + what).trim();
    });
  }
  if (timers.length) { tick(); setInterval(tick, 1000); }

  // The menu scrolls sideways on a phone: it starts at the current page, and an edge with more beyond it fades.
  var menu = document.querySelector(".menu");
  function edges() {
    var beyond = menu.scrollWidth - menu.clientWidth;
    menu.classList.toggle("more-before", menu.scrollLeft > 1);
    menu.classList.toggle("more-after", menu.scrollLeft < beyond - 1);
  }
  if (menu) {
    var current = menu.querySelector("[aria-current]");
    if (current) {
      var box = menu.getBoundingClientRect(), item = current.getBoundingClientRect();
      if (item.right > box.right) menu.scrollLeft += item.right - box.right + item.width;
    }
    edges();
    menu.addEventListener("scroll", edges, { passive: true });
    window.addEventListener("resize", edges);
  }

  // A link to /orders/1#event-1-resolve opens that event's form.
  if (location.hash) {
    var target = document.getElementById(location.hash.slice(1));
    if (target && target.tagName === "DETAILS") { target.open = true; target.scrollIntoView(); }
  }

  // Diagrams: Mermaid reads the (escaped) text of each <pre class="mermaid">.
  if (window.mermaid) {
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
    window.mermaid.run({ querySelector: "pre.mermaid" });
  }
})();
