// Omni Studio: the little JavaScript the pages need beyond htmx.
// The websocket is a cache of the database: events are numbered, a gap asks
// for everything since the last one seen, and while the socket is down the
// page polls the same fragments over HTTP.
(function () {
  "use strict";

  const POLL_MS = 2000;
  let pollTimer = null;

  function live() {
    return document.getElementById("project-live");
  }

  function seenSeq() {
    const el = live();
    return el ? parseInt(el.dataset.seq || "0", 10) : 0;
  }

  function setSeen(seq) {
    const el = live();
    if (el && seq > seenSeq()) el.dataset.seq = String(seq);
  }

  function setStatus(text, state) {
    const el = document.getElementById("live-status");
    if (el) {
      el.textContent = text;
      el.dataset.state = state;
    }
  }

  function poll() {
    const el = live();
    if (!el) return;
    htmx.ajax("GET", el.dataset.updatesUrl + "?since=" + seenSeq(), { source: el, swap: "none" });
  }

  function startPolling() {
    if (pollTimer === null) {
      pollTimer = window.setInterval(poll, POLL_MS);
      poll();
    }
  }

  function stopPolling() {
    if (pollTimer !== null) {
      window.clearInterval(pollTimer);
      pollTimer = null;
    }
  }

  function seqOf(html) {
    const match = /id="live-seq"[^>]*data-seq="(\d+)"/.exec(html);
    return match ? parseInt(match[1], 10) : null;
  }

  function markCurrent() {
    const panel = document.querySelector("#version-panel[data-version-number]");
    const current = panel ? panel.dataset.versionNumber : null;
    document.querySelectorAll("#version-tree li[data-number]").forEach(function (li) {
      const link = li.querySelector(".node-link");
      if (!link) return;
      const isCurrent = li.dataset.number === current;
      link.classList.toggle("current", isCurrent);
      if (isCurrent) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
  }

  document.addEventListener("htmx:wsOpen", function () {
    stopPolling();
    setStatus("Live", "open");
  });

  document.addEventListener("htmx:wsClose", function () {
    setStatus("Reconnecting… (checking every 2 s)", "polling");
    startPolling();
  });

  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    const seq = seqOf(event.detail.message);
    if (seq === null) return;
    const last = seenSeq();
    if (seq > last + 1) {
      // Missed at least one event: ask for everything since the last seen.
      event.detail.socketWrapper.send(JSON.stringify({ since: last }));
    }
    setSeen(seq);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    // Polling responses carry the same numbered fragments.
    const xhr = event.detail.xhr;
    if (xhr && xhr.responseURL && xhr.responseURL.indexOf("/updates/") !== -1) {
      const seq = seqOf(xhr.responseText);
      if (seq !== null) setSeen(seq);
    }
  });

  document.addEventListener("htmx:afterSettle", markCurrent);
  document.addEventListener("htmx:oobAfterSwap", markCurrent);

  // Edit templates fill the instruction box.
  document.addEventListener("click", function (event) {
    const chip = event.target.closest("[data-fill]");
    if (!chip) return;
    const field = document.querySelector(chip.dataset.fill);
    if (field) {
      field.value = chip.dataset.value;
      field.focus();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    markCurrent();
    if (live() && typeof WebSocket === "undefined") startPolling();
  });
})();
