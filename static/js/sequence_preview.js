// A sequence's preview: the cut played in the page before it is rendered.
// Two video layers take turns: the playing clip on one, the next one cued
// at its in point on the other, so a cut is a swap and a crossfade is the
// next layer fading in (picture and sound) over the clip's last seconds.
// The layers fill the frame and are centre-cropped, as the render does.
(function () {
  "use strict";

  function clock(seconds) {
    const whole = Math.max(0, seconds);
    const minutes = Math.floor(whole / 60);
    const rest = (whole - minutes * 60).toFixed(1).padStart(4, "0");
    return minutes + ":" + rest;
  }

  function cue(layer, clip) {
    // Resolves once the layer shows the clip's in point.
    return new Promise(function (resolve) {
      const seek = function () {
        layer.addEventListener("seeked", resolve, { once: true });
        layer.currentTime = clip.in;
      };
      if (layer.dataset.src === clip.src && layer.readyState >= 1) {
        seek();
      } else {
        layer.dataset.src = clip.src;
        layer.addEventListener("loadedmetadata", seek, { once: true });
        layer.src = clip.src;
      }
    });
  }

  function preview(section) {
    const data = document.getElementById("sequence-preview-clips");
    const clips = data ? JSON.parse(data.textContent) : [];
    const layers = Array.from(section.querySelectorAll("video.preview-layer"));
    const button = section.querySelector(".preview-play");
    const time = section.querySelector(".preview-time");
    const label = section.querySelector(".preview-clip");
    if (!clips.length || layers.length !== 2 || !button) return;

    // Where each clip starts in the cut: a crossfade overlaps two clips.
    const starts = [];
    let total = 0;
    clips.forEach(function (clip) {
      starts.push(total);
      total += clip.out - clip.in - clip.crossfade;
    });
    let index = 0;
    let active = 0;
    let fading = false; // the next clip has started under this one
    let cued = null; // a promise: the next clip waiting at its in point
    let frame = null;

    function setState(state) {
      section.dataset.state = state;
      button.setAttribute("aria-pressed", state === "playing" ? "true" : "false");
      button.textContent =
        state === "playing" ? "Pause" : state === "ended" ? "Play the cut again" : "Play the cut";
    }

    function show(now) {
      const clip = clips[index];
      section.dataset.clip = String(index + 1);
      label.textContent = "Clip " + (index + 1) + " of " + clips.length + " · " + clip.label;
      time.textContent = clock(now) + " / " + clock(total);
    }

    function mix(layer, level) {
      layer.style.opacity = String(level);
      layer.volume = Math.min(1, Math.max(0, level));
    }

    function cueNext() {
      cued = index + 1 < clips.length ? cue(layers[1 - active], clips[index + 1]) : null;
    }

    function startNext() {
      const next = layers[1 - active];
      fading = true;
      mix(next, clips[index].crossfade ? 0 : 1);
      (cued || Promise.resolve()).then(function () {
        if (section.dataset.state === "playing") next.play();
      });
    }

    function finishClip() {
      const current = layers[active];
      current.pause();
      mix(current, 0);
      if (index + 1 >= clips.length) {
        cancelAnimationFrame(frame);
        show(total);
        setState("ended");
        return;
      }
      if (!fading) startNext();
      mix(layers[1 - active], 1);
      index += 1;
      active = 1 - active;
      fading = false;
      cueNext();
    }

    function tick() {
      const clip = clips[index];
      const current = layers[active];
      const at = current.currentTime;
      const fadeFrom = clip.out - clip.crossfade;
      if (clip.crossfade && index + 1 < clips.length && at >= fadeFrom) {
        if (!fading) startNext();
        const level = Math.min(1, (at - fadeFrom) / clip.crossfade);
        mix(layers[1 - active], level);
        mix(current, 1 - level);
      }
      if (at >= clip.out - 0.01 || current.ended) {
        finishClip();
        if (section.dataset.state !== "playing") return;
      }
      show(starts[index] + Math.max(0, layers[active].currentTime - clips[index].in));
      frame = requestAnimationFrame(tick);
    }

    function play() {
      setState("playing");
      const current = layers[active];
      const resumed = fading ? [current, layers[1 - active]] : [current];
      Promise.all(
        resumed.map(function (layer) {
          return layer.play();
        })
      ).then(function () {
        frame = requestAnimationFrame(tick);
      });
    }

    function restart() {
      index = 0;
      active = 0;
      fading = false;
      layers.forEach(function (layer) {
        layer.pause();
        mix(layer, 0);
      });
      mix(layers[0], 1);
      cue(layers[0], clips[0]).then(play);
      cueNext();
    }

    button.addEventListener("click", function () {
      const state = section.dataset.state;
      if (state === "playing") {
        cancelAnimationFrame(frame);
        layers.forEach(function (layer) {
          layer.pause();
        });
        setState("paused");
      } else if (state === "paused") {
        play();
      } else {
        restart();
      }
    });

    setState("idle");
    mix(layers[0], 1);
    mix(layers[1], 0);
    cue(layers[0], clips[0]);
    show(0);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".sequence-preview").forEach(preview);
  });
})();
