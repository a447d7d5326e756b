// Draws the statistics page's charts with the vendored Chart.js; the tables beside them hold the same numbers.
(function () {
  const source = document.getElementById("stats-data");
  if (!source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const common = {
    responsive: true,
    maintainAspectRatio: false,
    // No animation: figures are read, not watched (and a screenshot never catches a bar half-grown).
    animation: false,
    scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
  };
  function draw(id, type, labels, datasets) {
    const canvas = document.getElementById(id);
    if (canvas) new window.Chart(canvas, { type, data: { labels, datasets }, options: common });
  }
  draw("chart-days", "bar", data.days, [
    { label: "Conversations", data: data.conversations, borderColor: "#0b4f9c", backgroundColor: "#0b4f9c" },
    { label: "Messages", data: data.messages, borderColor: "#b35900", backgroundColor: "#b35900" },
  ]);
  draw("chart-channels", "bar", data.channels, [
    { label: "Messages", data: data.channel_messages, backgroundColor: "#0b4f9c" },
  ]);
  draw("chart-intents", "bar", data.intents, [
    { label: "Messages", data: data.intent_counts, backgroundColor: "#0f5e2e" },
  ]);
})();
