// Page behaviour that used to sit in inline handlers (the Content-Security-Policy allows scripts from files only).
(function () {
  "use strict";
  // <form data-confirm="确定……？">: ask before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
  // <a data-back>: go back in history when there is a page to go back to, else follow the link.
  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest && event.target.closest("a[data-back]");
    if (link && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });
})();
