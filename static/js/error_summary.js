// A form came back with errors: move focus to the summary at its top, so keyboard and
// screen-reader users hear what to fix first. Without JavaScript the summary is still
// the first thing in the content; each of its links leads to a field.
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
})();
