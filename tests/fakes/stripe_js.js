/* A stand-in for Stripe.js v3, served by the fake Stripe server (GET /v3/) to the browser
   tests, so that no test reaches the internet. It follows the part of Stripe.js's contract
   the pay page uses:

     var stripe = Stripe(publishableKey, {locale});
     var elements = stripe.elements({clientSecret, locale});
     elements.create("payment").mount("#card-element");
     stripe.confirmPayment({elements, confirmParams: {return_url}, redirect: "if_required"})
       -> Promise of {paymentIntent} | {error: {type, code, decline_code?, message}}

   The Payment Element is a card form (number, expiry, CVC) drawn in the page instead of
   Stripe's iframe. Confirming posts to the fake's /v1/payment_intents/<id>/confirm with the
   publishable key and the client secret, as Stripe.js does, naming the test payment method
   of the typed test card number; a card error answers {error} (the intent waits for another
   payment method), an intent that needs the bank's check (4000 0027 6000 3184) is followed
   to its next_action.redirect_to_url — the fake's 3-D Secure page, which sends the browser
   back to return_url with Stripe's query whether or not it was approved — and success stays on the page ("if_required") or goes to
   return_url with Stripe's query (payment_intent, payment_intent_client_secret,
   redirect_status). Card numbers that are not test cards are a validation_error, as
   Stripe.js refuses them before any request. */
(function () {
  "use strict";
  var API = new URL(document.currentScript.src).origin;
  var TEST_CARDS = {
    "4242424242424242": "pm_card_visa",
    "5555555555554444": "pm_card_mastercard",
    "4000000000000002": "pm_card_chargeDeclined",
    "4000000000009995": "pm_card_chargeDeclinedInsufficientFunds",
    "4000002760003184": "pm_card_authenticationRequired"  // 3-D Secure on every payment
  };
  var TEXT = {
    vi: { number: "Số thẻ", expiry: "Ngày hết hạn (MM/YY)", cvc: "Mã bảo mật (CVC)",
          incomplete: "Số thẻ chưa đủ.", invalid: "Số thẻ không hợp lệ." },
    en: { number: "Card number", expiry: "Expiry (MM/YY)", cvc: "Security code (CVC)",
          incomplete: "Your card number is incomplete.", invalid: "Your card number is invalid." }
  };

  function encode(fields) {
    return Object.keys(fields).map(function (name) {
      return encodeURIComponent(name) + "=" + encodeURIComponent(fields[name]);
    }).join("&");
  }

  function field(container, id, label, autocomplete) {
    var wrap = document.createElement("div");
    var labelEl = document.createElement("label");
    labelEl.htmlFor = id;
    labelEl.textContent = label;
    var input = document.createElement("input");
    input.id = id;
    input.name = id;
    input.inputMode = "numeric";
    input.autocomplete = autocomplete;
    input.style.display = "block";
    input.style.width = "100%";
    input.style.minHeight = "2.75rem";
    input.style.margin = "0.25rem 0 0.5rem";
    input.style.padding = "0.5rem";
    input.style.fontSize = "1rem";
    input.style.border = "1px solid #6b7680";
    input.style.borderRadius = "0.4rem";
    wrap.appendChild(labelEl);
    wrap.appendChild(input);
    container.appendChild(wrap);
    return input;
  }

  function PaymentElement(text) {
    this.text = text;
    this.inputs = null;
  }
  PaymentElement.prototype.mount = function (selector) {
    var container = typeof selector === "string" ? document.querySelector(selector) : selector;
    container.textContent = "";
    this.inputs = {
      number: field(container, "stripe-card-number", this.text.number, "cc-number"),
      expiry: field(container, "stripe-card-expiry", this.text.expiry, "cc-exp"),
      cvc: field(container, "stripe-card-cvc", this.text.cvc, "cc-csc")
    };
  };
  PaymentElement.prototype.on = function () { return this; };
  PaymentElement.prototype.unmount = function () { this.inputs = null; };

  function Elements(options, text) {
    this.clientSecret = options.clientSecret;
    this.text = text;
    this.element = null;
  }
  Elements.prototype.create = function (type) {
    if (type !== "payment") { throw new Error("stand-in: only the payment element"); }
    this.element = new PaymentElement(this.text);
    return this.element;
  };
  Elements.prototype.getElement = function () { return this.element; };

  function Stripe(publishableKey, options) {
    if (!(this instanceof Stripe)) { return new Stripe(publishableKey, options); }
    this.key = publishableKey;
    this.text = TEXT[(options && options.locale) || "en"] || TEXT.en;
  }
  Stripe.prototype.elements = function (options) {
    var locale = options && options.locale;
    return new Elements(options || {}, (locale && TEXT[locale]) || this.text);
  };
  Stripe.prototype.confirmPayment = function (params) {
    var elements = params.elements;
    var element = elements.element;
    var text = elements.text;
    var number = (element && element.inputs ? element.inputs.number.value : "").replace(/\s+/g, "");
    if (number.length < 16) {
      return Promise.resolve({ error: { type: "validation_error", code: "incomplete_number",
                                        message: text.incomplete } });
    }
    if (!TEST_CARDS[number]) {
      return Promise.resolve({ error: { type: "validation_error", code: "invalid_number",
                                        message: text.invalid } });
    }
    var secret = elements.clientSecret;
    var intentId = secret.split("_secret_")[0];
    var returnUrl = (params.confirmParams && params.confirmParams.return_url) || "";
    return fetch(API + "/v1/payment_intents/" + intentId + "/confirm", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: encode({ key: this.key, client_secret: secret, payment_method: TEST_CARDS[number],
                     return_url: returnUrl })
    }).then(function (response) {
      return response.json();
    }).then(function (body) {
      if (body.error) { return { error: body.error }; }
      var redirect = body.next_action && body.next_action.redirect_to_url;
      if (body.status === "requires_action" && redirect) {
        window.location.assign(redirect.url);
        return new Promise(function () {});  // the page is leaving
      }
      if (params.redirect === "if_required") { return { paymentIntent: body }; }
      window.location.assign(returnUrl + (returnUrl.indexOf("?") < 0 ? "?" : "&") + encode({
        payment_intent: body.id, payment_intent_client_secret: secret,
        redirect_status: body.status === "succeeded" || body.status === "processing"
          ? "succeeded" : "failed"
      }));
      return new Promise(function () {});
    });
  };

  window.Stripe = Stripe;
})();
