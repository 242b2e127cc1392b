/* New-topic form: show only the fieldset of the chosen kind (all are shown without JS). */
(function () {
  "use strict";
  var choices = document.querySelectorAll("input[data-kind-choice]");
  var fieldsets = document.querySelectorAll("[data-kind-fields]");
  if (!choices.length || !fieldsets.length) { return; }
  function update() {
    var chosen = document.querySelector("input[data-kind-choice]:checked");
    var kind = chosen ? chosen.value : "";
    fieldsets.forEach(function (set) { set.hidden = set.getAttribute("data-kind-fields") !== kind; });
    document.querySelectorAll(".kind-fields-intro").forEach(function (p) { p.hidden = true; });
  }
  choices.forEach(function (choice) { choice.addEventListener("change", update); });
  update();
})();
