/* Agora: small progressive enhancements; every page works without this file. */
(function () {
  "use strict";
  // Ask before destructive actions (forms with data-confirm).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  // Keep drafts: text typed in a post editor survives a lost connection or a reload.
  function draftKey(area) { return "agora-draft:" + location.pathname + ":" + area.name; }
  document.querySelectorAll("textarea[data-draft]").forEach(function (area) {
    try {
      var saved = window.localStorage.getItem(draftKey(area));
      if (saved && !area.value) { area.value = saved; }
      area.addEventListener("input", function () { window.localStorage.setItem(draftKey(area), area.value); });
      if (area.form) {
        area.form.addEventListener("submit", function () { window.localStorage.removeItem(draftKey(area)); });
      }
    } catch (e) { /* storage may be disabled */ }
  });
  // Markdown preview through the server's own renderer (the same sanitiser as on save).
  document.querySelectorAll("[data-preview-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var area = document.getElementById(button.getAttribute("data-preview-source"));
      var target = document.getElementById(button.getAttribute("data-preview-target"));
      var form = area.form;
      var body = new FormData();
      body.append("body", area.value);
      body.append("csrf_token", form.querySelector("[name=csrf_token]").value);
      fetch(button.getAttribute("data-preview-url"), { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { target.innerHTML = html; target.hidden = false; target.focus(); })
        .catch(function () { target.textContent = button.getAttribute("data-preview-error"); target.hidden = false; });
    });
  });
  // Narrow a long <select> while typing (registration: find your council). Without this
  // script the same search field reloads the page with a shorter list (?org_q=).
  function fold(text) { return (text || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, ""); }
  document.querySelectorAll("input[data-filter-select]").forEach(function (input) {
    var select = document.getElementById(input.getAttribute("data-filter-select"));
    if (!select) { return; }
    input.addEventListener("input", function () {
      var words = fold(input.value).split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(select.options, function (option) {
        if (!option.value) { return; }
        var text = fold(option.text);
        option.hidden = !option.selected && !words.every(function (w) { return text.indexOf(w) !== -1; });
      });
    });
  });
  // Copy buttons (badge snippets).
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      source.select();
      try { navigator.clipboard.writeText(source.value); } catch (e) { document.execCommand("copy"); }
      button.textContent = button.getAttribute("data-copied") || button.textContent;
    });
  });
})();
