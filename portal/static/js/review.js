// The approval form: a rating of 1 or 2 makes the comment required, and says so before sending.
(function () {
  "use strict";
  document.querySelectorAll("form.js-approve-form").forEach(function (form) {
    var comment = form.elements.namedItem("comment");
    if (!comment) { return; }
    function update() {
      var checked = form.querySelector('input[name="rating"]:checked');
      var low = checked && (checked.value === "1" || checked.value === "2");
      comment.required = Boolean(low);
      comment.classList.toggle("border-warning", Boolean(low));
    }
    form.addEventListener("change", update);
    update();
  });
})();
