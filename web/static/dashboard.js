/* The dashboard's pages: each opens one EventSource and redraws from the whole state it sends.
   Text from jobs is set with textContent only (never innerHTML). The token comes from the URL that
   `ganctl ui` printed (?token=...), is kept in localStorage, and goes in the X-Ganctl-Token header. */
(function () {
  "use strict";
  var KEY = "ganctl-token";
  var params = new URLSearchParams(location.search);
  if (params.get("token")) {
    localStorage.setItem(KEY, params.get("token"));
    params.delete("token");
    history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : ""));
  }
  function token() { return localStorage.getItem(KEY) || ""; }
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function num(v, digits) { return typeof v === "number" ? v.toFixed(digits === undefined ? 4 : digits) : "-"; }
  // A stored time in this browser's time zone, as `ganctl list` prints it in the terminal's.
  function when(iso) {
    if (!iso) return "-";
    var d = new Date(iso), two = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
      two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  }
  function link(href, text) { var a = el("a", text); a.href = href; return a; }
  function human(n) {
    var u = ["B", "KiB", "MiB", "GiB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + u[i];
  }

  function listen(url, onState) {
    var live = $("live");
    var source = null;
    function open() {
      live.textContent = "connecting…";  // only pages that listen say so (an error page does not)
      source = new EventSource(url);  // reconnects by itself after a broken stream
      source.addEventListener("open", function () { live.textContent = "live"; live.className = "ok"; });
      source.addEventListener("error", function () { live.textContent = "reconnecting…"; live.className = "muted"; });
      source.addEventListener("state", function (ev) { onState(JSON.parse(ev.data)); });
      source.addEventListener("problem", function (ev) { live.textContent = JSON.parse(ev.data).error; });
    }
    // Leaving the page closes its stream: a page kept for the back button held its connection, and
    // a browser opens at most six to one server (the seventh page of a visit hung). Back: reopened.
    window.addEventListener("pagehide", function () { source.close(); });
    window.addEventListener("pageshow", function (ev) { if (ev.persisted) open(); });
    open();
  }
  function showToken(why) {
    var t = $("token-state");
    if (t) t.textContent = why || (token() ? "token set: actions enabled"
                                            : "no token: read-only (open the URL `ganctl ui` printed)");
  }

  function post(path, body) {
    return fetch(path, {method: "POST", headers: {"Content-Type": "application/json", "X-Ganctl-Token": token()},
                        body: JSON.stringify(body || {})})
      .then(function (r) {
        return r.json().then(function (d) {
          if (r.status === 403 && token() && /needs the token/.test(d.error || "")) {
            // Each `ganctl ui` start makes a new token: the one kept from before a restart is stale.
            localStorage.removeItem(KEY);
            showToken("token refused (a restarted `ganctl ui` prints a new one): open the URL it printed");
          }
          return {ok: r.ok, data: d};
        });
      });
  }

  function row(cells) {
    var tr = el("tr");
    cells.forEach(function (c) {
      var td = el("td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c;
      tr.appendChild(td);
    });
    return tr;
  }

  function lineage(l) {
    var body = document.querySelector("#lineage tbody");
    body.replaceChildren();
    function add(name, cell) { var tr = row([name, cell]); tr.dataset.row = name; body.appendChild(tr); }
    function jobLink(id, before, after) {
      var s = el("span", before);
      s.appendChild(link("/jobs/" + id, id.slice(0, 8)));
      s.appendChild(document.createTextNode(after));
      return s;
    }
    var p = l.parent;
    if (p) add("parent", jobLink(p.id, (p.kind === "extend" ? "extends " : "forked from "),
                                 " at epoch " + p.start_epoch + " (epochs " + (p.start_epoch + 1) + ".. are this job's)"));
    l.carried_on.forEach(function (c) {
      add("carried on", jobLink(c.id, c.kind + " ", " from epoch " + c.start_epoch + " (" + c.status + ")"));
    });
    if (l.sweep_id) add("sweep", link("/sweeps/" + l.sweep_id, l.sweep_id.slice(0, 8)));
    if (l.tags.length) add("tags", l.tags.join(", "));
    if (l.best_epoch) add("best epoch", l.best_epoch.epoch + " (FD " + num(l.best_epoch.fd, 2) + ")");
    if (!body.children.length) body.appendChild(row(["no parent, extensions, sweep or tags"]));
  }

  window.Dashboard = {
    sweepsPage: function () {
      showToken();
      listen("/events/sweeps" + location.search, function (sweeps) {
        var body = document.querySelector("#sweeps tbody");
        body.replaceChildren();
        sweeps.forEach(function (w) {
          var swept = Object.keys(w.sets).map(function (k) { return k + "=" + w.sets[k].join(","); }).join(" ");
          var counts = w.states.map(function (p) { return p[1] + " " + p[0]; }).join(", ");
          var jobs = counts ? w.jobs + ": " + counts : String(w.jobs);
          var best = el("span", w.best ? num(w.best.fd, 1) + " (" : "-");
          if (w.best) {
            best.appendChild(link("/jobs/" + w.best.job, w.best.job.slice(0, 8)));
            best.appendChild(document.createTextNode(", epoch " + w.best.epoch + ")"));
          }
          var tr = row([link("/sweeps/" + w.id, w.id.slice(0, 8)), when(w.created_at), w.state, w.arch || "-",
                        w.epochs || "-", swept + (w.random ? " (" + w.random + " drawn)" : ""), jobs, best]);
          tr.dataset.id = w.id;
          tr.children[2].className = "status-" + ({finished: "completed", cancelling: "cancelled"}[w.state] || w.state);
          body.appendChild(tr);
        });
        $("empty").hidden = sweeps.length > 0;
      });
    },

    sweepPage: function (id, keys) {
      showToken();
      $("cancel").addEventListener("click", function () {
        $("action-result").textContent = "cancel…";
        post("/api/sweeps/" + id + "/cancel").then(function (r) {
          var out = $("action-result");
          out.textContent = r.ok ? r.data.text : "refused: " + r.data.error;
          out.className = r.ok ? "ok" : "error";
        });
      });
      var plots = {};
      var titles = {fd: "FD (lower is better)", g_loss: "g_loss", d_loss: "d_loss"};
      listen("/events/sweeps/" + id, function (s) {
        $("sweep-state").textContent = s.state;
        $("cancel").disabled = s.state !== "running";
        var body = document.querySelector("#ranking tbody");
        body.replaceChildren();
        s.jobs.forEach(function (r) {
          var tr = row([r.rank, link("/jobs/" + r.job, r.job.slice(0, 8))].concat(
            keys.map(function (k) { return r.config_text[k]; }),
            [r.state, r.epochs + "/" + (r.total_epochs || "?"), num(r.best_fd, 1),
             r.best_epoch === null ? "-" : r.best_epoch, r.reason || ""]));
          tr.dataset.id = r.job;
          tr.dataset.status = r.state;
          tr.children[keys.length + 2].className = "status-" + r.state;
          body.appendChild(tr);
        });
        Object.keys(titles).forEach(function (k) {  // overlay() draws once: redraw on new data
          if (plots[k]) { plots[k].destroy(); $(k + "-chart").replaceChildren(); }
          plots[k] = GanctlCharts.overlay($(k + "-chart"), titles[k], s.curves[k]);
        });
      });
    },


    comparePage: function (ids, keys) {
      showToken();
      var plots = {};
      var titles = {fd: "FD (lower is better)", g_loss: "g_loss", d_loss: "d_loss"};
      listen("/events/compare?ids=" + ids.join(","), function (v) {
        var body = document.querySelector("#compare tbody");
        body.replaceChildren();
        v.jobs.forEach(function (r) {
          var best = num(r.best_fd, 1) + (r.best_epoch === null ? "" : " (epoch " + r.best_epoch + ")");
          var tr = row([link("/jobs/" + r.id, r.id.slice(0, 8)), r.status].concat(
            keys.map(function (k) { return r.options_text[k]; }),
            [r.epochs + "/" + (r.total_epochs || "?"), num(r.fd, 1), best, num(r.kid), num(r.recall), num(r.seconds, 0)]));
          tr.dataset.id = r.id;
          body.appendChild(tr);
        });
        Object.keys(titles).forEach(function (k) {  // overlay() draws once: redraw on new data
          if (plots[k]) { plots[k].destroy(); $(k + "-chart").replaceChildren(); }
          plots[k] = GanctlCharts.overlay($(k + "-chart"), titles[k], v.curves[k]);
        });
        var grids = $("compare-grids");
        grids.replaceChildren();
        if (!v.grids.length) grids.appendChild(el("p", "no epoch has a grid in every job yet"));
        v.grids.forEach(function (g) {
          grids.appendChild(el("h3", "epoch " + g.epoch));
          var box = el("div"); box.className = "grids"; box.dataset.epoch = g.epoch;
          g.jobs.forEach(function (j) {
            var fig = el("figure"), img = el("img");
            img.className = "epoch-grid"; img.alt = j.label + ", epoch " + g.epoch; img.dataset.job = j.id;
            if (j.url) img.src = j.url;
            fig.appendChild(img); fig.appendChild(el("figcaption", j.label)); box.appendChild(fig);
          });
          grids.appendChild(box);
        });
      });
    },

    jobsPage: function () {
      showToken();
      var picked = {};  // job id -> ticked for compare (kept across the stream's redraws)
      function ticked() { return Object.keys(picked).filter(function (k) { return picked[k]; }); }
      function pickBox(id) {
        var cb = el("input"); cb.type = "checkbox"; cb.className = "pick"; cb.dataset.id = id;
        cb.checked = !!picked[id];
        cb.addEventListener("change", function () {
          picked[id] = cb.checked;
          $("compare-picked").disabled = ticked().length < 2;
        });
        return cb;
      }
      $("compare-picked").addEventListener("click", function () { location.href = "/compare?ids=" + ticked().join(","); });
      listen("/events/jobs" + location.search, function (jobs) {
        var body = document.querySelector("#jobs tbody");
        body.replaceChildren();
        jobs.forEach(function (j) {
          var fd = num(j.fd, 1) + (j.collapse ? " !" : "");
          var state = j.status + (j.status === "stopped" && j.error ? ": " + j.error : "");
          var tr = row([link("/jobs/" + j.id, j.id.slice(0, 8)), j.kind, state,
                        j.kind === "train" ? (j.spec.arch || "-") : "-",
                        j.kind === "train" ? j.epochs_done + "/" + (j.total_epochs || "?") : "-",
                        num(j.d_loss), num(j.g_loss), fd, j.worker ? j.worker + " (" + j.gpu + ")" : "-",
                        when(j.created_at), (j.tags || []).join(", "),
                        j.kind === "train" ? pickBox(j.id) : ""]);
          tr.dataset.id = j.id;
          tr.dataset.status = j.status;
          tr.children[2].className = "status-" + j.status;
          if (j.collapse) tr.children[7].className = "warning";
          body.appendChild(tr);
        });
        $("empty").hidden = jobs.length > 0;
      });
    },

    workersPage: function () {
      showToken();
      listen("/events/workers", function (workers) {
        var body = document.querySelector("#workers tbody");
        body.replaceChildren();
        workers.forEach(function (w) {
          body.appendChild(row([w.name, w.host, w.pid, w.device, w.queues.join(","), when(w.started_at),
                                when(w.heartbeat_at), w.current_job ? link("/jobs/" + w.current_job, w.current_job.slice(0, 8)) : "-"]));
        });
        $("empty").hidden = workers.length > 0;
      });
    },

    jobPage: function (id) {
      showToken();
      var charts = null, grids = [], follow = true;
      var slider = $("grid-slider");
      function showGrid(i) {
        var g = grids[i];
        if (!g) return;
        $("grid").src = g.url;
        $("grid").dataset.epoch = g.epoch;
        $("grid-caption").textContent = "epoch " + g.epoch + (i === grids.length - 1 ? " (latest)" : "");
        $("slider-epoch").textContent = "epoch " + g.epoch + " of " + grids.length + " grids";
      }
      if (slider) slider.addEventListener("input", function () {
        follow = Number(slider.value) === grids.length - 1;
        showGrid(Number(slider.value));
      });
      function act(what, body) {
        $("action-result").textContent = what + "…";
        post("/api/jobs/" + id + "/" + what, body).then(function (r) {
          var out = $("action-result");
          out.textContent = r.ok ? (what === "cancel" ? "cancel: " + r.data.status
            : what + " job " + r.data.id.slice(0, 8) + " queued ") : "refused: " + r.data.error;
          out.className = r.ok ? "ok" : "error";
          if (r.ok && what !== "cancel") {  // the new job's page
            var a = document.createElement("a");
            a.href = "/jobs/" + r.data.id; a.id = "new-job"; a.textContent = "open it";
            out.appendChild(a);
          }
        });
      }
      // A field as typed: a number where it reads as one, else the text, which the server refuses by
      // name (Number("abc") is NaN, which JSON sends as null: the option would be silently dropped).
      function field(name) {
        var text = $(name).value.trim(), n = Number(text);
        return text !== "" && isFinite(n) ? n : text;
      }
      function forkBody() {
        var body = {};
        ["epoch", "epochs", "lr_g"].forEach(function (key) {
          var value = field("fork-" + key.replace("_", "-"));
          if (value !== "") body[key] = value;
        });
        return body;
      }
      $("cancel").addEventListener("click", function () { act("cancel"); });
      $("sample").addEventListener("click", function () { act("sample", {n: field("sample-n")}); });
      $("eval").addEventListener("click", function () { act("eval", {n: field("eval-n")}); });
      $("extend").addEventListener("click", function () { act("extend", {epochs: field("extend-epochs")}); });
      $("fork").addEventListener("click", function () { act("fork", forkBody()); });

      listen("/events/jobs/" + id, function (j) {
        var status = j.status + (j.cancel_requested && j.status === "running" ? " (cancel requested)" : "");
        $("status").textContent = status;
        $("status").className = "status status-" + j.status;
        $("epochs-done").textContent = j.epochs_done;
        ["created_at", "started_at", "finished_at"].forEach(function (k) { $(k.replace("_", "-")).textContent = when(j[k]); });
        $("worker").textContent = j.worker ? j.worker + " (" + j.gpu + ")" : "-";
        $("collapse").hidden = !j.collapse_text;
        $("collapse").textContent = j.collapse_text ? "warning: " + j.collapse_text : "";
        $("error").hidden = !j.error;
        $("error").textContent = j.error || "";
        var done = ["completed", "failed", "cancelled", "stopped"].indexOf(j.status) >= 0;
        if (j.lineage) lineage(j.lineage);
        $("cancel").disabled = done;
        $("sample").disabled = $("eval").disabled = j.kind !== "train" || j.status !== "completed";
        $("extend").disabled = $("fork").disabled =
          j.kind !== "train" || ["completed", "cancelled", "failed"].indexOf(j.status) < 0;
        if (j.kind === "train") {
          if (!charts) charts = {loss: GanctlCharts.loss($("loss-chart"), j.epochs),
                                 quality: GanctlCharts.quality($("quality-chart"), j.metrics)};
          else { charts.loss.update(j.epochs); charts.quality.update(j.metrics); }
          grids = j.grids.filter(function (g) { return g.url; });
          slider.max = Math.max(grids.length - 1, 0);
          slider.disabled = grids.length < 2;
          if (follow) slider.value = slider.max;
          showGrid(Number(slider.value));
          var q = document.querySelector("#quality tbody");
          q.replaceChildren();
          if (j.quality) {
            q.appendChild(row(["epoch", j.quality.epoch === null ? "on demand" : j.quality.epoch]));
            Object.keys(j.quality.values).sort().forEach(function (k) {
              var v = j.quality.values[k];
              q.appendChild(row([k, Number.isInteger(v) ? String(v) : typeof v === "number" ? num(v) : JSON.stringify(v)]));
            });
          } else q.appendChild(row(["no quality figures yet (--eval-every, or eval below)"]));
          var kids = $("children");
          kids.replaceChildren();
          // extensions and forks are in the lineage above: here the sample and eval jobs
          var made = j.children.filter(function (c) { return c.kind !== "train"; });
          if (!made.length) kids.appendChild(el("p", "none yet (sample or eval above)", "muted"));
          made.forEach(function (c) {
            var f = el("figure");
            f.dataset.id = c.id;
            f.dataset.status = c.status;
            if (c.grid_url) { var img = el("img", null, "child-grid"); img.src = c.grid_url; img.alt = c.kind + " grid"; f.appendChild(img); }
            var cap = el("figcaption");
            cap.appendChild(link("/jobs/" + c.id, c.kind + " " + c.id.slice(0, 8)));
            cap.appendChild(document.createTextNode(" " + c.status +
              (c.kind === "eval" && c.result && typeof c.result.fd === "number" ? ", FD " + num(c.result.fd, 1) : "")));
            f.appendChild(cap);
            kids.appendChild(f);
          });
        } else {
          if (j.grid_url) { $("sample-grid").src = j.grid_url; $("sample-grid").hidden = false; }
          $("result").textContent = j.result ? JSON.stringify(j.result, null, 1) : "";
        }
        var a = document.querySelector("#artifacts tbody");
        a.replaceChildren();
        j.artifacts.forEach(function (x) {
          a.appendChild(row([x.format, x.url ? link(x.url, x.path.split("/").pop()) : x.path, human(x.bytes), el("code", x.sha256)]));
        });
      });
    }
  };
})();
