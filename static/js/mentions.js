// Omni Studio: "@" in a comment box offers the workspace's members.
//
// Typing "@" and the start of a name lists the members whose names start so
// (asked of the server, a few at a time); Up and Down move through them,
// Enter or Tab puts the chosen name in, Escape closes the list. Whoever is
// named is told when the comment is posted: the server finds the names
// again, so the list is only a help.
(function () {
  "use strict";

  const WORD = /(^|[^\w@.+-])@([\w.@+-]*)$/;
  let list = null;
  let box = null;
  let choices = [];
  let active = -1;
  let asked = 0;

  function close() {
    if (list) list.remove();
    if (box) {
      box.removeAttribute("aria-activedescendant");
      box.setAttribute("aria-expanded", "false");
    }
    list = null;
    choices = [];
    active = -1;
  }

  function typed(textarea) {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const match = WORD.exec(before);
    return match ? match[2] : null;
  }

  function show(textarea, names) {
    close();
    if (!names.length) return;
    box = textarea;
    choices = names;
    list = document.createElement("ul");
    list.className = "mention-choices";
    list.id = textarea.id + "-mentions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Members to mention");
    names.forEach(function (name, index) {
      const item = document.createElement("li");
      item.id = list.id + "-" + index;
      item.setAttribute("role", "option");
      item.textContent = "@" + name;
      item.addEventListener("mousedown", function (event) {
        event.preventDefault(); // the box keeps the focus
        choose(index);
      });
      list.appendChild(item);
    });
    textarea.setAttribute("aria-controls", list.id);
    textarea.setAttribute("aria-expanded", "true");
    textarea.insertAdjacentElement("afterend", list);
    highlight(0);
  }

  function highlight(index) {
    if (!list) return;
    active = (index + choices.length) % choices.length;
    list.querySelectorAll("[role=option]").forEach(function (item, i) {
      item.setAttribute("aria-selected", i === active ? "true" : "false");
    });
    box.setAttribute("aria-activedescendant", list.id + "-" + active);
  }

  function choose(index) {
    const textarea = box;
    const name = choices[index];
    const caret = textarea.selectionStart;
    const before = textarea.value.slice(0, caret);
    const start = before.lastIndexOf("@");
    const after = textarea.value.slice(caret);
    const inserted = "@" + name + " ";
    textarea.value = before.slice(0, start) + inserted + after.replace(/^[\w.@+-]*/, "");
    const at = start + inserted.length;
    textarea.setSelectionRange(at, at);
    close();
    textarea.focus();
  }

  document.addEventListener("input", function (event) {
    const textarea = event.target;
    if (!(textarea instanceof HTMLTextAreaElement) || !textarea.dataset.mentions) return;
    const prefix = typed(textarea);
    if (prefix === null) {
      close();
      return;
    }
    const ask = ++asked;
    const url = textarea.dataset.mentions + "?q=" + encodeURIComponent(prefix);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { members: [] }; })
      .then(function (data) {
        // Only the answer to the latest keystroke is shown.
        if (ask === asked && typed(textarea) === prefix) show(textarea, data.members || []);
      })
      .catch(close);
  });

  document.addEventListener("keydown", function (event) {
    if (!list || event.target !== box) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      choose(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });

  document.addEventListener("focusout", function (event) {
    if (event.target === box) close();
  });
})();
