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
      // A button may ask its own question (a form with "Save" and "Submit once").
      var submitter = event.submitter;
      var question =
        (submitter && submitter.getAttribute("data-confirm-button")) ||
        form.getAttribute("data-confirm");
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

  // "You will receive ..." under a listing's price field, redone as the seller types. The
  // same integer sum as the server (domain/money.py: FeeRate.fee_for): fee = max(price x
  // rate rounded half-up, minimum), never more than the price; the server's figure stands.
  function formatCents(cents) {
    var whole = Math.floor(cents / 100);
    var part = String(cents % 100);
    return "$" + whole.toLocaleString("en-US") + "." + (part.length < 2 ? "0" + part : part);
  }

  function priceCents(text) {
    var match = /^\s*(\d{1,7})(?:\.(\d{1,2}))?\s*$/.exec(text);
    if (!match) return null;
    var fraction = match[2] ? (match[2] + "0").slice(0, 2) : "00";
    return parseInt(match[1], 10) * 100 + parseInt(fraction, 10);
  }

  function setUpFeePreviews() {
    var previews = document.querySelectorAll("[data-fee-preview]");
    Array.prototype.forEach.call(previews, function (preview) {
      var input = document.getElementById(preview.getAttribute("data-for"));
      var out = preview.querySelector(".fee-preview__result");
      if (!input || !out) return;
      var bp = parseInt(preview.getAttribute("data-fee-bp"), 10);
      var minimumFee = parseInt(preview.getAttribute("data-fee-min"), 10);
      var minimumPrice = parseInt(preview.getAttribute("data-min-price"), 10);
      function update() {
        var cents = priceCents(input.value);
        out.textContent = "";
        if (cents === null) {
          out.textContent = "Enter a price to see what you will receive.";
          return;
        }
        if (cents < minimumPrice) {
          out.textContent = "The lowest price is " + formatCents(minimumPrice) + ".";
          return;
        }
        var fee = Math.max(Math.floor((cents * bp + 5000) / 10000), minimumFee);
        fee = Math.min(fee, cents);
        var strong = document.createElement("strong");
        strong.className = "money";
        strong.setAttribute("data-fee-preview-seller", "");
        strong.textContent = formatCents(cents - fee);
        var feeText = document.createElement("span");
        feeText.setAttribute("data-fee-preview-fee", "");
        feeText.textContent = formatCents(fee);
        out.appendChild(document.createTextNode("You will receive "));
        out.appendChild(strong);
        out.appendChild(document.createTextNode(" (our fee "));
        out.appendChild(feeText);
        out.appendChild(document.createTextNode(")."));
      }
      input.addEventListener("input", update);
      if (input.value) update();
    });
  }

  ready(function () {
    setUpNavToggle();
    setUpForms();
    setUpFeePreviews();
  });
})();
