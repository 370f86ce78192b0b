// The writing workspace: live word count, keyword checklist, autosave of the draft, and the
// rules before delivery (portal/orders/checks.py judges the text on each autosave; this script
// shows the answer and keeps the Deliver button disabled while something blocks).
//
// The text is never lost: every change is copied to localStorage (one key per writer and order)
// before anything is sent; a refused or failed save keeps it there and says so; an expired
// session or CSRF token is reported and the save retried (with a fresh token once the writer has
// logged in again in another tab); on load, text this browser kept but the server never got is
// offered back.
(function () {
  "use strict";

  var SAVE_AFTER_TYPING_MS = 3000;
  var SAVE_WHILE_DIRTY_MS = 15000;

  // --- the rules before delivery, as the server's last autosave answered ----------------------

  function fillList(list, findings) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    findings.forEach(function (finding) {
      var item = document.createElement("li");
      item.dataset.code = finding.code;
      item.textContent = finding.message;
      list.appendChild(item);
    });
  }

  function showChecks(checks) {
    var panel = document.getElementById("delivery-checks");
    if (!panel || !checks) { return; }
    var ok = checks.blocking.length === 0;
    panel.classList.toggle("is-ok", ok);
    panel.classList.toggle("is-blocked", !ok);
    document.getElementById("checks-summary").textContent =
      ok ? panel.dataset.msgReady : panel.dataset.msgBlocked;
    fillList(document.getElementById("checks-blocking"), checks.blocking);
    fillList(document.getElementById("checks-warnings"), checks.warnings);
    document.getElementById("checks-warnings-box").classList.toggle(
      "d-none", checks.warnings.length === 0);
    var button = document.getElementById("deliver");
    if (button) { button.disabled = !ok; }
  }

  function readStored(key) {
    try {
      var entry = JSON.parse(window.localStorage.getItem(key));
      return entry && typeof entry.text === "string" ? entry : null;
    } catch (error) {
      return null;
    }
  }

  function forget(key) {
    try { window.localStorage.removeItem(key); } catch (error) { /* storage unavailable */ }
  }

  // A delivered or closed order: drop what this browser kept once the server has it.
  var closed = document.getElementById("workspace-closed");
  if (closed) {
    var kept = readStored(closed.dataset.storageKey);
    if (kept && (kept.delivering || !kept.unsaved)) { forget(closed.dataset.storageKey); }
  }

  var form = document.getElementById("deliver-form");
  if (!form) { return; }

  var d = form.dataset;
  var key = d.storageKey;
  var editor = document.getElementById("editor");
  var baseInput = document.getElementById("base-version");
  var statusEl = document.getElementById("autosave-status");
  var countEl = document.getElementById("word-count");
  var keywordItems = document.querySelectorAll("#keywords [data-keyword]");
  var deliverButton = document.getElementById("deliver");
  var lang = document.documentElement.lang || "fr";
  var plural = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;

  var version = parseInt(baseInput.value, 10) || 0;
  var dirty = d.unsaved === "1";
  var inFlight = null;
  var stopped = false; // a conflict or a lost order: saving again would not help
  var expired = false;
  var submitting = false;
  var typingTimer = null;

  // Numbers as the page's language groups them ("1 200" with U+202F in French), as the
  // server writes them (portal/i18n.py).
  var numbers = window.Intl && Intl.NumberFormat ? new Intl.NumberFormat(lang) : null;

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (whole, name) {
      if (!Object.prototype.hasOwnProperty.call(values, name)) { return whole; }
      var value = values[name];
      return typeof value === "number" && numbers ? numbers.format(value) : String(value);
    });
  }

  // --- the same rules as portal/orders/text.py ------------------------------------------------

  var WORD = /[\p{L}\p{N}_’'-]+/gu;
  var HAS_LETTER = /[\p{L}\p{N}_]/u;

  function stripMarkdown(text) {
    return text.replace(/\]\([^)]*\)/g, "]").replace(/[#*_`>[\]]/g, " ");
  }

  function wordCount(text) {
    var words = stripMarkdown(text).match(WORD) || [];
    return words.filter(function (word) { return HAS_LETTER.test(word); }).length;
  }

  // Keyword matching: case, accents, plurals and feminines do not count (match_key in
  // text.py, whose comment states the rules; a unit test runs both on the same words).
  var KEY_WORD = /[\p{L}\p{N}]+/gu;
  var FEMININE = [["euse", "eu"], ["eur", "eu"], ["ive", "if"], ["enne", "en"], ["onne", "on"],
                  ["elle", "el"], ["ette", "et"], ["ere", "er"], ["e", ""]];

  function matchKey(word) {
    var bare = word.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "");
    if (bare.slice(-4) === "eaux") {
      bare = bare.slice(0, -1);
    } else if (bare.length >= 5 && bare.slice(-3) === "aux") {
      bare = bare.slice(0, -3) + "al";
    } else if (bare.length >= 4 && /[sx]$/.test(bare)) {
      bare = bare.slice(0, -1);
    }
    if (bare.length < 5) { return bare; }
    for (var i = 0; i < FEMININE.length; i += 1) {
      var ending = FEMININE[i][0];
      if (bare.slice(-ending.length) === ending) {
        return bare.slice(0, -ending.length) + FEMININE[i][1];
      }
    }
    return bare;
  }

  function matchKeys(text) {
    return (stripMarkdown(text).match(KEY_WORD) || []).map(matchKey);
  }

  function hasKeyword(keys, keyword) {
    var needle = matchKeys(keyword);
    if (!needle.length) { return false; }
    for (var i = 0; i + needle.length <= keys.length; i += 1) {
      var j = 0;
      while (j < needle.length && keys[i + j] === needle[j]) { j += 1; }
      if (j === needle.length) { return true; }
    }
    return false;
  }

  function refreshCounts() {
    var text = editor.value;
    var count = wordCount(text);
    var min = parseInt(d.wordsMin, 10);
    var max = parseInt(d.wordsMax, 10);
    var one = plural ? plural.select(count) === "one" : count === 1;
    countEl.textContent = fill(one ? d.msgWordOne : d.msgWordOther, { count: count }) +
      " — " + fill(d.msgTarget, { min: min, max: max });
    countEl.classList.toggle("words-inside", count >= min && count <= max);
    countEl.classList.toggle("words-outside", count < min || count > max);

    var keys = matchKeys(text);
    keywordItems.forEach(function (item) {
      var present = hasKeyword(keys, item.dataset.keyword);
      item.classList.toggle("is-present", present);
      var state = item.querySelector(".writing-keyword-state");
      if (state) { state.textContent = present ? d.msgPresent : d.msgMissing; }
    });
  }

  // --- keeping the text in this browser -------------------------------------------------------

  function keep(unsaved, extra) {
    var entry = { text: editor.value, version: version, at: Date.now(), unsaved: unsaved };
    if (extra) { Object.keys(extra).forEach(function (name) { entry[name] = extra[name]; }); }
    try { window.localStorage.setItem(key, JSON.stringify(entry)); } catch (error) { /* full */ }
  }

  function setStatus(message, state) {
    statusEl.textContent = message;
    statusEl.classList.remove("autosave-ok", "autosave-pending", "autosave-error");
    statusEl.classList.add("autosave-" + state);
  }

  // --- CSRF token, renewed after a new login in another tab ------------------------------------

  var meta = document.querySelector('meta[name="csrf-token"]');

  function token() { return meta ? meta.content : ""; }

  function renewToken() {
    return fetch(d.pageUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok && !response.redirected ? response.text() : "";
      })
      .then(function (html) {
        if (!html) { return false; }
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.querySelector('meta[name="csrf-token"]');
        if (!fresh || !fresh.content || fresh.content === token()) { return false; }
        meta.content = fresh.content;
        document.querySelectorAll('input[name="csrf_token"]').forEach(function (input) {
          input.value = fresh.content;
        });
        return true;
      })
      .catch(function () { return false; });
  }

  // --- the preview: the server's rendering of the saved text ---------------------------------
  //
  // The autosave answer carries the HTML the client's page would show for the text just saved
  // (the same Markdown and cleaning, portal/orders/text.py), so the preview costs no request of
  // its own. "Write" and "Preview" are tabs: on a phone there is no room for a second column.

  var previewBody = document.getElementById("preview-body");
  var previewStatus = document.getElementById("preview-status");
  var tabs = document.getElementById("editor-tabs");
  var tabWrite = document.getElementById("tab-write");
  var tabPreview = document.getElementById("tab-preview");
  var panelWrite = document.getElementById("panel-write");
  var panelPreview = document.getElementById("panel-preview");
  var toolbar = document.querySelector("[data-editor-toolbar]");

  function previewSays() {
    if (!previewStatus) { return; }
    var p = previewStatus.dataset;
    previewStatus.textContent = !dirty ? p.msgCurrent : inFlight ? p.msgUpdating : p.msgBehind;
  }

  function showPreview(html) {
    // Safe to insert: cleaned by the server with an allow-list of tags (render_markdown).
    if (previewBody && typeof html === "string") { previewBody.innerHTML = html; }
    previewSays();
  }

  function selectTab(preview) {
    tabWrite.setAttribute("aria-selected", preview ? "false" : "true");
    tabPreview.setAttribute("aria-selected", preview ? "true" : "false");
    tabWrite.tabIndex = preview ? -1 : 0;
    tabPreview.tabIndex = preview ? 0 : -1;
    panelWrite.hidden = preview;
    panelPreview.hidden = !preview;
    if (toolbar) { toolbar.classList.toggle("invisible", preview); }
    if (preview && dirty && !stopped) {
      window.clearTimeout(typingTimer);
      save();
    }
    previewSays();
  }

  if (tabs && previewBody) {
    tabs.setAttribute("role", "tablist");
    [[tabWrite, panelWrite], [tabPreview, panelPreview]].forEach(function (pair) {
      pair[0].setAttribute("role", "tab");
      pair[1].setAttribute("role", "tabpanel");
      pair[1].setAttribute("aria-labelledby", pair[0].id);
    });
    panelPreview.classList.add("is-tab");
    tabs.hidden = false;
    tabWrite.addEventListener("click", function () { selectTab(false); });
    tabPreview.addEventListener("click", function () { selectTab(true); });
    tabs.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") { return; }
      event.preventDefault();
      var preview = tabWrite.getAttribute("aria-selected") === "true";
      selectTab(preview);
      (preview ? tabPreview : tabWrite).focus();
    });
    selectTab(false);

    // On a wide screen the writer may put the preview beside the text (the brief then goes
    // below them); it follows each autosave. The choice is kept in this browser.
    var both = document.getElementById("tab-both");
    var workspace = document.querySelector(".workspace");
    var wide = window.matchMedia ? window.matchMedia("(min-width: 1200px)") : null;
    var BOTH_KEY = "portal.editor.side-by-side";

    var sideBySide = function (on) {
      workspace.classList.toggle("is-side-by-side", on);
      both.setAttribute("aria-pressed", on ? "true" : "false");
      tabs.hidden = on;
      if (on) {
        panelWrite.hidden = false;
        panelPreview.hidden = false;
        if (toolbar) { toolbar.classList.remove("invisible"); }
        if (dirty && !stopped) { window.clearTimeout(typingTimer); save(); }
        previewSays();
      } else {
        selectTab(false);
      }
    };

    if (both && workspace && wide) {
      var remembered = false;
      try { remembered = window.localStorage.getItem(BOTH_KEY) === "1"; } catch (error) { /* */ }
      var fit = function () {
        both.hidden = !wide.matches;
        if (!wide.matches && workspace.classList.contains("is-side-by-side")) { sideBySide(false); }
        if (wide.matches && remembered && !workspace.classList.contains("is-side-by-side")) {
          sideBySide(true);
        }
      };
      both.addEventListener("click", function () {
        var on = !workspace.classList.contains("is-side-by-side");
        remembered = on;
        try { window.localStorage.setItem(BOTH_KEY, on ? "1" : "0"); } catch (error) { /* */ }
        sideBySide(on);
      });
      if (wide.addEventListener) { wide.addEventListener("change", fit); }
      fit();
    }
  }

  // --- saving -----------------------------------------------------------------------------

  function handle(status, data, sentText) {
    if (status === 200 && data.ok) {
      expired = false;
      version = data.version;
      baseInput.value = String(version);
      dirty = editor.value !== sentText;
      keep(dirty);
      setStatus(dirty ? d.msgUnsaved : data.message, dirty ? "pending" : "ok");
      showChecks(data.checks);
      showPreview(data.preview_html);
      return;
    }
    if (status === 409 || status === 404) {
      stopped = true;
      setStatus(data.error || d.msgGone, "error");
      return;
    }
    if (status === 401 || status === 403 || (status === 400 && data.reason !== "bad_request") ||
        (status === 200 && !data.ok)) {
      expired = true;
      setStatus(d.msgExpired, "error");
      renewToken().then(function (renewed) { if (renewed) { save(); } });
      return;
    }
    if (status === 400) {
      setStatus(data.error || d.msgError, "error");
      return;
    }
    setStatus(d.msgError, "error");
  }

  function save() {
    if (inFlight) { return inFlight; }
    if (!dirty || stopped) { return Promise.resolve(); }
    var sentText = editor.value;
    setStatus(d.msgSaving, "pending");
    inFlight = fetch(d.saveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": token(),
        "X-Requested-With": "fetch",
      },
      body: JSON.stringify({ text: sentText, base_version: version }),
    })
      .then(function (response) {
        return response.json()
          .catch(function () { return {}; })
          .then(function (data) { handle(response.status, data, sentText); });
      })
      .catch(function () { setStatus(d.msgFailed, "error"); })
      .then(function () { inFlight = null; previewSays(); });
    previewSays();
    return inFlight;
  }

  editor.addEventListener("input", function () {
    dirty = true;
    keep(true);
    refreshCounts();
    if (!stopped && !expired) { setStatus(d.msgUnsaved, "pending"); }
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(save, SAVE_AFTER_TYPING_MS);
  });

  window.setInterval(function () { if (dirty) { save(); } }, SAVE_WHILE_DIRTY_MS);

  // --- the buttons ----------------------------------------------------------------------------

  // The confirmation of the Deliver button is asked here, before waiting for a save in flight.
  var confirmDeliver = deliverButton ? deliverButton.getAttribute("data-confirm") : null;
  if (deliverButton) { deliverButton.removeAttribute("data-confirm"); }

  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.id === "save-now") {
      event.preventDefault();
      dirty = true;
      stopped = false;
      save();
      return;
    }
    if (confirmDeliver && !window.confirm(confirmDeliver)) {
      event.preventDefault();
      return;
    }
    // The text goes with the form; it stays in this browser until the page says it is delivered.
    keep(true, { delivering: true });
    if (inFlight) {
      event.preventDefault();
      inFlight.then(function () {
        baseInput.value = String(version);
        submitting = true;
        form.submit();
      });
      return;
    }
    baseInput.value = String(version);
    submitting = true;
  });

  window.addEventListener("beforeunload", function (event) {
    if (dirty && !submitting) {
      keep(true);
      event.preventDefault();
      event.returnValue = d.msgLeave;
    }
  });

  // --- text this browser kept but the server never got --------------------------------------

  var banner = document.getElementById("restore-banner");
  var stored = readStored(key);
  if (stored && stored.unsaved && stored.text !== editor.value) {
    var when = new Date(stored.at || Date.now());
    document.getElementById("restore-message").textContent =
      fill(d.msgRestore, { time: when.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" }) });
    banner.classList.remove("d-none");
    document.getElementById("restore-accept").addEventListener("click", function () {
      editor.value = stored.text;
      banner.classList.add("d-none");
      dirty = true;
      keep(true);
      refreshCounts();
      save();
      editor.focus();
    });
    document.getElementById("restore-discard").addEventListener("click", function () {
      banner.classList.add("d-none");
      keep(dirty);
    });
  } else if (!dirty) {
    keep(false);
  }

  refreshCounts();
  if (dirty) { setStatus(d.msgUnsaved, "pending"); }
})();
