// The sequence page's renders, live: the studio tells this page's socket
// when a render of the sequence is queued, moves on, is ready or failed, and
// the page fetches its renders again (their forms carry this viewer's role
// and CSRF token, so they are not rendered once for everyone). Only renders
// whose state changed are swapped, so a comment being written on a ready
// one is kept. While the socket is down and a render is unfinished, the
// page checks every 2 s instead.
(function () {
  "use strict";

  const POLL_MS = 2000;
  const AT_MOST_EVERY_MS = 1000; // progress arrives several times a second
  const RELOAD_CODES = [4000, 4401, 4403, 4404]; // a new role, signed out, removed, gone

  function merge(html) {
    const section = document.getElementById("renders");
    const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("renders");
    if (!section || !fresh) return;
    const articles = fresh.querySelectorAll("article.render");
    if (section.querySelector("article.render") === null) {
      // "Not rendered yet": nothing on it to keep.
      htmx.swap(section, fresh.outerHTML, { swapStyle: "outerHTML" });
      return;
    }
    articles.forEach(function (article, index) {
      const shown = document.getElementById(article.id);
      if (shown === null) {
        // Newest first: after the one listed before it, or at the top.
        const previous = index > 0 ? document.getElementById(articles[index - 1].id) : null;
        const holder = document.createElement("div");
        if (previous) previous.after(holder);
        else section.insertBefore(holder, section.querySelector("article.render"));
        htmx.swap(holder, article.outerHTML, { swapStyle: "outerHTML" });
      } else if (shown.dataset.state !== article.dataset.state) {
        htmx.swap(shown, article.outerHTML, { swapStyle: "outerHTML" });
      }
    });
    section.toggleAttribute("data-rendering", fresh.hasAttribute("data-rendering"));
  }

  function start() {
    const page = document.querySelector("[data-sequence-socket]");
    if (!page) return;
    let open = false;
    let fetching = false;
    let again = false;
    let lastFetch = 0;
    let retryMs = 1000;

    function refresh() {
      if (fetching) {
        again = true; // one more once this one lands: nothing is missed
        return;
      }
      const wait = lastFetch + AT_MOST_EVERY_MS - Date.now();
      if (wait > 0) {
        fetching = true;
        window.setTimeout(function () {
          fetching = false;
          refresh();
        }, wait);
        return;
      }
      fetching = true;
      lastFetch = Date.now();
      fetch(page.dataset.sequenceUrl, {
        headers: { "HX-Request": "true", "HX-Target": "renders" },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.ok ? response.text() : "";
        })
        .then(merge)
        .catch(function () {})
        .finally(function () {
          fetching = false;
          if (again) {
            again = false;
            refresh();
          }
        });
    }

    window.setInterval(function () {
      const renders = document.getElementById("renders");
      if (!open && renders && renders.hasAttribute("data-rendering")) refresh();
    }, POLL_MS);

    if (typeof WebSocket === "undefined") return;

    function connect() {
      const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      const socket = new WebSocket(scheme + window.location.host + page.dataset.sequenceSocket);
      socket.addEventListener("open", function () {
        open = true;
        page.dataset.live = "open";
        retryMs = 1000;
        refresh(); // whatever changed while the page loaded or the socket was down
      });
      socket.addEventListener("message", function (event) {
        let data = null;
        try {
          data = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        if (data && data.sequence_changed !== undefined) refresh();
      });
      socket.addEventListener("close", function (event) {
        open = false;
        delete page.dataset.live;
        if (RELOAD_CODES.indexOf(event.code) !== -1) {
          window.location.reload();
          return;
        }
        window.setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      });
    }

    connect();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
