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

// Lists shown as cards on a phone (table.table-cards, portal.css): each cell gets its column's
// name from the header, shown above the value when the table is a stack of cards.
(function () {
  "use strict";
  document.querySelectorAll("table.table-cards").forEach(function (table) {
    var names = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.querySelector(".visually-hidden") ? "" : th.textContent.trim();
    });
    table.querySelectorAll("tbody > tr").forEach(function (row) {
      if (row.cells.length !== names.length) { return; }
      Array.prototype.forEach.call(row.cells, function (cell, index) {
        if (index > 0 && names[index] && !cell.hasAttribute("data-label")) {
          cell.setAttribute("data-label", names[index]);
        }
      });
    });
  });
})();
