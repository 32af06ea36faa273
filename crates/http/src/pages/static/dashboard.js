// keyward dashboard: small conveniences on top of pages that work without them.
// - a "Copy" button beside a new key's secret (the Clipboard API needs a secure context:
//   HTTPS or localhost; elsewhere the secret stays selectable in its field);
// - forms with data-confirm ask before revoking or deleting;
// - an element with data-refresh-seconds (a venue's request queue) reloads itself.
(function () {
  "use strict";

  document.querySelectorAll("button[data-copy-target]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    var status = document.getElementById("copy-status");
    if (!field) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function (text) {
        if (status) {
          status.textContent = text;
        }
      };
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(
          function () { done("Copied."); },
          function () { done("Could not copy; select the key and copy it yourself."); }
        );
      } else {
        done("Selected: press Ctrl+C (or ⌘C) to copy.");
      }
    });
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  var live = document.querySelector("[data-refresh-seconds]");
  if (live && window.fetch && window.DOMParser) {
    var seconds = Number(live.getAttribute("data-refresh-seconds")) || 5;
    window.setInterval(function () {
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.text();
        })
        .then(function (text) {
          var fresh = new DOMParser().parseFromString(text, "text/html").getElementById(live.id);
          if (fresh) {
            live.replaceChildren.apply(live, Array.prototype.slice.call(fresh.childNodes).map(function (node) {
              return document.importNode(node, true);
            }));
          }
        })
        .catch(function () {
          // Keep what is shown; the next tick tries again.
        });
    }, seconds * 1000);
  }
})();
