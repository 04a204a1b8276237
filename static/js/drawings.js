// Drawings on the frame. The comment form's tools (pin, box, freehand) draw
// on a layer laid over the picture of the paused player; what is drawn goes
// into the form as shapes in coordinates from 0 to 1 of the picture. Every
// comment's drawing shows over its player while the player is at its time.
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  // A drawing at a moment stays up this long; one over a range, the range.
  const MOMENT_SECONDS = 0.5;
  let active = null; // {fieldset, video, layer, tool, shapes, stroke}

  function pictureBox(video) {
    // The picture inside the player element, which may be wider or taller.
    const w = video.clientWidth;
    const h = video.clientHeight;
    const vw = video.videoWidth || Number(video.getAttribute("width")) || w;
    const vh = video.videoHeight || Number(video.getAttribute("height")) || h;
    const scale = Math.min(w / vw, h / vh) || 1;
    return {
      left: video.offsetLeft + (w - vw * scale) / 2,
      top: video.offsetTop + (h - vh * scale) / 2,
      width: vw * scale,
      height: vh * scale,
    };
  }

  function layerFor(video) {
    let layer = document.querySelector('svg.drawing-layer[data-for="' + video.id + '"]');
    if (!layer) {
      layer = document.createElementNS(SVG, "svg");
      layer.setAttribute("class", "drawing-layer");
      layer.setAttribute("data-for", video.id);
      layer.setAttribute("viewBox", "0 0 1 1");
      layer.setAttribute("preserveAspectRatio", "none");
      layer.setAttribute("aria-hidden", "true");
      video.insertAdjacentElement("afterend", layer);
    }
    const box = pictureBox(video);
    layer.style.left = box.left + "px";
    layer.style.top = box.top + "px";
    layer.style.width = box.width + "px";
    layer.style.height = box.height + "px";
    return layer;
  }

  function element(name, attributes) {
    const el = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { el.setAttribute(key, attributes[key]); });
    el.setAttribute("vector-effect", "non-scaling-stroke");
    return el;
  }

  function shapeElement(shape, mark) {
    let el;
    if (shape.kind === "box") {
      el = element("rect", { x: shape.x, y: shape.y, width: shape.w, height: shape.h });
    } else if (shape.kind === "pin") {
      el = element("circle", { cx: shape.x, cy: shape.y, r: 0.02 });
    } else {
      el = element("polyline", {
        points: shape.points.map(function (p) { return p.join(","); }).join(" "),
      });
    }
    el.setAttribute("class", "shape " + (shape.kind === "pin" ? "pin " : "") + shape.color + " " + mark);
    return el;
  }

  // Showing every comment's drawing at its time.

  function showDrawings(video) {
    if (!video.id) return;
    const layer = layerFor(video);
    layer.querySelectorAll(".shown").forEach(function (el) { el.remove(); });
    const now = video.currentTime;
    const selector = '.comment[data-annotation][data-player="' + video.id + '"]';
    document.querySelectorAll(selector).forEach(function (item) {
      const start = parseFloat(item.dataset.start);
      const end = item.dataset.end ? parseFloat(item.dataset.end) : start + MOMENT_SECONDS;
      if (!(now >= start - 0.05 && now <= end)) return;
      let shapes = [];
      try { shapes = JSON.parse(item.dataset.annotation); } catch (error) { return; }
      shapes.forEach(function (shape) { layer.appendChild(shapeElement(shape, "shown")); });
    });
  }

  function showAll() {
    document.querySelectorAll("video.player[id]").forEach(showDrawings);
  }

  ["timeupdate", "seeked", "loadedmetadata"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (event.target instanceof HTMLVideoElement && event.target.matches(".player")) {
        showDrawings(event.target);
      }
    }, true);
  });
  window.addEventListener("resize", showAll);
  document.addEventListener("htmx:afterSettle", function () {
    // A new comment form (after posting, or a live update) starts with no drawing.
    if (active && !(document.body.contains(active.fieldset) &&
                    document.body.contains(active.layer))) stop();
    showAll();
  });
  document.addEventListener("htmx:wsAfterMessage", showAll);
  document.addEventListener("studio:draft-restored", function (event) {
    const fieldset = event.target.querySelector(".draw-tools");
    if (fieldset) save(fieldset, written(fieldset));
  });
  document.addEventListener("DOMContentLoaded", showAll);

  // Drawing.

  function input(fieldset) {
    return fieldset.querySelector(".annotation-input");
  }

  function written(fieldset) {
    try { return JSON.parse(input(fieldset).value || "[]"); } catch (error) { return []; }
  }

  function save(fieldset, shapes) {
    input(fieldset).value = shapes.length ? JSON.stringify(shapes) : "";
    const count = fieldset.querySelector(".draw-count");
    if (count) {
      count.textContent = shapes.length
        ? shapes.length + " shape" + (shapes.length === 1 ? "" : "s") + " drawn"
        : "";
    }
  }

  function stop() {
    if (!active) return;
    active.layer.classList.remove("drawing");
    active.layer.querySelectorAll(".draft").forEach(function (el) { el.remove(); });
    active.fieldset.querySelectorAll(".draw-tool").forEach(function (b) {
      b.setAttribute("aria-pressed", "false");
    });
    active = null;
  }

  function start(button) {
    const fieldset = button.closest(".draw-tools");
    const video = document.getElementById(fieldset.dataset.player);
    if (!video) return;
    const again = active && active.fieldset === fieldset;
    if (!again) stop();
    fieldset.querySelectorAll(".draw-tool").forEach(function (b) {
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
    video.pause();
    // The frame is where the drawing happens: bring it into view.
    video.scrollIntoView({ block: "nearest" });
    const at = fieldset.form.querySelector(".comment-start");
    if (at && !at.value) at.value = window.StudioFrames.commentTime(video);
    const layer = layerFor(video);
    layer.classList.add("drawing");
    active = { fieldset: fieldset, video: video, layer: layer, tool: button.dataset.tool, stroke: null };
    if (!again) written(fieldset).forEach(function (s) { layer.appendChild(shapeElement(s, "draft")); });
  }

  function point(event) {
    const rect = active.layer.getBoundingClientRect();
    const clamp = function (v) { return Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000; };
    return [clamp((event.clientX - rect.left) / rect.width), clamp((event.clientY - rect.top) / rect.height)];
  }

  function color() {
    const select = active.fieldset.querySelector(".draw-color");
    return select ? select.value : "red";
  }

  document.addEventListener("click", function (event) {
    const tool = event.target.closest(".draw-tool");
    if (tool) {
      if (tool.getAttribute("aria-pressed") === "true") stop();
      else start(tool);
      return;
    }
    const clear = event.target.closest(".draw-clear");
    if (clear) {
      const fieldset = clear.closest(".draw-tools");
      save(fieldset, []);
      if (active && active.fieldset === fieldset) {
        active.layer.querySelectorAll(".draft").forEach(function (el) { el.remove(); });
      }
    }
  });

  document.addEventListener("pointerdown", function (event) {
    if (!active || event.target.closest("svg.drawing-layer") !== active.layer) return;
    event.preventDefault();
    active.layer.setPointerCapture(event.pointerId);
    const at = point(event);
    active.stroke = { from: at, points: [at], el: null };
  });

  document.addEventListener("pointermove", function (event) {
    if (!active || !active.stroke) return;
    const at = point(event);
    const stroke = active.stroke;
    if (active.tool === "stroke") {
      stroke.points.push(at);
    } else {
      stroke.points = [stroke.from, at];
    }
    const shape = finished(stroke, true);
    if (stroke.el) stroke.el.remove();
    stroke.el = shape ? active.layer.appendChild(shapeElement(shape, "draft")) : null;
  });

  document.addEventListener("pointerup", function (event) {
    if (!active || !active.stroke) return;
    const stroke = active.stroke;
    active.stroke = null;
    if (stroke.el) stroke.el.remove();
    if (active.tool === "stroke") stroke.points.push(point(event));
    const shape = finished(stroke, false);
    if (!shape) return;
    const shapes = written(active.fieldset);
    shapes.push(shape);
    save(active.fieldset, shapes);
    active.layer.appendChild(shapeElement(shape, "draft"));
  });

  function finished(stroke, drafting) {
    const from = stroke.from;
    const to = stroke.points[stroke.points.length - 1];
    if (active.tool === "pin") return { kind: "pin", color: color(), x: to[0], y: to[1] };
    if (active.tool === "box") {
      const x = Math.min(from[0], to[0]);
      const y = Math.min(from[1], to[1]);
      const w = Math.abs(to[0] - from[0]);
      const h = Math.abs(to[1] - from[1]);
      if (!drafting && (w < 0.01 || h < 0.01)) return null;
      return { kind: "box", color: color(), x: x, y: y, w: Math.min(w, 1 - x), h: Math.min(h, 1 - y) };
    }
    // A stroke keeps at most every other point past 200, within the bound.
    let points = stroke.points;
    while (points.length > 400) points = points.filter(function (_, i) { return i % 2 === 0; });
    if (points.length < 2) return null;
    return { kind: "stroke", color: color(), points: points };
  }
})();
