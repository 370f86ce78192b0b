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

// Long selects marked data-filter-label (the time zone chooser) get a search box above them:
// typing keeps the options whose name or value holds the words typed and selects the first
// of them. Without JavaScript the select is whole and works the same.
(function () {
  "use strict";

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/_/g, " ");
  }

  document.querySelectorAll("select[data-filter-label]").forEach(function (select, index) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "form-control mb-2";
    box.id = (select.id || "select") + "-filter-" + index;
    box.placeholder = select.getAttribute("data-filter-placeholder") || "";
    box.setAttribute("aria-label", select.getAttribute("data-filter-label") || "");
    box.setAttribute("aria-controls", select.id);
    box.autocomplete = "off";
    var none = document.createElement("div");
    none.className = "form-text d-none";
    none.setAttribute("aria-live", "polite");
    none.textContent = select.getAttribute("data-filter-none") || "";
    select.parentNode.insertBefore(box, select);
    select.parentNode.insertBefore(none, select);

    box.addEventListener("input", function () {
      var words = fold(box.value).split(/\s+/).filter(Boolean);
      var first = null;
      select.querySelectorAll("optgroup").forEach(function (group) {
        var shown = 0;
        var region = fold(group.label);
        group.querySelectorAll("option").forEach(function (option) {
          var text = region + " " + fold(option.value) + " " + fold(option.textContent);
          var match = words.every(function (word) { return text.indexOf(word) !== -1; });
          option.hidden = !match;
          option.disabled = !match && !option.selected;
          if (match) {
            shown += 1;
            if (!first) { first = option; }
          }
        });
        group.hidden = shown === 0;
      });
      none.classList.toggle("d-none", first !== null);
      if (first && select.selectedOptions[0] && select.selectedOptions[0].hidden) {
        first.selected = true;
      }
    });
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
