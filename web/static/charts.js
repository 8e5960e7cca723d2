/* The job charts (uPlot), one definition for the live page and the static report:
   GanctlCharts.loss(el, epochs) and GanctlCharts.quality(el, metrics) draw into `el` and return
   {update(rows)}. `epochs`: [{epoch, d_loss, g_loss}], `metrics`: [{epoch, values: {fd, ...}}]. */
(function (root) {
  "use strict";
  var COLOURS = {d_loss: "#1f77b4", g_loss: "#ff7f0e", fd: "#2e7d32", kid: "#6a1b9a"};
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
    var axes = [{label: "epoch"}, {scale: scales[0], label: scales[0] === scales[1] ? title : names[0]}];
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
  root.GanctlCharts = {
    loss: function (el, epochs) { return make(el, "losses", ["d_loss", "g_loss"], ["y", "y"], lossData, epochs); },
    quality: function (el, metrics) { return make(el, "quality (per evaluated epoch)", ["fd", "kid"], ["fd", "kid"], qualityData, metrics); }
  };
})(typeof window !== "undefined" ? window : this);
