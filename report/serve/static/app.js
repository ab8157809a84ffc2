// report serve: submit the filters when a drop-down changes, and count
// the runs ticked for comparison. The page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select.autosubmit").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });
  var form = document.getElementById("compare");
  var button = document.getElementById("compare-button");
  if (!form || !button) {
    return;
  }
  var max = parseInt(button.dataset.max, 10) || 10;
  var boxes = document.querySelectorAll('input[type=checkbox][form=compare]');
  function update() {
    var n = 0;
    boxes.forEach(function (b) { if (b.checked) { n++; } });
    button.disabled = n < 2 || n > max;
    button.textContent = n === 0 ? "Compare selected runs" : "Compare " + n + " run" + (n === 1 ? "" : "s");
  }
  boxes.forEach(function (b) { b.addEventListener("change", update); });
  update();
});
