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

  // Timers: remaining working time from the server, counted down while the calendar is open.
  function span(seconds) {
    var s = Math.abs(Math.round(seconds));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return d + text("d") + " " + h + text("h");
    if (h) return h + text("h") + " " + m + text("m");
    return m + text("m");
  }
  var started = Date.now();
  var timers = Array.prototype.slice.call(document.querySelectorAll(".countdown[data-remaining]"));
  timers.forEach(function (el) { el.setAttribute("data-label", el.textContent.trim()); });
  function tick() {
    var elapsed = (Date.now() - started) / 1000;
    timers.forEach(function (el) {
      var remaining = parseFloat(el.getAttribute("data-remaining"));
      if (el.getAttribute("data-ticking") === "yes") remaining -= elapsed;
      var late = remaining < 0 || el.classList.contains("late");
      el.classList.toggle("late", late);
      var what = late ? text("late") + " " + span(remaining) : text("left") + " " + span(remaining);
      if (el.getAttribute("data-status") === "paused") what += " · " + text("paused");
      el.textContent = (el.getAttribute("data-label") + " " + what).trim();
    });
  }
  if (timers.length) { tick(); setInterval(tick, 1000); }

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
