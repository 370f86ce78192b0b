// The live quote of the brief form: as the client changes the word count, the level or the
// deadline, the server prices the order again (POST /orders/quote, JSON) and the box shows it.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  ready(function () {
    var form = document.getElementById("brief-form");
    var box = document.querySelector(".quote-box");
    if (!form || !box) { return; }
    var url = form.getAttribute("data-quote-url");
    var tokenMeta = document.querySelector('meta[name="csrf-token"]');
    var total = document.getElementById("quote-total");
    var details = document.getElementById("quote-details");
    var base = document.getElementById("quote-base");
    var rush = document.getElementById("quote-rush");
    var rushParts = box.querySelectorAll(".quote-rush");
    var message = document.getElementById("quote-message");
    var fields = ["words_max", "tier_id", "deadline"];
    var timer = null;
    var sequence = 0;

    function value(name) {
      var input = form.elements.namedItem(name);
      return input ? input.value : "";
    }

    function setHidden(element, hidden) {
      if (element) { element.classList.toggle("d-none", hidden); }
    }

    function show(data) {
      box.classList.remove("quote-loading");
      box.classList.toggle("quote-error", !data.ok);
      message.textContent = data.message || data.error || "";
      if (!data.ok) {
        total.textContent = "—";
        setHidden(details, true);
        return;
      }
      total.textContent = data.total_display;
      base.textContent = data.base_display;
      rush.textContent = data.rush_display;
      setHidden(details, false);
      rushParts.forEach(function (part) { setHidden(part, !data.is_rush); });
    }

    function refresh() {
      var mine = ++sequence;
      box.classList.add("quote-loading");
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "Accept": "application/json",
          "X-CSRFToken": tokenMeta ? tokenMeta.getAttribute("content") : ""
        },
        body: JSON.stringify({
          words_max: value("words_max"),
          tier_id: value("tier_id"),
          deadline: value("deadline")
        })
      }).then(function (response) {
        return response.json().catch(function () {
          return { ok: false, message: box.getAttribute("data-error") || "" };
        });
      }).then(function (data) {
        if (mine === sequence) { show(data); }
      }).catch(function () {
        if (mine === sequence) {
          show({ ok: false, message: box.getAttribute("data-error") || "" });
        }
      });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 300);
    }

    // A new brief: the deadline follows the chosen tier's default (its lead time, at 18:00
    // in the client's zone) until the client picks a deadline themselves.
    var defaults = null;
    try {
      defaults = JSON.parse(form.getAttribute("data-deadline-defaults") || "null");
    } catch (error) {
      defaults = null;
    }
    var deadlineInput = form.elements.namedItem("deadline");
    var tierInput = form.elements.namedItem("tier_id");
    if (defaults && deadlineInput && tierInput) {
      var chosenByHand = false;
      deadlineInput.addEventListener("input", function () { chosenByHand = true; });
      tierInput.addEventListener("change", function () {
        var value = defaults[tierInput.value];
        if (!chosenByHand && value) { deadlineInput.value = value; }
      });
    }

    fields.forEach(function (name) {
      var input = form.elements.namedItem(name);
      if (!input) { return; }
      input.addEventListener("input", later);
      input.addEventListener("change", later);
    });
    refresh();
  });
})();
