// Collection pages: instant preview of the chosen photo, and live progress while a stub
// is being read. Progressive enhancement: without this file the upload still works and the
// stub page refreshes itself (<noscript> meta refresh) until the reading ends.
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

  ready(function () {
    setUpPreviews();
    setUpReadingPoll();
  });
})();
