// "Copy text" and "Copy as HTML" on an approved text. The page holds what they copy in two
// hidden text areas: the plain text (as the .txt download) and the clean HTML fragment.
// "Copy text" puts the plain text, with the fragment as its rich version for editors that take
// it; "Copy as HTML" puts the fragment's source as text, and the fragment as rich text.
// The Clipboard API with both types when the browser has it; writeText when it has only that;
// otherwise the copy command, and at worst the text (or the HTML source) is selected for the
// person to copy.
(function () {
  "use strict";

  function legacyCopy(plain, html) {
    var done = false;
    function onCopy(event) {
      event.clipboardData.setData("text/plain", plain);
      if (html) { event.clipboardData.setData("text/html", html); }
      event.preventDefault();
      done = true;
    }
    document.addEventListener("copy", onCopy);
    try {
      done = document.execCommand("copy") && done;
    } catch (error) {
      done = false;
    }
    document.removeEventListener("copy", onCopy);
    return done;
  }

  function copy(plain, html) {
    var clipboard = navigator.clipboard;
    if (clipboard && clipboard.write && window.ClipboardItem) {
      var item = new window.ClipboardItem({
        "text/plain": new Blob([plain], { type: "text/plain" }),
        "text/html": new Blob([html], { type: "text/html" })
      });
      return clipboard.write([item]).catch(function () {
        return clipboard.writeText(plain);
      });
    }
    if (clipboard && clipboard.writeText) {
      return clipboard.writeText(plain);
    }
    return legacyCopy(plain, html) ? Promise.resolve() : Promise.reject(new Error("copy"));
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.querySelectorAll(".js-copy-box").forEach(function (box) {
    var status = box.querySelector("[data-copy-status]");
    var plain = box.querySelector('[data-copy-source="text"]');
    var html = box.querySelector('[data-copy-source="html"]');
    var view = box.closest("section").querySelector("[data-copy-view]");
    if (!plain || !html) { return; }
    box.querySelectorAll("button.js-copy").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var asHtml = button.getAttribute("data-copy") === "html";
        var fragment = html.value;
        status.textContent = "";
        copy(asHtml ? fragment : plain.value, fragment).then(function () {
          status.textContent = box.getAttribute("data-copied");
        }, function () {
          status.textContent = box.getAttribute("data-copy-failed");
          if (asHtml) {  // the source shown, selected, for the person to copy
            html.hidden = false;
            html.removeAttribute("aria-hidden");
            html.focus();
            html.select();
          } else if (view) {
            selectText(view);
          }
        });
      });
    });
  });
})();
