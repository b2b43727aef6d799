// Live package states: follows the event stream (/api/v1/events) and, on a
// package state change, swaps the state icon inside every element marked
// data-package/data-collection for the icon the server renders for the new
// state (the hidden <template id="state-icons"> of the page frame).
// The pages work the same without it.
(function () {
  "use strict";
  var marked = document.querySelectorAll("[data-package][data-collection]");
  var icons = document.getElementById("state-icons");
  if (!marked.length || !icons || !window.EventSource) {
    return;
  }
  var collections = [];
  marked.forEach(function (el) {
    if (collections.indexOf(el.dataset.collection) < 0) {
      collections.push(el.dataset.collection);
    }
  });
  var lastId = "";

  function show(name, collection, state) {
    var icon = icons.content.querySelector(".state-" + state);
    if (!icon) {
      return;
    }
    marked.forEach(function (el) {
      var old = el.querySelector(".state");
      if (old && el.dataset.package === name && el.dataset.collection === collection) {
        old.replaceWith(icon.cloneNode(true));
      }
    });
  }

  function changed(event) {
    var body = JSON.parse(event.data).body;
    if (body["new"] !== "ignored") {
      show(body.name, body.collection, body["new"]);
      return;
    }
    // Blocked, untracked or unknown: the message does not say which.
    var url = "/api/v1/packages/" + encodeURIComponent(body.collection) +
      "/" + encodeURIComponent(body.name);
    fetch(url).then(function (res) {
      return res.ok ? res.json() : null;
    }).then(function (pkg) {
      if (pkg) {
        show(pkg.name, pkg.collection, pkg.state);
      }
    }).catch(function () {});
  }

  function connect() {
    var url = "/api/v1/events?collection=" + encodeURIComponent(collections.join(","));
    if (lastId) {
      url += "&last_event_id=" + encodeURIComponent(lastId);
    }
    var source = new EventSource(url);
    source.onopen = function () {
      document.body.dataset.live = "on"; // updates are live (for styles and tests)
    };
    source.addEventListener("package.state.change", function (event) {
      lastId = event.lastEventId;
      changed(event);
    });
    source.onerror = function () {
      // The browser retries by itself unless refused (e.g. 503): then
      // start again later, from the last event seen.
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, 10000 + Math.random() * 20000);
      }
    };
  }
  connect();
})();
