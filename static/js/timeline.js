// A sequence's timeline, arranged by dragging: a clip dropped on another
// goes before or after it (whichever half it was dropped on) and the page
// posts the move through the same form the Earlier and Later buttons use,
// so the server checks it and the page shows the order it kept. Those
// buttons stay the way to move a clip from the keyboard.
(function () {
  "use strict";

  function clipOf(event) {
    return event.target.closest ? event.target.closest(".timeline-clip") : null;
  }

  function clearMarks(list) {
    list.querySelectorAll(".drop-before, .drop-after, .dragging").forEach(function (clip) {
      clip.classList.remove("drop-before", "drop-after", "dragging");
    });
  }

  // The place (from 0) the dragged clip takes when dropped on this half of
  // ``over``, once it has left its own place.
  function placeOf(from, over, after) {
    const at = Number(over.dataset.position);
    let to = after ? at + 1 : at;
    if (from < to) to -= 1;
    return to;
  }

  function arrange(list) {
    const form = document.getElementById(list.dataset.reorder);
    if (!form) return;
    let from = null;
    // The picture is the handle: a draggable clip would keep its fields'
    // text from being selected with the mouse in some browsers.
    list.querySelectorAll(".timeline-clip .thumb").forEach(function (thumb) {
      thumb.draggable = true;
    });
    list.addEventListener("dragstart", function (event) {
      const clip = clipOf(event);
      if (!clip || !event.target.matches(".thumb")) return;
      from = Number(clip.dataset.position);
      clip.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", clip.dataset.version);
    });
    list.addEventListener("dragover", function (event) {
      const over = clipOf(event);
      if (from === null || !over) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      const box = over.getBoundingClientRect();
      const after = event.clientY > box.top + box.height / 2;
      list.querySelectorAll(".drop-before, .drop-after").forEach(function (clip) {
        clip.classList.remove("drop-before", "drop-after");
      });
      if (Number(over.dataset.position) !== from) {
        over.classList.add(after ? "drop-after" : "drop-before");
      }
    });
    list.addEventListener("drop", function (event) {
      const over = clipOf(event);
      if (from === null || !over) return;
      event.preventDefault();
      const box = over.getBoundingClientRect();
      const to = placeOf(from, over, event.clientY > box.top + box.height / 2);
      const moved = from;
      from = null;
      clearMarks(list);
      if (to === moved) return;
      form.elements.position.value = moved;
      form.elements.to.value = to;
      form.submit();
    });
    list.addEventListener("dragend", function () {
      from = null;
      clearMarks(list);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("ol.timeline[data-reorder]").forEach(arrange);
  });
})();
