// Omni Studio: the little JavaScript the pages need beyond htmx.
//
// The websocket is a cache of the database. Events are numbered: a message
// says which numbers it covers, a heartbeat says the latest, and a gap asks
// the server for everything since the last one seen. A socket that closes, or
// goes quiet for longer than a few heartbeats, is replaced by polling the
// same fragments over HTTP until it is healthy again.
(function () {
  "use strict";

  const POLL_MS = 2000;
  // The server sends a heartbeat every 10 s; this much silence means the
  // socket is broken though still open (the page says how long it waits).
  function silentMs() {
    const el = live();
    return el ? parseInt(el.dataset.silentMs || "25000", 10) : 25000;
  }
  const WATCH_MS = 1000;
  let pollTimer = null;
  let lastHeard = Date.now();
  let socketOpen = false;
  let socket = null;
  // Set while a silent socket is being replaced: its close is expected.
  let replacingSilent = false;
  const PAUSED = "Live updates paused (checking every 2 s)";

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

  function selectedNumber() {
    const panel = document.querySelector("#version-panel[data-version-number]");
    return panel ? panel.dataset.versionNumber : "";
  }

  function setStatus(text, state) {
    const el = document.getElementById("live-status");
    if (el) {
      el.textContent = text;
      el.dataset.state = state;
    }
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  // Every form that posts carries the page's CSRF token, including forms
  // that arrived in a live fragment (rendered without a request, so with no
  // token of their own). htmx requests carry it as a header already.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") return;
    let field = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "csrfmiddlewaretoken";
      form.appendChild(field);
    }
    if (!field.value) field.value = csrfToken();
  }, true);

  // Polling: the fallback while the socket is down or silent.

  function poll() {
    const el = live();
    if (!el) return;
    const url = el.dataset.updatesUrl + "?since=" + seenSeq();
    htmx.ajax("GET", url, { source: el, swap: "none" });
  }

  function startPolling(reason) {
    setStatus(reason, "polling");
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

  function heard() {
    // A message proves a socket is open (a replaced one may close after its
    // successor opened).
    lastHeard = Date.now();
    socketOpen = true;
    stopPolling();
    setStatus("Live", "open");
  }

  function askSince() {
    if (socket) socket.send(JSON.stringify({ since: seenSeq() }));
  }

  window.setInterval(function () {
    if (!live()) return;
    if (socketOpen && Date.now() - lastHeard > silentMs()) {
      startPolling(PAUSED);
      replacingSilent = true;
      lastHeard = Date.now();
      if (socket) socket.reconnect();
    }
  }, WATCH_MS);

  document.addEventListener("htmx:wsOpen", function (event) {
    socket = event.detail.socketWrapper;
    socketOpen = true;
    // Live once the studio is heard (it says the latest number at once), not
    // merely once the socket opens: an open socket can be a silent one.
    lastHeard = Date.now();
    // Whatever happened since the page (or the last message) was drawn.
    askSince();
  });

  document.addEventListener("htmx:wsClose", function (event) {
    socketOpen = false;
    const code = event.detail.event ? event.detail.event.code : 0;
    if (code === 4401 || code === 4403 || code === 4404 || code === 4000) {
      // Signed out, removed, gone, or a new role: the page itself changes.
      stopPolling();
      setStatus(code === 4000 ? "Your role changed: reloading…" : "No longer available", "closed");
      window.location.reload();
      return;
    }
    if (replacingSilent) {
      replacingSilent = false;
      startPolling(PAUSED);
      return;
    }
    startPolling("Reconnecting… (checking every 2 s)");
    if (code !== 1006 && code !== 1011 && code !== 1012 && code !== 1013 && socket) {
      // The extension only retries abnormal closes; retry the others too.
      window.setTimeout(function () { socket.reconnect(); }, 2000);
    }
  });

  function coverage(html) {
    const match = /id="live-seq"[^>]*data-seq="(\d+)"[^>]*data-first="(\d+)"/.exec(html);
    return match ? { last: parseInt(match[1], 10), first: parseInt(match[2], 10) } : null;
  }

  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    heard();
    const message = event.detail.message;
    if (message.charAt(0) === "{") {
      // A heartbeat: the latest event number, for spotting what was missed.
      event.preventDefault();
      const data = JSON.parse(message);
      if (data.heartbeat > seenSeq()) askSince();
      return;
    }
    const covers = coverage(message);
    if (covers === null) return;
    if (covers.first > seenSeq() + 1) askSince();
    setSeen(covers.last);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    // Polling responses carry the same numbered fragments.
    const xhr = event.detail.xhr;
    if (xhr && xhr.responseURL && xhr.responseURL.indexOf("/updates/") !== -1) {
      const covers = coverage(xhr.responseText);
      if (covers !== null) setSeen(covers.last);
    }
  });

  // After anything is swapped in.

  function revealOwnControls(root) {
    const el = live();
    const me = el ? el.dataset.userId : "";
    if (!me) return;
    (root || document).querySelectorAll('.own-only[hidden][data-author="' + me + '"]').forEach(
      function (own) { own.hidden = false; }
    );
  }

  function markCurrent() {
    const current = selectedNumber();
    document.querySelectorAll("#version-tree li[data-number]").forEach(function (item) {
      const link = item.querySelector(":scope > .node-row .node-link");
      const isCurrent = item.dataset.number === current;
      if (link) {
        link.classList.toggle("current", isCurrent);
        if (isCurrent) link.setAttribute("aria-current", "true");
        else link.removeAttribute("aria-current");
      }
      if (isCurrent) item.setAttribute("aria-selected", "true");
      else item.removeAttribute("aria-selected");
    });
  }

  function afterSwap() {
    revealOwnControls();
    markCurrent();
    const seq = document.querySelector("#live-seq[data-reload]");
    if (seq) {
      // Too much changed to send piece by piece: draw the tree and panel again.
      seq.removeAttribute("data-reload");
      const url = window.location.pathname;
      htmx.ajax("GET", url, { target: "#version-tree", select: "#version-tree", swap: "outerHTML" });
      htmx.ajax("GET", url, { target: "#version-panel", swap: "outerHTML" });
    }
  }

  document.addEventListener("htmx:afterSettle", afterSwap);

  // After Generate, Make the edit or Extend the studio goes to the new version: show
  // it, with its progress, and put the focus there.
  let showNewVersion = false;
  document.addEventListener("htmx:afterRequest", function (event) {
    const form = event.detail.elt;
    const xhr = event.detail.xhr;
    const creates = ["composer", "edit-form", "extend-form"];
    if (form && creates.includes(form.id) && xhr &&
        xhr.getResponseHeader("HX-Location")) {
      showNewVersion = true;
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!showNewVersion) return;
    const panel = document.getElementById("version-panel");
    if (!panel || !panel.dataset.versionNumber) return;
    showNewVersion = false;
    panel.scrollIntoView({ block: "start" });
    panel.focus({ preventScroll: true });
  });
  document.addEventListener("htmx:wsAfterMessage", afterSwap);

  // When the version on screen finishes, fetch its whole panel again: the
  // player, the edit box and the review tools appear without a reload.
  const FINISHED = new Set(["ready", "failed", "blocked", "cancelled", "reconcile"]);
  document.addEventListener("htmx:oobAfterSwap", function (event) {
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

  // The version tree: expand and collapse on demand, load more, and move
  // around by keyboard as a tree (one tab stop; arrows, Home, End, Enter).

  function treeItems() {
    return Array.from(document.querySelectorAll("#version-tree [role=treeitem]")).filter(
      function (item) { return item.offsetParent !== null; }
    );
  }

  function focusItem(item) {
    if (!item) return;
    document.querySelectorAll("#version-tree [role=treeitem][tabindex='0']").forEach(
      function (other) { other.setAttribute("tabindex", "-1"); }
    );
    item.setAttribute("tabindex", "0");
    item.focus();
  }

  function groupOf(item) {
    return item.querySelector(":scope > ul[role=group]");
  }

  function setExpanded(item, expanded) {
    const group = groupOf(item);
    if (!group) return;
    if (expanded && group.dataset.loaded !== "true") {
      const toggle = item.querySelector(":scope > .node-row [data-toggle]");
      if (toggle) {
        group.dataset.loaded = "true";
        htmx.ajax("GET", toggle.dataset.url, { target: group, swap: "innerHTML" });
      }
    }
    group.hidden = !expanded;
    item.setAttribute("aria-expanded", expanded ? "true" : "false");
  }

  // Files chosen in the composer outlive the composer being drawn again
  // (another engine or template, or its errors): the inputs holding them
  // move into the new form, taking on its error marks.
  let chosenFiles = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    chosenFiles = target && target.id === "composer"
      ? Array.from(target.querySelectorAll("input[type=file]")).filter(
          function (input) { return input.files && input.files.length; })
      : [];
  });
  document.addEventListener("htmx:afterSwap", function () {
    const composer = document.getElementById("composer");
    if (!composer || !chosenFiles.length) return;
    chosenFiles.forEach(function (chosen) {
      const fresh = composer.querySelector('input[type=file][name="' + chosen.name + '"]');
      if (!fresh || fresh === chosen) return;
      ["aria-invalid", "aria-describedby", "accept"].forEach(function (name) {
        if (fresh.hasAttribute(name)) chosen.setAttribute(name, fresh.getAttribute(name));
        else chosen.removeAttribute(name);
      });
      fresh.replaceWith(chosen);
    });
    chosenFiles = [];
  });

  // A comment being written (and its drawing) outlives the comments being
  // drawn again by a live update.
  const DRAFT_FIELDS = ["body", "start_seconds", "end_seconds", "annotation"];
  let commentDraft = null;
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    const target = event.detail.target;
    const form = target && target.classList && target.classList.contains("comments")
      ? target.querySelector(".comment-form") : null;
    if (!form) return;
    const values = {};
    DRAFT_FIELDS.forEach(function (name) {
      if (form.elements[name] && form.elements[name].value) values[name] = form.elements[name].value;
    });
    commentDraft = Object.keys(values).length ? { id: target.id, values: values } : null;
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    if (!commentDraft) return;
    const section = document.getElementById(commentDraft.id);
    const form = section && section.querySelector(".comment-form");
    if (form) {
      Object.keys(commentDraft.values).forEach(function (name) {
        const field = form.elements[name];
        if (field && !field.value) field.value = commentDraft.values[name];
      });
      form.dispatchEvent(new Event("studio:draft-restored", { bubbles: true }));
    }
    commentDraft = null;
  });

  // A subtree that could not be fetched closes again, to be opened again.
  function subtreeNotLoaded(event) {
    const group = event.detail && event.detail.target;
    if (!group || !group.matches || !group.matches("#version-tree ul[role=group]")) return;
    if (group.querySelector(":scope > li")) return;
    group.dataset.loaded = "false";
    const item = group.closest("[role=treeitem]");
    if (item) setExpanded(item, false);
  }
  document.addEventListener("htmx:responseError", subtreeNotLoaded);
  document.addEventListener("htmx:sendError", subtreeNotLoaded);

  // A new version's row may come twice (a catch-up can cross a live event):
  // it is drawn once.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    const fragment = event.detail.fragment;
    const row = fragment && fragment.querySelector && fragment.querySelector(":scope > li[id]");
    if (row && document.getElementById(row.id)) event.detail.shouldSwap = false;
  });

  // A version made live joins its parent's group: open it when the parent
  // was a leaf or is open, and draw the group as a fork once it forks.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    const group = event.detail && event.detail.target;
    if (!group || !group.id || group.id.indexOf("children-") !== 0) return;
    const parent = group.closest("[role=treeitem]");
    if (parent && parent.getAttribute("aria-expanded") !== "false") {
      parent.setAttribute("aria-expanded", "true");
      group.hidden = false;
    }
    if (group.children.length > 1) group.classList.remove("linear");
  });

  document.addEventListener("click", function (event) {
    const toggle = event.target.closest("#version-tree [data-toggle]");
    if (toggle) {
      const item = toggle.closest("[role=treeitem]");
      setExpanded(item, item.getAttribute("aria-expanded") !== "true");
      return;
    }
    const more = event.target.closest("[data-more]");
    if (more) {
      const row = more.closest("li");
      htmx.ajax("GET", more.dataset.more, { target: row, swap: "outerHTML" });
    }
  });

  document.addEventListener("keydown", function (event) {
    const item = event.target.closest && event.target.closest("#version-tree [role=treeitem]");
    if (!item || event.target !== item) return;
    const items = treeItems();
    const at = items.indexOf(item);
    const expanded = item.getAttribute("aria-expanded");
    if (event.key === "ArrowDown") focusItem(items[at + 1]);
    else if (event.key === "ArrowUp") focusItem(items[at - 1]);
    else if (event.key === "Home") focusItem(items[0]);
    else if (event.key === "End") focusItem(items[items.length - 1]);
    else if (event.key === "ArrowRight") {
      if (expanded === "false") setExpanded(item, true);
      else if (expanded === "true") focusItem(groupOf(item).querySelector("[role=treeitem]"));
      else return;
    } else if (event.key === "ArrowLeft") {
      if (expanded === "true") setExpanded(item, false);
      else focusItem(item.parentElement.closest("[role=treeitem]"));
    } else if (event.key === "Enter" || event.key === " ") {
      const action = item.querySelector(":scope > .node-row .node-link, :scope > button, :scope > .node-row button");
      if (action) action.click();
    } else return;
    event.preventDefault();
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
      if (player && form) form.querySelector(".comment-start").value = window.StudioFrames.commentTime(player);
    }
  });

  document.addEventListener("pause", function (event) {
    const player = event.target;
    if (!(player instanceof HTMLVideoElement) || !player.id) return;
    const form = document.querySelector('.comment-form[data-player="' + player.id + '"]');
    const start = form && form.querySelector(".comment-start");
    if (start && !start.value) start.value = window.StudioFrames.commentTime(player);
  }, true);

  // Keyboard shortcuts on the project page (listed with ?). They never fire
  // while a field has the focus, or with a modifier held.
  function typing(target) {
    return target instanceof HTMLElement && (
      target.isContentEditable ||
      target.closest("input, textarea, select, [contenteditable]") !== null
    );
  }

  function panelPlayer() {
    return document.querySelector("#version-panel video.player");
  }

  function stepVersion(direction) {
    const items = treeItems().filter(function (item) { return item.dataset.number; });
    const current = items.findIndex(function (item) {
      return item.dataset.number === selectedNumber();
    });
    const next = items[current + direction];
    const link = next && next.querySelector(":scope > .node-row .node-link");
    if (link) {
      link.click();
      focusItem(next);
    }
  }

  const SHORTCUTS = {
    // The player's keys (J K L , . I O) are player.js's.
    n: function () { stepVersion(1); },
    p: function () { stepVersion(-1); },
    c: function (player) {
      const form = document.querySelector("#version-panel .comment-form");
      if (!form) return;
      if (player) {
        player.pause();
        form.querySelector(".comment-start").value = window.StudioFrames.commentTime(player);
      }
      form.querySelector("textarea").focus();
    },
    g: function () {
      const prompt = document.getElementById("id_prompt");
      if (prompt) { prompt.scrollIntoView({ block: "center" }); prompt.focus(); }
    },
    "?": function () {
      const help = document.getElementById("shortcuts");
      if (help && !help.open) help.showModal();
    },
  };

  document.addEventListener("keydown", function (event) {
    if (!live() || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const action = SHORTCUTS[event.key];
    if (!action) return;
    // Arrows, Enter and Space belong to the tree and buttons; these do not.
    event.preventDefault();
    action(panelPlayer());
  });

  // Compare: the players play, pause and seek together.
  function syncPlayers() {
    const players = Array.from(document.querySelectorAll("video[data-sync]"));
    if (players.length < 2) return;
    // Open where the change is, when the edits say where.
    const group = document.querySelector("[data-sync-group][data-start]");
    if (group) {
      const start = parseFloat(group.dataset.start);
      players.forEach(function (p) {
        p.addEventListener("loadedmetadata", function () { p.currentTime = start; }, { once: true });
        if (p.readyState >= 1) p.currentTime = start;
      });
    }
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

  // Phones: the tree, branches and activity open as a drawer.
  document.addEventListener("click", function (event) {
    const toggle = event.target.closest(".drawer-toggle");
    if (!toggle) return;
    const pane = toggle.closest(".tree-pane");
    const open = !pane.classList.contains("open");
    pane.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

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
    revealOwnControls();
    syncPlayers();
    if (live() && typeof WebSocket === "undefined") startPolling("Checking every 2 s");
  });
})();
