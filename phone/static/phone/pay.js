/* The pay page's script: copy buttons, the live status poll and the card form.
   Everything else is server-rendered HTML; without this script the page still shows the
   bill, the QR code and its details, and the forms still work. */
(function () {
  "use strict";
  var live = document.getElementById("live");
  var nonce = (document.currentScript && document.currentScript.nonce) || "";
  var FIRST_DELAY = 3000, MAX_DELAY = 20000;
  var delay = FIRST_DELAY, timer = null, paused = false;

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "sr-only";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }

  function bindCopyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var label = button.textContent;
        copyText(button.getAttribute("data-copy")).then(function () {
          button.textContent = button.getAttribute("data-copied");
          setTimeout(function () { button.textContent = label; }, 2000);
        });
      });
    });
  }

  // --- live status: poll, back off, stop while hidden or once nothing can change -------
  function schedule() {
    clearTimeout(timer);
    if (paused || document.hidden || live.hasAttribute("data-final")) { return; }
    timer = setTimeout(poll, delay);
  }

  function poll() {
    fetch(live.getAttribute("data-status-url"), {
      headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store"
    }).then(function (response) {
      if (response.status === 404 || response.status === 410) {
        window.location.reload();  // the link ended: the page says why
        return null;
      }
      return response.ok ? response.json() : null;
    }).then(function (body) {
      if (body && body.state !== live.getAttribute("data-state")) {
        live.innerHTML = body.html;
        live.setAttribute("data-state", body.state);
        if (body.final) { live.setAttribute("data-final", "1"); }
        delay = FIRST_DELAY;
        bind(live);
      } else {
        delay = Math.min(Math.round(delay * 1.5), MAX_DELAY);
      }
    }).catch(function () {
      delay = Math.min(delay * 2, MAX_DELAY);
    }).then(schedule);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { clearTimeout(timer); } else { delay = FIRST_DELAY; poll(); }
  });

  // --- card: Stripe's Payment Element, loaded only where the card form is -------------
  function loadScript(src, done) {
    if (window.Stripe) { done(); return; }
    var script = document.createElement("script");
    script.src = src;
    script.nonce = nonce;
    script.onload = done;
    script.onerror = function () { showCardError(""); };
    document.head.appendChild(script);
  }

  function declineText(code) {
    var item = document.querySelector('#decline-texts li[data-code="' + (code || "") + '"]') ||
      document.querySelector('#decline-texts li[data-code=""]');
    return item ? item.textContent : "";
  }

  function showCardError(code) {
    var box = document.getElementById("card-error");
    if (!box) { return; }
    box.textContent = declineText(code);
    box.hidden = false;
  }

  function mountCard(form) {
    loadScript(form.getAttribute("data-stripe-js"), function () {
      var stripe = window.Stripe(form.getAttribute("data-publishable-key"), {
        locale: form.getAttribute("data-locale")
      });
      var elements = stripe.elements({
        clientSecret: form.getAttribute("data-client-secret"),
        locale: form.getAttribute("data-locale")
      });
      elements.create("payment").mount("#card-element");
      var submit = document.getElementById("card-submit");
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        submit.disabled = true;
        paused = true;
        clearTimeout(timer);
        document.getElementById("card-error").hidden = true;
        stripe.confirmPayment({
          elements: elements,
          confirmParams: { return_url: form.getAttribute("data-return-url") },
          redirect: "if_required"
        }).then(function (result) {
          if (result.error) {
            if (result.error.type === "validation_error") {
              submit.disabled = false;  // nothing was sent: correct the card and pay
              paused = false;
              var box = document.getElementById("card-error");
              box.textContent = result.error.message;
              box.hidden = false;
              return;
            }
            // Declined: this attempt is over (the bank said no); another card starts anew.
            showCardError(result.error.decline_code || result.error.code);
            submit.hidden = true;
            document.getElementById("card-retry").hidden = false;
          } else {
            document.getElementById("card-processing").hidden = false;
            submit.hidden = true;
          }
          paused = false;
          delay = FIRST_DELAY;
          schedule();
        });
      });
    });
  }

  function bind(root) {
    bindCopyButtons(root);
    var form = root.querySelector("#card-form");
    if (form) { mountCard(form); }
  }

  if (live) {
    bind(live);
    schedule();
  }
})();
