// The submission form: refresh "Already in the bank" as the title is typed. Without
// JavaScript the list is worked out by the server each time the form is shown.
(function () {
  "use strict";
  var box = document.getElementById("similar-initiatives");
  var title = document.getElementById("id_title");
  var summary = document.getElementById("id_summary");
  if (!box || !title || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-similar-url");
  var timer = null;
  var last = title.value + "\n" + (summary ? summary.value : "");

  function refresh() {
    var current = title.value + "\n" + (summary ? summary.value : "");
    if (current === last) {
      return;
    }
    last = current;
    var query = new URLSearchParams({ title: title.value.slice(0, 200), summary: summary ? summary.value.slice(0, 500) : "" });
    fetch(url + "?" + query.toString(), { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null) {
          box.innerHTML = html;
        }
      })
      .catch(function () { /* The list is a hint; a failed refresh keeps the last one. */ });
  }

  // Wait until typing pauses: one request per pause, not one per key.
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 800);
  }
  title.addEventListener("input", later);
  title.addEventListener("change", refresh);
  if (summary) {
    summary.addEventListener("change", refresh);
  }
})();
