// Small behaviours for every page. No inline scripts anywhere: the CSP forbids them.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Selects marked js-autosubmit send their form when changed (the language switch);
  // without JavaScript the form keeps its own button.
  document.querySelectorAll("select.js-autosubmit").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) { select.form.requestSubmit(); }
    });
  });

  // Buttons with data-confirm ask before their form is sent.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = button && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
})();
