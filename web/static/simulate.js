/* The designer's what-if panel: run the draft being edited against recent work, show both columns and the
   work orders whose outcome changes. The figures come from POST /api/v1/processes/simulate. */
(function () {
  "use strict";
  var button = document.getElementById("simulate");
  var area = document.getElementById("yaml");
  if (!button || !area) return;
  var status = document.getElementById("simulate-status");
  var out = document.getElementById("simulate-result");
  var strings = JSON.parse(document.getElementById("simulate-text").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var english = document.documentElement.lang === "en";

  function t(key, values) {
    var text = strings["simulate." + key] || strings[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.split("{" + name + "}").join(values[name]); });
    return text;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function who(recipient) {
    var parts = recipient.split(":");
    if (parts[0] === "role" && strings["role." + parts[1]]) return strings["role." + parts[1]];
    if (parts[0] === "user") return parts[1];
    return strings["simulate.recipient." + recipient] || recipient;
  }

  function status_of(text) {
    return text.split(", ").map(function (s) { return t("status." + s); }).join("、");
  }

  function keyed(rows, key) {
    var map = {};
    rows.forEach(function (row) { map[key(row)] = row; });
    return map;
  }

  /* (label, in force, draft, which is better: "up" or "down" or "") for every figure. */
  function figures(result) {
    var a = result.in_force, b = result.draft, rows = [];
    rows.push([t("orders"), a.orders, b.orders, ""]);
    rows.push([t("not_replayable"), a.not_replayable, b.not_replayable, "down"]);
    var pair = function (list, key) {
      var left = keyed(a[list], key), right = keyed(b[list], key), names = Object.keys(left);
      Object.keys(right).forEach(function (name) { if (names.indexOf(name) < 0) names.push(name); });
      return names.map(function (name) { return [name, left[name], right[name]]; });
    };
    pair("on_time", function (r) { return r.process + "/" + r.timer; }).forEach(function (p) {
      var row = p[1] || p[2], label = row.label ? (english ? row.label.en : row.label.zh) : row.timer;
      var rate = function (r) { return r && r.rate !== null ? (r.rate * 100).toFixed(1) + "%" : "–"; };
      rows.push([t("on_time", { timer: label }), rate(p[1]), rate(p[2]), "up", "on-time-" + row.timer]);
    });
    pair("response", function (r) { return r.process; }).forEach(function (p) {
      var m = function (r, part) { return r && r[part] !== null ? t("minutes", { n: r[part] }) : "–"; };
      rows.push([t("median", { process: p[0] }), m(p[1], "median_minutes"), m(p[2], "median_minutes"), "down"]);
      rows.push([t("p90", { process: p[0] }), m(p[1], "p90_minutes"), m(p[2], "p90_minutes"), "down"]);
    });
    pair("escalations", function (r) { return r.level; }).forEach(function (p) {
      var level = Number(p[0]);
      rows.push([level === 0 ? t("warning") : t("level", { level: level }), p[1] ? p[1].count : 0, p[2] ? p[2].count : 0, "down"]);
    });
    pair("notifications", function (r) { return r.recipient; }).forEach(function (p) {
      rows.push([t("notified", { who: who(p[0]) }), p[1] ? p[1].count : 0, p[2] ? p[2].count : 0, "down"]);
    });
    pair("teams", function (r) { return r.team === null ? "" : r.team; }).forEach(function (p) {
      rows.push([t("team", { team: p[0] || t("no_team") }), p[1] ? p[1].orders : 0, p[2] ? p[2].orders : 0, ""]);
    });
    return rows;
  }

  function number(value) { return parseFloat(String(value)); }

  function show(result) {
    out.innerHTML = "";
    var body = el("tbody");
    figures(result).forEach(function (row) {
      var worse = "", a = number(row[1]), b = number(row[2]);
      if (row[3] && !isNaN(a) && !isNaN(b) && a !== b) worse = (row[3] === "up" ? b < a : b > a) ? "worse" : "better";
      var attrs = row[4] ? { "data-figure": row[4] } : {};
      body.appendChild(el("tr", attrs, [el("th", { scope: "row" }, [row[0]]), el("td", {}, [String(row[1])]),
                                         el("td", { "class": worse }, [String(row[2])])]));
    });
    var head = el("thead", {}, [el("tr", {}, [el("th", {}, [t("figure")]), el("th", {}, [t("in_force")]),
                                               el("th", {}, [t("draft")])])]);
    out.appendChild(el("div", { "class": "table-wrap" }, [el("table", { "class": "compare" }, [head, body])]));
    var changed = result.changed;
    out.appendChild(el("h3", { id: "simulate-changed" }, [changed.count ? t("changed", { n: changed.count }) : t("none_changed")]));
    var labels = {};
    result.in_force.on_time.concat(result.draft.on_time).forEach(function (row) {
      if (row.label) labels[row.process + "/" + row.timer] = english ? row.label.en : row.label.zh;
    });
    var list = el("ul", { "class": "changed" });
    changed.orders.forEach(function (order) {
      var parts = order.timers.map(function (timer) {
        var text = (labels[order.process + "/" + timer.timer] || timer.timer) + "：" + status_of(timer.before) + " → " + status_of(timer.after);
        if (timer.new_levels.length) text += "；" + t("new_levels", { levels: timer.new_levels.join("、") });
        if (timer.dropped_levels.length) text += "；" + t("dropped_levels", { levels: timer.dropped_levels.join("、") });
        return text;
      });
      if (order.team_before !== order.team_after) {
        parts.push(t("team_moved", { before: order.team_before || t("no_team"), after: order.team_after || t("no_team") }));
      }
      list.appendChild(el("li", {}, [el("a", { href: "/orders/" + order.id }, [order.number]), " " + parts.join("；")]));
    });
    if (changed.count > changed.orders.length) list.appendChild(el("li", { "class": "muted" }, [t("more", { n: changed.count - changed.orders.length })]));
    out.appendChild(list);
  }

  button.addEventListener("click", function () {
    status.className = "status";
    status.textContent = t("running");
    button.disabled = true;
    fetch(button.getAttribute("data-simulate"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept-Language": document.documentElement.lang },
      body: JSON.stringify({ yaml: area.value, months: Number(document.getElementById("simulate-months").value),
                             seed: Number(document.getElementById("simulate-seed").value || 0) })
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    }).then(function (answer) {
      button.disabled = false;
      if (!answer.ok) {
        var detail = answer.data.errors && answer.data.errors.length
          ? answer.data.errors.map(function (e) { return (e.line ? e.line + ":" + e.column + " " : "") + (e.message || e.msg || ""); }).join("; ")
          : answer.data.detail;
        status.className = "status bad";
        status.textContent = t("failed", { detail: detail });
        return;
      }
      status.textContent = "";
      show(answer.data);
    }).catch(function () { button.disabled = false; status.className = "status bad"; status.textContent = t("failed", { detail: "" }); });
  });
})();
