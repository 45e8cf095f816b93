// Progressive enhancements only: every page works without this file.
// Loaded from our own origin (the CSP allows no inline script).
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // Collapsible main navigation on narrow screens.
  function setUpNavToggle() {
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("site-nav");
    if (!toggle || !nav) return;
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      nav.classList.toggle("is-open", !open);
    });
  }

  // Ask before destructive actions: <form data-confirm="Cancel this listing?">.
  // One submission per click: a double click must not send a payment or a form twice.
  function setUpForms() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      var question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        return;
      }
      if (form.getAttribute("data-submitting") === "true") {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-submitting", "true");
      var buttons = form.querySelectorAll("[data-submit-once]");
      for (var i = 0; i < buttons.length; i++) {
        buttons[i].setAttribute("aria-disabled", "true");
        buttons[i].classList.add("is-busy");
      }
    });
    // Coming back with the browser's back button restores the page from cache: re-arm it.
    window.addEventListener("pageshow", function () {
      var forms = document.querySelectorAll("form[data-submitting]");
      for (var i = 0; i < forms.length; i++) {
        forms[i].removeAttribute("data-submitting");
        var busy = forms[i].querySelectorAll(".is-busy");
        for (var j = 0; j < busy.length; j++) {
          busy[j].classList.remove("is-busy");
          busy[j].removeAttribute("aria-disabled");
        }
      }
    });
  }

  ready(function () {
    setUpNavToggle();
    setUpForms();
  });
})();
