/* The job charts (uPlot), one definition for the live page, the static report and compare's page:
   GanctlCharts.loss(el, epochs) and GanctlCharts.quality(el, metrics) draw into `el` and return
   {update(rows)}. `epochs`: [{epoch, d_loss, g_loss}], `metrics`: [{epoch, values: {fd, ...}}].
   GanctlCharts.overlay(el, title, runs) draws one line per run: runs = [{label, points: [[x, y]]}]. */
(function (root) {
  "use strict";
  var COLOURS = {d_loss: "#1f77b4", g_loss: "#ff7f0e", fd: "#2e7d32", kid: "#6a1b9a"};
  // whole epochs only on the x axis (uPlot would tick 1.25, 1.5, ...)
  function epochAxis() { return {label: "epoch", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]}; }
  function finite(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function lossData(epochs) {
    return [epochs.map(function (e) { return e.epoch; }), epochs.map(function (e) { return finite(e.d_loss); }),
            epochs.map(function (e) { return finite(e.g_loss); })];
  }
  function qualityData(metrics) {
    var rows = metrics.filter(function (m) { return m.epoch !== null && m.epoch !== undefined; });
    return [rows.map(function (m) { return m.epoch; }), rows.map(function (m) { return finite(m.values.fd); }),
            rows.map(function (m) { return finite(m.values.kid); })];
  }
  function chart(el, title, names, scales, data) {
    var series = [{label: "epoch"}].concat(names.map(function (n, i) {
      return {label: n, stroke: COLOURS[n], width: 2, scale: scales[i], points: {show: true, size: 6}};
    }));
    var axes = [epochAxis(), {scale: scales[0], label: scales[0] === scales[1] ? title : names[0]}];
    if (scales[1] !== scales[0]) axes.push({scale: scales[1], side: 1, label: names[1], grid: {show: false}});
    var opts = {title: title, width: 540, height: 280, series: series, axes: axes,
                scales: {x: {time: false}}};
    var plot = new root.uPlot(opts, data, el);
    el.dataset.points = String(data[0].length);
    return plot;
  }
  function make(el, title, names, scales, toData, rows) {
    var plot = chart(el, title, names, scales, toData(rows));
    return {plot: plot, update: function (next) {
      var d = toData(next);
      plot.setData(d);
      el.dataset.points = String(d[0].length);
    }};
  }
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
  function overlay(el, title, runs) {
    // uPlot wants one shared x array: the union of the runs' epochs, null where a run has none.
    var xs = [];
    runs.forEach(function (r) { r.points.forEach(function (p) { if (xs.indexOf(p[0]) < 0) xs.push(p[0]); }); });
    xs.sort(function (a, b) { return a - b; });
    var data = [xs].concat(runs.map(function (r) {
      var at = {};
      r.points.forEach(function (p) { at[p[0]] = finite(p[1]); });
      return xs.map(function (x) { return at.hasOwnProperty(x) ? at[x] : null; });
    }));
    var series = [{label: "epoch"}].concat(runs.map(function (r, i) {
      return {label: r.label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true,
              points: {show: true, size: 6}};
    }));
    var plot = new root.uPlot({title: title, width: 540, height: 280, series: series,
                               axes: [epochAxis(), {label: title}], scales: {x: {time: false}}}, data, el);
    el.dataset.points = String(xs.length);
    el.dataset.series = String(runs.length);
    return plot;
  }
  root.GanctlCharts = {
    overlay: overlay,
    loss: function (el, epochs) { return make(el, "losses", ["d_loss", "g_loss"], ["y", "y"], lossData, epochs); },
    quality: function (el, metrics) { return make(el, "quality (per evaluated epoch)", ["fd", "kid"], ["fd", "kid"], qualityData, metrics); }
  };
})(typeof window !== "undefined" ? window : this);
