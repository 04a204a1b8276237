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

  let heartbeat = null;

  document.addEventListener("htmx:wsOpen", function (event) {
    stopPolling();
    setStatus("Live", "open");
    // Keeps this page on the "viewing now" list.
    const socket = event.detail.socketWrapper;
    if (heartbeat !== null) window.clearInterval(heartbeat);
    heartbeat = window.setInterval(function () {
      socket.send(JSON.stringify({ heartbeat: 1 }));
    }, 30000);
  });

  document.addEventListener("htmx:wsClose", function () {
    if (heartbeat !== null) window.clearInterval(heartbeat);
    heartbeat = null;
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

  // When the version on screen finishes, fetch its whole panel again: the
  // player, the edit box and the review tools appear without a reload.
  const FINISHED = new Set(["ready", "failed", "blocked", "cancelled", "reconcile"]);
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    // The event fires on each swapped-in element; detail.target is the
    // element that received them.
    const target = event.detail && event.detail.target;
    if (!target || !target.id || target.id.indexOf("status-") !== 0) return;
    const panel = document.getElementById("version-panel");
    if (!panel || panel.dataset.versionId !== target.id.slice("status-".length)) return;
    const badge = target.querySelector("[data-status]");
    if (!badge || badge.dataset.status === panel.dataset.status) return;
    panel.dataset.status = badge.dataset.status;
    if (FINISHED.has(badge.dataset.status)) {
      htmx.ajax("GET", panel.dataset.url, { target: "#version-panel", swap: "outerHTML" });
    }
  });

  // Comments and markers seek the player; "use the player's time" fills
  // the comment's timecode, and pausing fills it when it is empty.
  document.addEventListener("click", function (event) {
    const seek = event.target.closest("[data-seek]");
    if (seek) {
      const player = document.getElementById(seek.dataset.player);
      if (player) {
        player.currentTime = parseFloat(seek.dataset.seek);
        player.focus();
      }
      return;
    }
    const useTime = event.target.closest(".use-current-time");
    if (useTime) {
      const player = document.getElementById(useTime.dataset.player);
      const form = useTime.closest("form");
      if (player && form) form.querySelector(".comment-start").value = player.currentTime.toFixed(1);
    }
  });

  document.addEventListener("pause", function (event) {
    const player = event.target;
    if (!(player instanceof HTMLVideoElement) || !player.id) return;
    const form = document.querySelector('.comment-form[data-player="' + player.id + '"]');
    const start = form && form.querySelector(".comment-start");
    if (start && !start.value) start.value = player.currentTime.toFixed(1);
  }, true);

  // Keyboard: on a focused player, k plays and pauses (space already does,
  // through the browser's own controls); j and l step back and forward.
  document.addEventListener("keydown", function (event) {
    const player = event.target;
    if (!(player instanceof HTMLVideoElement)) return;
    if (event.key === "k") {
      event.preventDefault();
      if (player.paused) player.play(); else player.pause();
    } else if (event.key === "j" || event.key === "l") {
      player.currentTime = Math.max(0, player.currentTime + (event.key === "l" ? 1 : -1));
    }
  });

  // Compare: the players play, pause and seek together.
  function syncPlayers() {
    const players = Array.from(document.querySelectorAll("video[data-sync]"));
    if (players.length < 2) return;
    const scrub = document.getElementById("sync-scrub");
    const shown = document.getElementById("sync-time");
    const button = document.getElementById("sync-play");
    let following = false;
    function others(source) { return players.filter(function (p) { return p !== source; }); }
    function longest() { return Math.max.apply(null, players.map(function (p) { return p.duration || 0; })); }
    players.forEach(function (player) {
      player.addEventListener("play", function () {
        if (following) return;
        following = true;
        others(player).forEach(function (p) { p.currentTime = player.currentTime; p.play(); });
        following = false;
        if (button) button.textContent = "Pause both";
      });
      player.addEventListener("pause", function () {
        if (following) return;
        following = true;
        others(player).forEach(function (p) { p.pause(); p.currentTime = player.currentTime; });
        following = false;
        if (button) button.textContent = "Play both";
      });
      player.addEventListener("seeked", function () {
        if (following) return;
        following = true;
        others(player).forEach(function (p) {
          if (Math.abs(p.currentTime - player.currentTime) > 0.05) p.currentTime = player.currentTime;
        });
        following = false;
      });
      player.addEventListener("timeupdate", function () {
        const total = longest();
        if (scrub && total) scrub.value = String(Math.round(player.currentTime / total * 1000));
        if (shown) shown.textContent = player.currentTime.toFixed(1) + " s";
      });
    });
    if (button) {
      button.addEventListener("click", function () {
        if (players[0].paused) players[0].play(); else players[0].pause();
      });
    }
    if (scrub) {
      scrub.addEventListener("input", function () {
        const time = parseInt(scrub.value, 10) / 1000 * longest();
        players.forEach(function (p) { p.currentTime = time; });
        if (shown) shown.textContent = time.toFixed(1) + " s";
      });
    }
  }

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
    syncPlayers();
    if (live() && typeof WebSocket === "undefined") startPolling();
  });
})();
