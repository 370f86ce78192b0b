// The formatting toolbar over a Markdown textarea (the writer's text): each button writes the
// Markdown for the writer (headings, bold, italics, lists, links) around the selection, or
// removes it when it is already there. Ctrl+B, Ctrl+I and Ctrl+K (Cmd on a Mac) do the same as
// Bold, Italics and Link. Edits go through the browser's own text insertion when it has one, so
// Ctrl+Z undoes them, and each fires "input" like typing does (autosave and counts follow).
// The toolbar is in the page hidden; it shows only once this script runs.
(function () {
  "use strict";

  var bar = document.querySelector("[data-editor-toolbar]");
  if (!bar) { return; }
  var editor = document.getElementById(bar.getAttribute("aria-controls"));
  if (!editor) { return; }
  var d = bar.dataset;

  function replaceRange(start, end, text, selectFrom, selectTo) {
    editor.focus();
    editor.setSelectionRange(start, end);
    var inserted = false;
    try { inserted = document.execCommand("insertText", false, text); } catch (error) { inserted = false; }
    if (!inserted) {
      editor.setRangeText(text, start, end, "end");
      editor.dispatchEvent(new Event("input", { bubbles: true }));
    }
    editor.setSelectionRange(selectFrom, selectTo);
  }

  function run(value, at, step) {
    // How many "*" touch position `at`, going left (step -1) or right (step 1).
    var count = 0;
    var i = step < 0 ? at - 1 : at;
    while (i >= 0 && i < value.length && value[i] === "*") { count += 1; i += step; }
    return count;
  }

  // Bold (size 2) or italics (size 1): "**" or "*" around the selection, spaces left outside.
  function emphasis(size, placeholder) {
    var v = editor.value;
    var s = editor.selectionStart;
    var e = editor.selectionEnd;
    while (s < e && /\s/.test(v[s])) { s += 1; }
    while (e > s && /\s/.test(v[e - 1])) { e -= 1; }
    var marker = size === 2 ? "**" : "*";
    // Already there (outside or inside the selection): take it away. A run of 3 is both.
    var outside = Math.min(run(v, s, -1), run(v, e, 1));
    var inside = e - s > 2 * size ? Math.min(run(v, s, 1), run(v, e, -1)) : 0;
    var has = function (n) { return size === 2 ? n === 2 || n >= 3 : n === 1 || n >= 3; };
    if (s < e && has(outside)) {
      var inner = v.slice(s, e);
      replaceRange(s - size, e + size, inner, s - size, e - size);
      return;
    }
    if (s < e && has(inside)) {
      var bare = v.slice(s + size, e - size);
      replaceRange(s, e, bare, s, s + bare.length);
      return;
    }
    var text = s < e ? v.slice(s, e) : placeholder;
    replaceRange(s, e, marker + text + marker, s + size, s + size + text.length);
  }

  var LINE_PREFIX = /^(#{1,6}[ \t]+|[-*+][ \t]+|\d{1,9}[.)][ \t]+)/;

  // Headings and lists apply to whole lines: every line the selection touches.
  function lines(kind) {
    var v = editor.value;
    var s = editor.selectionStart;
    var e = editor.selectionEnd;
    if (e > s && v[e - 1] === "\n") { e -= 1; }
    var start = v.lastIndexOf("\n", s - 1) + 1;
    var end = v.indexOf("\n", e);
    if (end < 0) { end = v.length; }
    var wanted = { h2: "## ", h3: "### ", ul: "- " }[kind];
    var all = v.slice(start, end).split("\n");
    var written = all.filter(function (line) { return line.trim(); });
    var already = written.length > 0 && written.every(function (line) {
      return kind === "ol" ? /^\d{1,9}[.)][ \t]/.test(line) : line.indexOf(wanted) === 0;
    });
    var number = 0;
    var text = all.map(function (line) {
      if (!line.trim()) { return line; }
      var bare = line.replace(LINE_PREFIX, "");
      if (already) { return bare; }
      number += 1;
      return (kind === "ol" ? number + ". " : wanted) + bare;
    }).join("\n");
    if (!text.trim()) {
      // An empty line: the mark and the caret after it.
      text = kind === "ol" ? "1. " : wanted;
      replaceRange(start, end, text, start + text.length, start + text.length);
      return;
    }
    replaceRange(start, end, text, start + text.length, start + text.length);
  }

  function link() {
    var v = editor.value;
    var s = editor.selectionStart;
    var e = editor.selectionEnd;
    while (s < e && /\s/.test(v[s])) { s += 1; }
    while (e > s && /\s/.test(v[e - 1])) { e -= 1; }
    var selected = v.slice(s, e);
    if (/^(https?:\/\/|www\.)\S+$/i.test(selected)) {
      // An address: it is its own label; the label is selected to be rewritten.
      var href = /^www\./i.test(selected) ? "https://" + selected : selected;
      replaceRange(s, e, "[" + selected + "](" + href + ")", s + 1, s + 1 + selected.length);
      return;
    }
    var label = selected || d.placeholderLink;
    var text = "[" + label + "](https://)";
    if (selected) {
      // The label is there: the address is what to write now.
      var at = s + label.length + 3;
      replaceRange(s, e, text, at, at + "https://".length);
    } else {
      replaceRange(s, e, text, s + 1, s + 1 + label.length);
    }
  }

  function apply(format) {
    if (format === "bold") { emphasis(2, d.placeholderBold); }
    else if (format === "italic") { emphasis(1, d.placeholderItalic); }
    else if (format === "link") { link(); }
    else { lines(format); }
  }

  var buttons = Array.prototype.slice.call(bar.querySelectorAll("button[data-format]"));

  buttons.forEach(function (button, index) {
    button.tabIndex = index === 0 ? 0 : -1;
    button.addEventListener("click", function () { apply(button.dataset.format); });
    // One stop in the Tab order; the arrows move along the toolbar (ARIA toolbar pattern).
    button.addEventListener("keydown", function (event) {
      var next = null;
      if (event.key === "ArrowRight") { next = (index + 1) % buttons.length; }
      else if (event.key === "ArrowLeft") { next = (index - 1 + buttons.length) % buttons.length; }
      else if (event.key === "Home") { next = 0; }
      else if (event.key === "End") { next = buttons.length - 1; }
      if (next === null) { return; }
      event.preventDefault();
      buttons.forEach(function (other, i) { other.tabIndex = i === next ? 0 : -1; });
      buttons[next].focus();
    });
  });

  editor.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) { return; }
    var format = { b: "bold", i: "italic", k: "link" }[event.key.toLowerCase()];
    if (!format) { return; }
    event.preventDefault();
    apply(format);
  });

  bar.hidden = false;
})();
