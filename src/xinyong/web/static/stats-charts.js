// Monitoring charts (/admin/stats, /statistics): each .chart[data-chart] holds {name, unit, months, values};
// Apache ECharts (static/vendor/echarts) draws a line per chart as SVG. A text table sits beside every chart.
(function () {
  "use strict";
  function draw() {
    if (typeof window.echarts === "undefined") { return; }
    document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
      var spec = JSON.parse(el.getAttribute("data-chart"));
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption({
        title: { text: spec.name + "（" + spec.unit + "）", textStyle: { fontSize: 13 } },
        tooltip: { trigger: "axis" },
        grid: { left: 48, right: 16, top: 36, bottom: 28 },
        xAxis: { type: "category", data: spec.months },
        yAxis: { type: "value" },
        series: [{ type: "line", name: spec.name, data: spec.values, connectNulls: false, smooth: false }],
        animation: false
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
