// report serve: submit the filters when a drop-down changes, leave empty
// fields out of the address, and count the runs ticked for comparison.
// The page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var filters = document.getElementById("filters");
  if (filters) {
    filters.addEventListener("submit", function () {
      filters.querySelectorAll("select, input").forEach(function (el) {
        if (el.name && el.value === "") {
          el.disabled = true;
        }
      });
    });
    // Back to this page from the next one: the fields are as they were.
    window.addEventListener("pageshow", function () {
      filters.querySelectorAll("select, input").forEach(function (el) { el.disabled = false; });
    });
    filters.querySelectorAll("select.autosubmit").forEach(function (sel) {
      sel.addEventListener("change", function () { filters.requestSubmit(); });
    });
  }
  var button = document.getElementById("compare-button");
  if (!button) {
    return;
  }
  var max = parseInt(button.dataset.max, 10) || 10;
  var boxes = document.querySelectorAll("input[type=checkbox][form=compare]");
  function update() {
    var n = 0;
    boxes.forEach(function (b) { if (b.checked) { n++; } });
    button.disabled = n < 2 || n > max;
    button.textContent = n === 0 ? "Compare selected runs" : "Compare " + n + " run" + (n === 1 ? "" : "s");
  }
  boxes.forEach(function (b) { b.addEventListener("change", update); });
  // Ticks survive going back to the page: count them again.
  window.addEventListener("pageshow", update);
  update();
});
