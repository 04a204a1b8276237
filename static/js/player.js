// Omni Studio: the frame-accurate player under each version's video.
//
// Time is counted in frames at the version's frame rate (data-fps): the
// readout shows HH:MM:SS:FF, "," and "." (or the arrow keys on the player
// or its scrub bar) step one frame, J / K / L shuttle back, stop (or play)
// and forward (pressed again: twice, four times as fast), I and O mark a range
// that Loop plays over and over, and the scrub bar carries the comments'
// markers (a hover shows the note). A seek to a frame lands in the middle
// of it, so the frame shown is the frame meant.
(function () {
  "use strict";

  // A time written to the millisecond at a frame's start may fall a hair
  // before it; the server counts the same way (projects.services.review).
  const FRAME_TOLERANCE = 0.02;
  const SHUTTLE_RATES = [1, 2, 4];
  const SHUTTLE_TICK_MS = 40;

  function fpsOf(player) {
    return parseFloat(player.dataset.fps || "24") || 24;
  }

  function frameAt(player, seconds) {
    const time = seconds === undefined ? player.currentTime : seconds;
    return Math.max(0, Math.floor(time * fpsOf(player) + FRAME_TOLERANCE));
  }

  function lastFrame(player) {
    const duration = isFinite(player.duration) ? player.duration : 0;
    return Math.max(0, Math.ceil(duration * fpsOf(player) - FRAME_TOLERANCE) - 1);
  }

  // Where a frame starts, to the millisecond: what a comment's time says.
  function secondsOfFrame(player, frame) {
    return String(parseFloat((frame / fpsOf(player)).toFixed(3)));
  }

  function timecode(frame, fps) {
    const nominal = Math.max(1, Math.round(fps));
    const frames = frame % nominal;
    let seconds = Math.floor(frame / nominal);
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor(seconds / 60) % 60;
    seconds %= 60;
    return [hours, minutes, seconds, frames].map(function (n) {
      return String(n).padStart(2, "0");
    }).join(":");
  }

  function seekFrame(player, frame) {
    const target = Math.min(Math.max(0, frame), lastFrame(player));
    player.currentTime = (target + 0.5) / fpsOf(player);
  }

  function bar(player) {
    return document.getElementById("scrub-" + player.id.replace("player-", ""));
  }

  function playerOf(element) {
    const holder = element.closest("[data-player]");
    return holder ? document.getElementById(holder.dataset.player) : null;
  }

  function panelPlayer() {
    return document.querySelector("#version-panel video.player");
  }

  // What the bar shows follows the player; it is drawn again from the
  // player's own state when the bar is replaced by a live update.
  function refresh(player) {
    const scrubBar = bar(player);
    if (!scrubBar) return;
    const fps = fpsOf(player);
    const frame = frameAt(player);
    const code = timecode(frame, fps);
    const readout = scrubBar.querySelector(".timecode-now");
    if (readout) readout.textContent = code;
    const count = scrubBar.querySelector(".frame-now");
    if (count) count.textContent = "frame " + frame;
    const scrub = scrubBar.querySelector(".scrub");
    const duration = isFinite(player.duration) && player.duration > 0 ? player.duration : 0;
    if (scrub) {
      scrub.setAttribute("aria-valuenow", player.currentTime.toFixed(3));
      scrub.setAttribute("aria-valuetext", code + ", frame " + frame);
      const head = scrub.querySelector(".playhead");
      if (head && duration) head.setAttribute("x", String(Math.min(997, player.currentTime / duration * 1000)));
      const range = scrub.querySelector(".loop-range");
      const loop = loopOf(player);
      if (range) {
        range.classList.toggle("off", !(loop && duration));
        if (loop && duration) {
          range.setAttribute("x", String(loop.start / duration * 1000));
          range.setAttribute("width", String(Math.max(2, (loop.end - loop.start) / duration * 1000)));
        }
      }
    }
    const speed = scrubBar.querySelector(".speed");
    if (speed && !player.__shuttleBack) speed.value = String(player.playbackRate);
    const toggle = scrubBar.querySelector(".loop-toggle");
    if (toggle) toggle.setAttribute("aria-pressed", player.dataset.looping === "true" ? "true" : "false");
    const shuttle = scrubBar.querySelector(".shuttle-now");
    if (shuttle) {
      const rate = player.__shuttleBack ? -player.__shuttleBack : (player.paused ? 0 : player.playbackRate);
      shuttle.textContent = rate && rate !== 1 ? (rate > 0 ? "▶ " : "◀ ") + Math.abs(rate) + "×" : "";
    }
  }

  function loopOf(player) {
    const start = parseFloat(player.dataset.loopStart);
    const end = parseFloat(player.dataset.loopEnd);
    return isFinite(start) && isFinite(end) && end > start ? { start: start, end: end } : null;
  }

  function keepLooping(player) {
    const loop = loopOf(player);
    if (player.dataset.looping === "true" && loop && !player.paused && player.currentTime >= loop.end) {
      player.currentTime = loop.start;
    }
  }

  // While playing, follow every frame the video shows.
  function follow(player) {
    if (player.__following) return;
    player.__following = true;
    const tick = function () {
      keepLooping(player);
      refresh(player);
      if (player.paused) {
        player.__following = false;
        return;
      }
      if (player.requestVideoFrameCallback) player.requestVideoFrameCallback(tick);
      else window.requestAnimationFrame(tick);
    };
    tick();
  }

  ["timeupdate", "seeked", "loadedmetadata", "ratechange", "pause"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (event.target instanceof HTMLVideoElement && event.target.classList.contains("player")) {
        keepLooping(event.target);
        refresh(event.target);
      }
    }, true);
  });
  document.addEventListener("play", function (event) {
    if (event.target instanceof HTMLVideoElement && event.target.classList.contains("player")) {
      follow(event.target);
    }
  }, true);

  // J / K / L. The browser plays no video backwards, so back-shuttle steps
  // the picture back on a timer.
  function stopShuttleBack(player) {
    if (player.__shuttleTimer) window.clearInterval(player.__shuttleTimer);
    player.__shuttleTimer = null;
    player.__shuttleBack = 0;
  }

  function shuttle(player, direction) {
    if (direction === 0) {
      stopShuttleBack(player);
      player.pause();
      player.playbackRate = 1;
      refresh(player);
      return;
    }
    if (direction > 0) {
      const current = player.__shuttleBack || player.paused ? 0 : player.playbackRate;
      stopShuttleBack(player);
      const next = SHUTTLE_RATES.find(function (rate) { return rate > current; }) || 4;
      player.playbackRate = next;
      player.play();
      refresh(player);
      return;
    }
    const back = player.__shuttleBack || 0;
    const next = SHUTTLE_RATES.find(function (rate) { return rate > back; }) || 4;
    stopShuttleBack(player);
    player.pause();
    player.playbackRate = 1;
    player.__shuttleBack = next;
    player.__shuttleTimer = window.setInterval(function () {
      const to = player.currentTime - next * SHUTTLE_TICK_MS / 1000;
      if (to <= 0) {
        player.currentTime = 0;
        stopShuttleBack(player);
      } else player.currentTime = to;
      refresh(player);
    }, SHUTTLE_TICK_MS);
    refresh(player);
  }

  function step(player, frames) {
    stopShuttleBack(player);
    player.pause();
    seekFrame(player, frameAt(player) + frames);
  }

  function mark(player, which) {
    const fps = fpsOf(player);
    const here = frameAt(player) / fps;
    if (which === "in") {
      player.dataset.loopStart = String(here);
      const end = parseFloat(player.dataset.loopEnd);
      if (!(end > here)) player.dataset.loopEnd = String(isFinite(player.duration) ? player.duration : here + 1);
    } else {
      // The out point plays its own frame too.
      player.dataset.loopEnd = String((frameAt(player) + 1) / fps);
      const start = parseFloat(player.dataset.loopStart);
      if (!(start < here)) player.dataset.loopStart = "0";
    }
    player.dataset.looping = "true";
    refresh(player);
  }

  function typing(target) {
    return target instanceof HTMLElement && (
      target.isContentEditable ||
      target.closest("input, textarea, select, [contenteditable]") !== null
    );
  }

  const KEYS = {
    // Stops whatever plays; from a stop, plays (as Space does).
    k: function (player) {
      if (player.paused && !player.__shuttleBack) {
        player.playbackRate = 1;
        player.play();
      } else shuttle(player, 0);
    },
    j: function (player) { shuttle(player, -1); },
    l: function (player) { shuttle(player, 1); },
    ",": function (player) { step(player, -1); },
    ".": function (player) { step(player, 1); },
    i: function (player) { mark(player, "in"); },
    o: function (player) { mark(player, "out"); },
  };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const onPlayer = event.target instanceof Element
      && (event.target.matches("video.player") || event.target.closest(".scrub"));
    if (onPlayer && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
      const player = event.target.matches("video.player") ? event.target : playerOf(event.target);
      if (!player) return;
      event.preventDefault();
      event.stopPropagation();
      step(player, event.key === "ArrowLeft" ? -1 : 1);
      return;
    }
    const action = KEYS[event.key.toLowerCase()];
    const player = panelPlayer();
    if (!action || !player) return;
    event.preventDefault();
    action(player);
  }, true);

  // The scrub bar: press or drag to seek; markers seek to their comment
  // (a range marker also marks its range for Loop).
  function seekFromPointer(scrub, event) {
    const player = playerOf(scrub);
    if (!player || !isFinite(player.duration)) return;
    const box = scrub.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    seekFrame(player, Math.floor(fraction * player.duration * fpsOf(player)));
  }

  document.addEventListener("pointerdown", function (event) {
    const scrub = event.target instanceof Element && event.target.closest(".scrub");
    if (!scrub || event.button !== 0) return;
    const marker = event.target.closest(".marker");
    const player = playerOf(scrub);
    if (marker && player) {
      if (marker.dataset.end) {
        player.dataset.loopStart = marker.dataset.start;
        player.dataset.loopEnd = marker.dataset.end;
      }
      player.currentTime = parseFloat(marker.dataset.seek);
      refresh(player);
      return;
    }
    scrub.setPointerCapture(event.pointerId);
    scrub.__dragging = true;
    seekFromPointer(scrub, event);
  });
  document.addEventListener("pointermove", function (event) {
    const scrub = event.target instanceof Element && event.target.closest(".scrub");
    if (scrub && scrub.__dragging) seekFromPointer(scrub, event);
  });
  document.addEventListener("pointerup", function (event) {
    const scrub = event.target instanceof Element && event.target.closest(".scrub");
    if (scrub) scrub.__dragging = false;
  });

  // Hovering (or focusing) a marker previews its note under the bar.
  document.addEventListener("pointerover", function (event) {
    const marker = event.target instanceof Element && event.target.closest(".scrub .marker");
    const scrubBar = marker && marker.closest(".player-bar");
    const preview = scrubBar && scrubBar.querySelector(".marker-preview");
    if (!preview) return;
    preview.textContent = marker.dataset.preview;
    const box = scrubBar.getBoundingClientRect();
    const at = marker.getBoundingClientRect();
    preview.style.left = Math.max(0, Math.min(at.left - box.left, box.width - 240)) + "px";
    preview.hidden = false;
  });
  document.addEventListener("pointerout", function (event) {
    const marker = event.target instanceof Element && event.target.closest(".scrub .marker");
    const preview = marker && marker.closest(".player-bar").querySelector(".marker-preview");
    if (preview) preview.hidden = true;
  });

  document.addEventListener("click", function (event) {
    const button = event.target instanceof Element && event.target.closest(".player-controls button");
    const player = button && playerOf(button);
    if (!player) return;
    if (button.classList.contains("frame-step")) step(player, parseInt(button.dataset.step, 10));
    else if (button.classList.contains("mark-in")) mark(player, "in");
    else if (button.classList.contains("mark-out")) mark(player, "out");
    else if (button.classList.contains("loop-toggle")) {
      player.dataset.looping = player.dataset.looping === "true" ? "false" : "true";
      if (player.dataset.looping === "true" && !loopOf(player)) {
        player.dataset.loopStart = "0";
        player.dataset.loopEnd = String(player.duration);
      }
      refresh(player);
    }
  });

  document.addEventListener("change", function (event) {
    const speed = event.target instanceof Element && event.target.closest(".player-controls .speed");
    const player = speed && playerOf(speed);
    if (!player) return;
    stopShuttleBack(player);
    player.playbackRate = parseFloat(speed.value) || 1;
  });

  // A bar drawn again by a live update starts from the player's state.
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("video.player").forEach(refresh);
  });

  window.StudioFrames = {
    frameAt: frameAt,
    // The time a comment is written at: the start of the frame on screen.
    commentTime: function (player) { return secondsOfFrame(player, frameAt(player)); },
    timecode: timecode,
  };
})();
