// keyward singer page: results follow the search box while the singer types. The page
// works without this file (the search is a plain GET form); this only saves a reload.
// It asks the public singer API (GET /v1/public/venues/{urlName}/songs, SPEC §8) and
// builds the list with DOM calls and textContent only, never HTML from the answer.
(function () {
  "use strict";
  var form = document.getElementById("search");
  var input = document.getElementById("q");
  var results = document.getElementById("results");
  var count = document.getElementById("result-count");
  if (!form || !input || !results || !count || !window.fetch || !window.URLSearchParams) {
    return;
  }
  var venue = form.getAttribute("data-venue");
  var pageSize = Number(form.getAttribute("data-page-size")) || 25;
  var pager = document.querySelector("nav.pager");
  var timer = null;
  var latest = 0;
  var shown = input.value;

  function countText(total, capped, term) {
    if (capped) {
      return "1,000 or more songs — add a word to narrow it down";
    }
    if (total === 0) {
      return term.trim() === "" ? "This song book is empty" : "No songs match your search";
    }
    return total.toLocaleString("en-US") + (total === 1 ? " song" : " songs");
  }

  function requestHref(song) {
    var params = new URLSearchParams();
    params.set("artist", song.artist);
    params.set("title", song.title);
    return "/v/" + encodeURIComponent(venue) + "/request?" + params.toString();
  }

  function render(body, term) {
    results.textContent = "";
    body.data.forEach(function (song) {
      var item = document.createElement("li");
      item.className = "song";
      var artist = document.createElement("span");
      artist.className = "artist";
      artist.textContent = song.artist;
      var title = document.createElement("span");
      title.className = "title";
      title.textContent = song.title;
      var link = document.createElement("a");
      link.className = "request-link button";
      link.href = requestHref(song);
      link.textContent = "Request";
      link.setAttribute("aria-label", "Request " + song.title + " by " + song.artist);
      item.appendChild(artist);
      item.appendChild(title);
      item.appendChild(link);
      results.appendChild(item);
    });
    count.textContent = countText(body.pagination.total, body.pagination.totalCapped, term);
    if (pager) {
      renderPager(body.pagination, term);
    }
  }

  // The pager of a fresh search: page 1, and a link to page 2 when there is one. It is
  // rebuilt whole, since the page may have been rendered without any link.
  function renderPager(pagination, term) {
    var more = pagination.totalCapped || pagination.totalPages > 1;
    pager.textContent = "";
    pager.hidden = !more;
    var prev = document.createElement("span");
    prev.className = "placeholder";
    prev.textContent = "← Previous";
    var label = document.createElement("span");
    label.className = "page-of";
    label.textContent = pagination.totalCapped
      ? "Page 1"
      : "Page 1 of " + Math.max(pagination.totalPages, 1);
    pager.appendChild(prev);
    pager.appendChild(label);
    if (more) {
      var params = new URLSearchParams();
      params.set("q", term);
      params.set("page", "2");
      var next = document.createElement("a");
      next.rel = "next";
      next.href = "/v/" + encodeURIComponent(venue) + "?" + params.toString();
      next.textContent = "Next →";
      pager.appendChild(next);
    }
  }

  function search() {
    var term = input.value;
    if (term === shown) {
      return;
    }
    var ticket = ++latest;
    var params = new URLSearchParams();
    params.set("q", term);
    params.set("limit", String(pageSize));
    fetch("/v1/public/venues/" + encodeURIComponent(venue) + "/songs?" + params.toString(), {
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (response.status === 429) {
          throw new Error("Searching too fast — wait a moment, then search again.");
        }
        if (!response.ok) {
          throw new Error("The search did not work; press Search to try again.");
        }
        return response.json();
      })
      .then(function (body) {
        if (ticket !== latest) {
          return;
        }
        shown = term;
        render(body, term);
        var url = new URL(window.location.href);
        url.searchParams.set("q", term);
        url.searchParams.delete("page");
        window.history.replaceState(null, "", url.toString());
      })
      .catch(function (error) {
        if (ticket === latest) {
          count.textContent = error.message;
        }
      });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 300);
  });
})();
