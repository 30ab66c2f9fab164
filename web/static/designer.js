/* The process designer: check the YAML as it is typed, mark errors at their lines, redraw the diagram. */
(function () {
  "use strict";
  var area = document.getElementById("yaml");
  if (!area) return;
  var gutter = document.getElementById("gutter");
  var status = document.getElementById("status");
  var problems = document.getElementById("problems");
  var preview = document.getElementById("preview");
  var body = document.body;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var text = function (name) { return body.getAttribute("data-i18n-" + name) || ""; };
  var bad = {};
  var timer = null, sequence = 0, drawn = 0;

  function numberLines() {
    var count = area.value.split("\n").length, out = [];
    for (var i = 1; i <= count; i++) out.push(bad[i] ? '<b class="bad" title="' + escapeHtml(bad[i]) + '">' + i + "</b>" : String(i));
    gutter.innerHTML = out.join("\n") + "\n";
    gutter.scrollTop = area.scrollTop;
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function goTo(line) {
    var lines = area.value.split("\n"), start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    area.focus();
    area.setSelectionRange(start, start + (lines[line - 1] || "").length);
    area.scrollTop = Math.max(0, (line - 3) * parseFloat(getComputedStyle(area).lineHeight || "18"));
  }

  function show(errors) {
    bad = {};
    problems.innerHTML = "";
    errors.forEach(function (e) {
      bad[e.line] = (bad[e.line] ? bad[e.line] + "; " : "") + e.message;
      var li = document.createElement("li");
      li.setAttribute("data-line", e.line);
      var a = document.createElement("a");
      a.href = "#yaml";
      a.textContent = text("at").replace("{line}", e.line).replace("{column}", e.column);
      a.addEventListener("click", function (ev) { ev.preventDefault(); goTo(e.line); });
      li.appendChild(a);
      li.appendChild(document.createTextNode(" " + e.message));
      problems.appendChild(li);
    });
    numberLines();
  }

  function draw(diagram) {
    var id = ++drawn;
    if (!window.mermaid || !diagram) return;
    window.mermaid.render("preview-svg-" + id, diagram).then(function (result) {
      if (id === drawn) preview.innerHTML = result.svg;
    }).catch(function () { /* keep the last good drawing */ });
  }

  function validate() {
    var mine = ++sequence;
    status.textContent = text("checking");
    status.className = "status";
    fetch(area.getAttribute("data-validate"), {
      method: "POST", credentials: "same-origin",
      // the problems come back in the page's language, as the API says them for Accept-Language
      headers: { "Content-Type": "application/yaml", "X-CSRF-Token": csrf, "Accept-Language": document.documentElement.lang },
      body: area.value
    }).then(function (r) { return r.json(); }).then(function (result) {
      if (mine !== sequence) return;  // a newer check is on its way
      show(result.errors || []);
      if (result.valid) {
        status.textContent = text("valid");
        status.className = "status good";
        draw(result.diagram);
      } else {
        status.textContent = text("errors").replace("{n}", (result.errors || []).length);
        status.className = "status bad";
      }
    }).catch(function () { status.className = "status"; status.textContent = ""; });
  }

  area.addEventListener("input", function () {
    numberLines();
    clearTimeout(timer);
    timer = setTimeout(validate, 350);
  });
  area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
  // Tab indents (YAML has no tabs: two spaces) instead of leaving the editor.
  area.addEventListener("keydown", function (ev) {
    if (ev.key === "Tab" && !ev.shiftKey && !ev.ctrlKey && !ev.metaKey) {
      ev.preventDefault();
      area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      area.dispatchEvent(new Event("input"));
    }
  });
  Array.prototype.forEach.call(problems.querySelectorAll("li[data-line]"), function (li) {
    var line = parseInt(li.getAttribute("data-line"), 10);
    bad[line] = (bad[line] ? bad[line] + "; " : "") + li.textContent;
    li.querySelector("a").addEventListener("click", function (ev) { ev.preventDefault(); goTo(line); });
  });
  numberLines();
  if (area.value !== area.defaultValue) validate();  // typed into before this script arrived
})();
