// Collection pages: instant preview of the chosen photo, live progress while a stub is
// being read, and "Looks right" without reloading. Progressive enhancement: without this
// file the upload still works, the stub page refreshes itself (<noscript> meta refresh)
// until the reading ends, and "Looks right" posts the review form.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // <input type="file" data-preview="ID">: show the chosen image in #ID at once, from a
  // blob: URL (the CSP allows blob: images), without sending anything.
  function setUpPreviews() {
    var inputs = document.querySelectorAll("input[type=file][data-preview]");
    Array.prototype.forEach.call(inputs, function (input) {
      var box = document.getElementById(input.getAttribute("data-preview"));
      if (!box) return;
      var image = box.querySelector("img");
      var current = null;
      input.addEventListener("change", function () {
        if (current) URL.revokeObjectURL(current);
        current = null;
        var file = input.files && input.files[0];
        if (!file || !/^image\/(png|jpeg)$/.test(file.type)) {
          image.hidden = true;
          image.removeAttribute("src");
          box.setAttribute("data-empty", "true");
          return;
        }
        current = URL.createObjectURL(file);
        image.src = current;
        image.hidden = false;
        box.setAttribute("data-empty", "false");
      });
    });
  }

  // [data-reading-poll=URL]: ask the stub API every second and a half; when the reading is
  // done or failed, reload the page to show the fields (the page renders them server-side).
  function setUpReadingPoll() {
    var box = document.querySelector("[data-reading-poll]");
    if (!box || !window.fetch) return;
    var url = box.getAttribute("data-reading-poll");
    var text = box.querySelector(".reading__text");
    var failures = 0;
    var started = Date.now();

    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("status " + response.status);
          return response.json();
        })
        .then(function (body) {
          var status = body && body.stub && body.stub.reading_status;
          if (status === "done" || status === "failed") {
            window.location.reload();
            return;
          }
          failures = 0;
          if (text && Date.now() - started > 20000) {
            text.textContent = "Still reading: a detailed photo can take a little longer. You can leave this page; the stub is saved.";
          }
          window.setTimeout(poll, 1500);
        })
        .catch(function () {
          failures += 1;
          if (failures >= 5) {
            if (text) text.textContent = "We lost touch with the server. Refresh the page to see whether the reading has finished.";
            return;
          }
          window.setTimeout(poll, 3000);
        });
    }
    window.setTimeout(poll, 1000);
  }

  // "Looks right" ([data-confirm-field] submit buttons of #review-form): mark the field as
  // right through PATCH /api/stubs/<id> (the form's data-stub-api) and update the page in
  // place, keeping whatever else the owner is typing. The buttons stay submit buttons: if
  // the owner edited that field, or the request fails, the form is posted as without this
  // script (the server saves the edits and the confirmation together).
  function setUpConfirmButtons() {
    var form = document.getElementById("review-form");
    if (!form || !window.fetch) return;
    var api = form.getAttribute("data-stub-api");
    form.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("[data-confirm-field]");
      if (!button || !api || button.getAttribute("aria-disabled") === "true") return;
      var name = button.getAttribute("data-confirm-field");
      var input = form.elements[name];
      if (input && input.value !== input.defaultValue) return;
      event.preventDefault();
      button.setAttribute("aria-disabled", "true");
      fetch(api, {
        method: "PATCH",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ confirmed_fields: [name] }),
      })
        .then(function (response) {
          if (!response.ok) throw new Error("status " + response.status);
          return response.json();
        })
        .then(function (body) {
          showConfirmed(name);
          updateNotice(form, (body && body.stub && body.stub.unsure_fields) || []);
        })
        .catch(function () {
          button.removeAttribute("aria-disabled");
          if (form.requestSubmit) form.requestSubmit(button);
          else form.submit();
        });
    });
  }

  function showConfirmed(name) {
    var box = document.querySelector('[data-field="' + name + '"]');
    var note = document.getElementById("confirmed-note");
    if (!box || !note) return;
    box.classList.remove("review-field--unsure");
    box.classList.add("review-field--confirmed");
    var confidence = box.querySelector(".confidence");
    if (!confidence) return;
    confidence.className = "confidence confidence--confirmed";
    confidence.replaceChildren(note.content.cloneNode(true));
  }

  // The notice above the form lists the suggestions left; it goes when none is.
  function updateNotice(form, unsure) {
    var notice = document.querySelector("[data-unsure-notice]");
    if (!notice) return;
    if (!unsure.length) {
      notice.remove();
      return;
    }
    var labels = unsure.map(function (name) {
      var label = form.querySelector('label[for="' + name + '"]');
      return label ? label.textContent.trim() : name;
    });
    var count = notice.querySelector("[data-unsure-count]");
    var list = notice.querySelector("[data-unsure-list]");
    var all = notice.querySelector("[data-confirm-all]");
    if (count) {
      count.textContent =
        "We are not sure about " + unsure.length + " field" + (unsure.length === 1 ? "" : "s");
    }
    if (list) list.textContent = labels.join(", ");
    if (all) all.textContent = unsure.length === 1 ? "It looks right" : "They all look right";
  }

  ready(function () {
    setUpPreviews();
    setUpReadingPoll();
    setUpConfirmButtons();
  });
})();
