// Checkout and order pages: reservation countdown, polling while a payment is being
// confirmed, and Stripe's Payment Element in Stripe mode. Data comes from data-* attributes
// (the CSP allows no inline script). Without this file the pages still work: the order
// page says to reload, the sandbox payment is a plain link.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // <p data-countdown="ISO time" data-expired-text="..."><strong data-countdown-text>
  function setUpCountdowns() {
    var nodes = document.querySelectorAll("[data-countdown]");
    Array.prototype.forEach.call(nodes, function (node) {
      var until = Date.parse(node.getAttribute("data-countdown"));
      var text = node.querySelector("[data-countdown-text]");
      if (isNaN(until) || !text) return;
      function tick() {
        var left = Math.round((until - Date.now()) / 1000);
        if (left <= 0) {
          node.textContent = node.getAttribute("data-expired-text") || "";
          node.classList.add("is-expired");
          return false;
        }
        var minutes = Math.floor(left / 60);
        var seconds = left % 60;
        text.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds + " min left";
        return true;
      }
      if (tick()) {
        var timer = window.setInterval(function () {
          if (!tick()) window.clearInterval(timer);
        }, 1000);
      }
    });
  }

  // <div data-poll-url="/api/payments/orders/7" data-poll-status="pending">: ask for the
  // order's status (and refund state) every few seconds and reload the page once it has
  // changed.
  function setUpPolling() {
    var node = document.querySelector("[data-poll-url]");
    if (!node) return;
    var url = node.getAttribute("data-poll-url");
    var status = node.getAttribute("data-poll-status");
    var delay = 2000;
    var tries = 0;
    function poll() {
      tries += 1;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          var order = body && body.order;
          // "paid/pending" while a refund is on its way: its outcome reloads the page too.
          var now = order && order.order_status + (order.refund_state ? "/" + order.refund_state : "");
          if (now && now !== status) {
            window.location.reload();
            return;
          }
          schedule();
        })
        .catch(schedule);
    }
    function schedule() {
      // Quick at first (a card payment settles in seconds), then gently slower.
      if (tries > 10) delay = Math.min(delay * 1.5, 30000);
      window.setTimeout(poll, delay);
    }
    schedule();
  }

  // Stripe mode: <form id="payment-form" data-stripe-key data-stripe-account
  // data-client-secret data-return-url>. Direct charges: Stripe.js is initialised for the
  // seller's connected account.
  function setUpStripe() {
    var form = document.getElementById("payment-form");
    if (!form || typeof window.Stripe !== "function") return;
    var stripe = window.Stripe(form.getAttribute("data-stripe-key"), {
      stripeAccount: form.getAttribute("data-stripe-account")
    });
    var elements = stripe.elements({ clientSecret: form.getAttribute("data-client-secret") });
    var paymentElement = elements.create("payment");
    paymentElement.mount("#payment-element");
    var message = document.getElementById("payment-message");
    var button = document.getElementById("payment-submit");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      message.hidden = true;
      stripe
        .confirmPayment({
          elements: elements,
          confirmParams: { return_url: form.getAttribute("data-return-url") }
        })
        .then(function (result) {
          // Only reached on an error: success redirects to return_url.
          if (result.error) {
            message.textContent =
              result.error.type === "card_error" || result.error.type === "validation_error"
                ? result.error.message
                : "The payment could not be completed. Please try again.";
            message.hidden = false;
          }
          button.disabled = false;
        });
    });
  }

  ready(function () {
    setUpCountdowns();
    setUpPolling();
    setUpStripe();
  });
})();
