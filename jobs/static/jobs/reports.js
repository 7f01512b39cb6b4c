// The reports page: rows follow their job's live messages (realtime/static/realtime/live.js
// turns `job.progress` and `job.done` into `live:job` events). A job started in another tab
// has no row here yet: the page shows it on the next load.
(function () {
  "use strict";
  document.addEventListener("live:job", function (event) {
    var message = event.detail;
    var row = document.querySelector('[data-job-id="' + message.job_id + '"]');
    if (!row) return;
    var status = row.querySelector('[data-job="status"]');
    var progress = row.querySelector('[data-job="progress"]');
    var link = row.querySelector('[data-job="link"]');
    if (message.type === "job.progress") {
      status.textContent = "Running";
      progress.value = message.percent;
      progress.textContent = message.percent + "%";
      return;
    }
    status.textContent = message.ok ? "Done" : "Failed";
    if (message.ok) {
      progress.value = 100;
      var anchor = document.createElement("a");
      anchor.href = message.url;
      anchor.textContent = "Download";
      link.replaceChildren(anchor);
    }
  });
})();
