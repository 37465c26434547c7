/* The kiosk screen: a patient identifies, picks an invoice, pays by VietQR or the kiosk's
 * card reader, and gets the receipt (on screen, printed on the 80 mm roll, or sent to the
 * phone). Everything shown comes from the API's answers; the screen only sends the
 * patient's choices. Everything personal lives in `visit` and on the screen, and both are
 * wiped when the patient is done, walks away (idle timeout) or goes back to the start. */
(function () {
  "use strict";

  const V = window.Vienphi;
  const T = V.i18n;
  const KEY_STORAGE = "vienphi.kiosk.deviceKey";
  const POLL_MS = 2000;
  const RECEIPT_POLL_MS = 1000;

  const body = document.body;
  const IDLE_SECONDS = Number(body.dataset.idleSeconds) || 60;
  const PAYMENT_IDLE_SECONDS = Number(body.dataset.paymentIdleSeconds) || 300;
  const WARNING_SECONDS = Number(body.dataset.warningSeconds) || 15;

  const api = new V.Api(() => {
    const key = window.localStorage.getItem(KEY_STORAGE);
    return key ? "Device " + key : null;
  });

  T.add({
    vi: {
      "setup.title": "Cài đặt ki-ốt",
      "setup.lead": "Dành cho kỹ thuật viên: nhập khóa thiết bị của ki-ốt này (in ra một lần bởi create_device). Khóa chỉ lưu trên máy này.",
      "setup.key": "Khóa thiết bị",
      "setup.save": "Lưu",
      "setup.invalid": "Khóa thiết bị có dạng dev_kiosk_…",
      "start.title": "Thanh toán viện phí",
      "start.lead": "Quét hoặc nhập số căn cước công dân, mã người bệnh hoặc số thẻ BHYT.",
      "start.kinds": "Tìm theo",
      "start.continue": "Tiếp tục",
      "start.keypad": "Bàn phím số",
      "start.letters": "Chữ cái",
      "start.empty": "Vui lòng nhập hoặc quét số.",
      "start.searching": "Đang tìm…",
      "start.wait": "Quá nhiều lượt tra cứu. Vui lòng chờ {seconds} giây rồi thử lại.",
      "kind.citizen_id": "Căn cước công dân",
      "kind.patient_code": "Mã người bệnh",
      "kind.insurance_number": "Số thẻ BHYT",
      "field.citizen_id": "Số căn cước công dân (12 chữ số)",
      "field.patient_code": "Mã người bệnh (in trên phiếu khám)",
      "field.insurance_number": "Số thẻ bảo hiểm y tế",
      "keypad.clear": "Xóa hết",
      "keypad.back": "Xóa một ký tự",
      "patient.hello": "Xin chào",
      "patient.deposit": "Tiền tạm ứng còn lại",
      "patient.invoices": "Hóa đơn cần thanh toán",
      "patient.nothing": "Không có hóa đơn nào cần thanh toán.",
      "invoice.title": "Hóa đơn {number}",
      "invoice.issued": "Ngày lập {date}",
      "invoice.total": "Tổng chi phí",
      "invoice.insurance": "BHYT chi trả",
      "invoice.paid": "Đã trả",
      "invoice.due": "Còn phải trả",
      "invoice.details": "Xem {count} dịch vụ",
      "invoice.pay": "Thanh toán hóa đơn này",
      "line.name": "Dịch vụ",
      "line.qty": "SL",
      "line.amount": "Thành tiền",
      "line.insurance": "BHYT trả",
      "line.patient": "Người bệnh trả",
      "method.title": "Chọn cách thanh toán",
      "method.invoice": "Hóa đơn",
      "method.vietqr": "Quét mã VietQR",
      "method.vietqr_help": "Chuyển khoản bằng ứng dụng ngân hàng",
      "method.card": "Thẻ ngân hàng",
      "method.card_help": "Cắm, chạm hoặc quẹt thẻ tại đầu đọc",
      "method.starting": "Đang tạo thanh toán…",
      "qr.title": "Quét mã để thanh toán",
      "qr.alt": "Mã VietQR để chuyển khoản",
      "qr.amount": "Số tiền",
      "qr.memo": "Nội dung chuyển khoản",
      "qr.account": "Tài khoản nhận",
      "qr.bank": "Ngân hàng (BIN {bin}) · Số tài khoản {account}",
      "qr.expires": "Mã hết hạn lúc",
      "qr.waiting": "Đang chờ chuyển khoản… Màn hình tự cập nhật khi ngân hàng báo đã nhận tiền.",
      "qr.expired": "Mã QR đã hết hạn. Bạn có thể tạo mã mới.",
      "qr.new": "Tạo mã mới",
      "card.title": "Thanh toán bằng thẻ",
      "card.instruction": "Vui lòng cắm hoặc chạm thẻ vào đầu đọc bên dưới màn hình.",
      "card.waiting": "Đang chờ thẻ…",
      "card.processing": "Đang xử lý, vui lòng không rút thẻ…",
      "card.again": "Thử lại với thẻ",
      "card.to_qr": "Thanh toán bằng mã QR",
      "payment.canceled": "Thanh toán đã được hủy.",
      "payment.canceling": "Đang hủy…",
      "receipt.title": "Thanh toán thành công",
      "receipt.issuing": "Đã nhận tiền. Đang lập biên lai…",
      "receipt.ready": "Cảm ơn bạn! Biên lai của bạn:",
      "receipt.number": "Biên lai số",
      "receipt.amount": "Số tiền",
      "receipt.method": "Hình thức",
      "receipt.lines": "Dịch vụ",
      "receipt.print": "In biên lai",
      "receipt.print_view": "Bản in khổ 80 mm",
      "receipt.print_now": "In",
      "receipt.send": "Gửi về điện thoại",
      "receipt.sending": "Đang gửi…",
      "receipt.sent": "Đã gửi đường dẫn biên lai tới số {recipient}.",
      "receipt.more": "Thanh toán hóa đơn khác",
      "receipt.done": "Hoàn tất",
      "pay_method.vietqr": "Chuyển khoản VietQR",
      "pay_method.card_present": "Thẻ ngân hàng",
      "pay_method.card": "Thẻ ngân hàng",
      "pay_method.cash": "Tiền mặt",
      "decline.card_declined": "Thẻ bị từ chối. Vui lòng thử thẻ khác hoặc thanh toán bằng mã QR.",
      "decline.insufficient_funds": "Tài khoản không đủ tiền. Vui lòng thử thẻ khác hoặc thanh toán bằng mã QR.",
      "decline.expired_card": "Thẻ đã hết hạn. Vui lòng dùng thẻ khác.",
      "decline.incorrect_pin": "Mã PIN chưa đúng. Vui lòng thử lại.",
      "decline.other": "Không thanh toán được bằng thẻ này. Vui lòng thử thẻ khác hoặc thanh toán bằng mã QR.",
      "nav.back": "Quay lại",
      "nav.cancel": "Hủy thanh toán",
      "nav.retry": "Thử lại",
      "idle.title": "Bạn vẫn đang sử dụng?",
      "idle.text": "Màn hình sẽ trở về trang đầu sau",
      "idle.seconds": "giây",
      "idle.stay": "Tiếp tục sử dụng",
      "idle.countdown": "Tự động thoát sau {seconds} giây",
    },
    en: {
      "setup.title": "Kiosk set-up",
      "setup.lead": "For the technician: enter this kiosk's device key (printed once by create_device). The key stays on this machine.",
      "setup.key": "Device key",
      "setup.save": "Save",
      "setup.invalid": "A device key looks like dev_kiosk_…",
      "start.title": "Pay your hospital bill",
      "start.lead": "Scan or type your citizen ID, your patient code or your health-insurance number.",
      "start.kinds": "Find by",
      "start.continue": "Continue",
      "start.keypad": "Number keypad",
      "start.letters": "Letters",
      "start.empty": "Please type or scan the number.",
      "start.searching": "Searching…",
      "start.wait": "Too many look-ups. Please wait {seconds} seconds and try again.",
      "kind.citizen_id": "Citizen ID",
      "kind.patient_code": "Patient code",
      "kind.insurance_number": "Insurance card",
      "field.citizen_id": "Citizen ID number (12 digits)",
      "field.patient_code": "Patient code (printed on your visit slip)",
      "field.insurance_number": "Health-insurance number",
      "keypad.clear": "Clear",
      "keypad.back": "Delete one character",
      "patient.hello": "Hello",
      "patient.deposit": "Advance deposit left",
      "patient.invoices": "Invoices to pay",
      "patient.nothing": "You have no invoice to pay.",
      "invoice.title": "Invoice {number}",
      "invoice.issued": "Issued {date}",
      "invoice.total": "Total cost",
      "invoice.insurance": "Insurance pays",
      "invoice.paid": "Paid",
      "invoice.due": "Left to pay",
      "invoice.details": "Show {count} services",
      "invoice.pay": "Pay this invoice",
      "line.name": "Service",
      "line.qty": "Qty",
      "line.amount": "Amount",
      "line.insurance": "Insurance",
      "line.patient": "You pay",
      "method.title": "Choose how to pay",
      "method.invoice": "Invoice",
      "method.vietqr": "Scan a VietQR code",
      "method.vietqr_help": "Transfer with your banking app",
      "method.card": "Bank card",
      "method.card_help": "Insert, tap or swipe at the card reader",
      "method.starting": "Starting the payment…",
      "qr.title": "Scan the code to pay",
      "qr.alt": "VietQR code for the bank transfer",
      "qr.amount": "Amount",
      "qr.memo": "Transfer memo",
      "qr.account": "Receiving account",
      "qr.bank": "Bank (BIN {bin}) · Account {account}",
      "qr.expires": "Code expires at",
      "qr.waiting": "Waiting for your transfer… The screen updates as soon as the bank reports it.",
      "qr.expired": "The QR code has expired. You can make a new one.",
      "qr.new": "New code",
      "card.title": "Pay by card",
      "card.instruction": "Please insert or tap your card on the reader below the screen.",
      "card.waiting": "Waiting for your card…",
      "card.processing": "Processing, please keep the card in…",
      "card.again": "Try a card again",
      "card.to_qr": "Pay by QR code",
      "payment.canceled": "The payment was canceled.",
      "payment.canceling": "Canceling…",
      "receipt.title": "Payment received",
      "receipt.issuing": "Paid. Issuing your receipt…",
      "receipt.ready": "Thank you! Your receipt:",
      "receipt.number": "Receipt no.",
      "receipt.amount": "Amount",
      "receipt.method": "Paid by",
      "receipt.lines": "Services",
      "receipt.print": "Print receipt",
      "receipt.print_view": "80 mm print view",
      "receipt.print_now": "Print",
      "receipt.send": "Send to my phone",
      "receipt.sending": "Sending…",
      "receipt.sent": "The receipt link was sent to {recipient}.",
      "receipt.more": "Pay another invoice",
      "receipt.done": "Done",
      "pay_method.vietqr": "VietQR bank transfer",
      "pay_method.card_present": "Bank card",
      "pay_method.card": "Bank card",
      "pay_method.cash": "Cash",
      "decline.card_declined": "The card was declined. Please try another card or pay by QR code.",
      "decline.insufficient_funds": "Not enough money on the account. Please try another card or pay by QR code.",
      "decline.expired_card": "The card has expired. Please use another card.",
      "decline.incorrect_pin": "Wrong PIN. Please try again.",
      "decline.other": "This card could not be used. Please try another card or pay by QR code.",
      "nav.back": "Back",
      "nav.cancel": "Cancel payment",
      "nav.retry": "Try again",
      "idle.title": "Are you still there?",
      "idle.text": "The screen goes back to the start in",
      "idle.seconds": "seconds",
      "idle.stay": "I'm still here",
      "idle.countdown": "Returning to the start in {seconds} s",
    },
  });

  const $ = (id) => document.getElementById(id);
  const FIELD_HINTS = { citizen_id: "numeric", patient_code: "text", insurance_number: "text" };
  const PAYMENT_SCREENS = new Set(["qr", "card"]);
  const PENDING = new Set(["pending", "processing"]);

  /* Everything about the patient at the screen. Replaced whole by reset(). */
  function blankVisit() {
    return {
      kind: "citizen_id",
      identifier: null, // {kind, value}: kept only to refresh the list after a payment
      lookup: null,
      invoice: null,
      intent: null, // {key, body}: one payment attempt; a retry sends the same key
      payment: null,
      cancelKey: null,
      receipt: null,
      sendKey: null,
      objectUrls: [],
      generation: 0,
    };
  }

  let visit = blankVisit();
  let generation = 0; // bumped by reset(): answers of an earlier visit are dropped
  let screen = "start";
  let pollTimer = null;
  let waitTimer = null;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else if (name.startsWith("data-")) node.setAttribute(name, value);
      else node[name] = value;
    }
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function show(name) {
    screen = name;
    document.querySelectorAll(".screen").forEach((section) => {
      section.hidden = section.id !== "screen-" + name;
    });
    idle.restart();
    const section = $("screen-" + name);
    const heading = section && section.querySelector("h1");
    if (name === "start") $("identifier").focus();
    else if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }

  function setText(id, text) {
    $(id).textContent = text || "";
  }

  function setError(id, error) {
    setText(id, error ? T.errorText(error) : "");
  }

  /* ---------------------------------------------------------------- idle timeout */

  const idle = {
    deadline: 0,
    ticker: null,
    restart() {
      $("idle").hidden = true;
      if (screen === "start" || screen === "setup") {
        this.stop();
        return;
      }
      const seconds = PAYMENT_SCREENS.has(screen) ? PAYMENT_IDLE_SECONDS : IDLE_SECONDS;
      this.deadline = Date.now() + seconds * 1000;
      if (!this.ticker) this.ticker = window.setInterval(() => this.tick(), 250);
      this.tick();
    },
    stop() {
      if (this.ticker) window.clearInterval(this.ticker);
      this.ticker = null;
      $("countdown").hidden = true;
      $("idle").hidden = true;
    },
    tick() {
      const left = Math.max(0, Math.ceil((this.deadline - Date.now()) / 1000));
      const countdown = $("countdown");
      countdown.hidden = false;
      countdown.textContent = T.t("idle.countdown", { seconds: left });
      if (left <= WARNING_SECONDS) {
        $("idle").hidden = false;
        $("idle-seconds").textContent = String(left);
      }
      if (left <= 0) timeOut();
    },
  };

  function activity(event) {
    if (screen === "start" || screen === "setup") return;
    if (!$("idle").hidden && event.type === "keydown") return; // a scanner must not keep it
    idle.restart();
  }

  async function timeOut() {
    const payment = visit.payment;
    if (payment && PENDING.has(payment.status)) {
      // Free the reader or the QR before leaving; the server decides if it still can.
      const key = V.newKey("kiosk-cancel");
      api.send("/payments/" + payment.id + "/cancel", undefined, key).catch(() => undefined);
    }
    reset();
  }

  /* ------------------------------------------------------------------- reset */

  function reset() {
    generation += 1;
    stopPolling();
    if (waitTimer) window.clearInterval(waitTimer);
    waitTimer = null;
    for (const url of visit.objectUrls) window.URL.revokeObjectURL(url);
    visit = blankVisit();
    visit.generation = generation;
    // Wipe every place the screen showed something of the patient.
    for (const id of [
      "patient-name", "patient-deposit", "method-invoice", "method-amount", "qr-amount",
      "qr-memo", "qr-account", "qr-expires", "card-amount", "card-status", "receipt-number",
      "receipt-amount", "receipt-words", "receipt-method", "receipt-date", "receipt-status",
      "receipt-send-status", "start-error", "method-error", "qr-error", "card-error",
      "receipt-error",
    ]) setText(id, "");
    $("invoices").replaceChildren();
    $("receipt-lines").replaceChildren();
    $("receipt").hidden = true;
    $("qr-image").removeAttribute("src");
    $("print-frame").removeAttribute("src");
    $("print-view").hidden = true;
    $("identifier").value = "";
    $("lookup-submit").disabled = false;
    setKind("citizen_id");
    if (T.language() !== "vi") setLanguage("vi");
    show("start");
  }

  /* ------------------------------------------------------------------- start */

  function setKind(kind) {
    visit.kind = kind;
    document.querySelectorAll(".kind").forEach((button) => {
      button.setAttribute("aria-checked", String(button.dataset.kind === kind));
    });
    const label = $("identifier-label");
    label.dataset.i18n = "field." + kind;
    label.textContent = T.t("field." + kind);
    const input = $("identifier");
    input.inputMode = FIELD_HINTS[kind];
    $("letters").hidden = kind === "citizen_id";
    input.value = "";
    input.focus();
  }

  function buildLetters() {
    const letters = $("letters");
    for (const letter of "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
      letters.append(el("button", { type: "button", "data-key": letter }, letter));
    }
  }

  function press(key) {
    const input = $("identifier");
    if (key === "clear") input.value = "";
    else if (key === "back") input.value = input.value.slice(0, -1);
    else if (input.value.length < input.maxLength) input.value += key;
    input.focus();
  }

  async function lookUp() {
    const input = $("identifier");
    const value = input.value.trim();
    if (!value) {
      setText("start-error", T.t("start.empty"));
      return;
    }
    if ($("lookup-submit").disabled) return;
    $("lookup-submit").disabled = true;
    setText("start-error", T.t("start.searching"));
    const mine = generation;
    try {
      const found = await api.post("/kiosk/lookup", { [visit.kind]: value });
      if (mine !== generation) return;
      visit.identifier = { kind: visit.kind, value };
      visit.lookup = found;
      input.value = "";
      setText("start-error", "");
      renderPatient();
      show("patient");
    } catch (error) {
      if (mine !== generation) return;
      if (error.code === "rate_limited") waitAfterLimit(error.retryAfter || 60);
      else setError("start-error", error);
      if (error.code === "authentication_failed") showSetup();
    } finally {
      if (mine === generation && !waitTimer) $("lookup-submit").disabled = false;
    }
  }

  /* The look-up limit: a friendly countdown instead of an error. */
  function waitAfterLimit(seconds) {
    let left = seconds;
    $("lookup-submit").disabled = true;
    setText("start-error", T.t("start.wait", { seconds: left }));
    waitTimer = window.setInterval(() => {
      left -= 1;
      if (left <= 0) {
        window.clearInterval(waitTimer);
        waitTimer = null;
        $("lookup-submit").disabled = false;
        setText("start-error", "");
      } else setText("start-error", T.t("start.wait", { seconds: left }));
    }, 1000);
  }

  /* After a payment: the same look-up again, for what is still open. */
  async function refreshPatient() {
    const mine = generation;
    const { kind, value } = visit.identifier;
    try {
      visit.lookup = await api.post("/kiosk/lookup", { [kind]: value });
      if (mine !== generation) return;
      visit.invoice = null;
      visit.payment = null;
      visit.intent = null;
      renderPatient();
      show("patient");
    } catch (error) {
      if (mine === generation) setError("receipt-error", error);
    }
  }

  /* ----------------------------------------------------------------- patient */

  function lineRow(line, currency) {
    const row = el("tr");
    row.append(
      el("td", {}, line.name),
      el("td", { class: "num" }, String(line.quantity)),
      el("td", { class: "num" }, T.money(line.amount, currency)),
      el("td", { class: "num" }, T.money(line.insurance_share, currency)),
      el("td", { class: "num" }, T.money(line.patient_share, currency)),
    );
    return row;
  }

  function renderPatient() {
    const found = visit.lookup;
    if (!found) return;
    setText("patient-name", found.masked_name);
    setText("patient-deposit", T.money(found.deposit_balance));
    const list = $("invoices");
    list.replaceChildren();
    $("patient-nothing").hidden = found.invoices.some((invoice) => invoice.amount_due > 0);
    for (const invoice of found.invoices) {
      const item = el("li", { class: "invoice" });
      const head = el("div", { class: "invoice-head" });
      head.append(
        el("h3", {}, T.t("invoice.title", { number: invoice.number })),
        el("p", { class: "muted" }, T.t("invoice.issued", { date: T.dateTime(invoice.issued_at) })),
      );
      const figures = el("dl", { class: "figures" });
      for (const [label, value] of [
        ["invoice.total", invoice.total],
        ["invoice.insurance", invoice.insurance_share],
        ["invoice.paid", invoice.amount_paid],
      ]) figures.append(el("dt", {}, T.t(label)), el("dd", {}, T.money(value, invoice.currency)));
      figures.append(
        el("dt", { class: "due" }, T.t("invoice.due")),
        el("dd", { class: "due big-amount" }, T.money(invoice.amount_due, invoice.currency)),
      );
      const details = el("details");
      details.append(el("summary", {}, T.t("invoice.details", { count: invoice.lines.length })));
      const table = el("table", { class: "lines" });
      const headRow = el("tr");
      for (const key of ["line.name", "line.qty", "line.amount", "line.insurance", "line.patient"]) {
        headRow.append(el("th", { scope: "col" }, T.t(key)));
      }
      const tbody = el("tbody");
      for (const line of invoice.lines) tbody.append(lineRow(line, invoice.currency));
      table.append(el("thead"), tbody);
      table.tHead.append(headRow);
      details.append(table);
      item.append(head, figures, details);
      if (invoice.amount_due > 0) {
        const pay = el("button", { type: "button", class: "primary pay-invoice" }, T.t("invoice.pay"));
        pay.dataset.invoice = String(invoice.id);
        pay.addEventListener("click", () => chooseInvoice(invoice.id));
        item.append(pay);
      }
      list.append(item);
    }
  }

  function chooseInvoice(invoiceId) {
    visit.invoice = visit.lookup.invoices.find((invoice) => invoice.id === invoiceId);
    visit.intent = null;
    renderMethod();
    show("method");
  }

  function renderMethod() {
    const invoice = visit.invoice;
    if (!invoice) return;
    setText("method-invoice", invoice.number);
    setText("method-amount", T.money(invoice.amount_due, invoice.currency));
    setText("method-error", "");
    $("method-retry").hidden = true;
  }

  /* ---------------------------------------------------------------- payments */

  function newIntent(method) {
    const invoice = visit.invoice;
    return {
      key: V.newKey("kiosk-pay"),
      body: {
        invoice_id: invoice.id,
        amount: invoice.amount_due,
        currency: invoice.currency,
        method,
      },
    };
  }

  function setMethodsBusy(busy) {
    $("pay-vietqr").disabled = busy;
    $("pay-card").disabled = busy;
  }

  /* Send the current intent (again): the same key every time, so a double tap or a retry
   * after a lost answer never makes a second payment. */
  async function sendIntent() {
    const intent = visit.intent;
    const mine = generation;
    setMethodsBusy(true);
    setText("method-error", T.t("method.starting"));
    $("method-retry").hidden = true;
    try {
      const payment = await api.send("/payments", intent.body, intent.key);
      if (mine !== generation) return;
      setText("method-error", "");
      visit.payment = payment;
      visit.cancelKey = null;
      if (payment.method === "vietqr") await showQr(payment);
      else showCard(payment);
      if (PENDING.has(payment.status)) follow(payment);
      else decided(payment);
    } catch (error) {
      if (mine !== generation) return;
      show("method");
      setError("method-error", error);
      // Still undecided (network, busy): offer the same intent again; otherwise a new
      // tap makes a new intent.
      const undecided = error.status === 0 || error.status >= 500 || error.code === "request_in_progress";
      $("method-retry").hidden = !undecided;
      if (!undecided) visit.intent = null;
    } finally {
      if (mine === generation) setMethodsBusy(false);
    }
  }

  function pay(method) {
    if ($("pay-vietqr").disabled) return; // a request of this intent is on its way
    visit.intent = newIntent(method);
    sendIntent();
  }

  async function showQr(payment) {
    const action = payment.next_action || {};
    setText("qr-amount", T.money(payment.amount, payment.currency));
    setText("qr-memo", action.memo_code);
    setText("qr-account", T.t("qr.bank", { bin: action.bank_bin, account: action.account }));
    setText("qr-expires", T.dateTime(action.expires_at || payment.expires_at));
    setText("qr-status", T.t("qr.waiting"));
    setText("qr-error", "");
    $("qr-new").hidden = true;
    show("qr");
    if (!action.image_png_url) return;
    const mine = generation;
    try {
      const url = await api.objectUrl(V.pathOf(action.image_png_url));
      if (mine !== generation) {
        window.URL.revokeObjectURL(url);
        return;
      }
      visit.objectUrls.push(url);
      $("qr-image").src = url;
    } catch (error) {
      // The memo and account on screen still let the patient pay by typing them.
      if (mine === generation) setError("qr-error", error);
    }
  }

  function showCard(payment) {
    setText("card-amount", T.money(payment.amount, payment.currency));
    setText("card-status", T.t("card.waiting"));
    setText("card-error", "");
    $("card-again").hidden = true;
    $("card-to-qr").hidden = true;
    show("card");
  }

  function stopPolling() {
    if (pollTimer) window.clearTimeout(pollTimer);
    pollTimer = null;
  }

  /* Live status: ask the API until the payment is decided. */
  function follow(payment) {
    stopPolling();
    const mine = generation;
    const step = async () => {
      if (mine !== generation) return;
      try {
        const fresh = await api.get("/payments/" + payment.id);
        if (mine !== generation) return;
        visit.payment = fresh;
        if (PENDING.has(fresh.status)) {
          pollTimer = window.setTimeout(step, POLL_MS);
          return;
        }
        decided(fresh);
      } catch (error) {
        if (mine !== generation) return;
        pollTimer = window.setTimeout(step, POLL_MS * 2);
      }
    };
    pollTimer = window.setTimeout(step, POLL_MS);
  }

  function declineText(code) {
    const key = "decline." + (code || "card_declined");
    const text = T.t(key);
    return text === key ? T.t("decline.other") : text;
  }

  function decided(payment) {
    stopPolling();
    if (payment.status === "succeeded") {
      showReceipt(payment);
      return;
    }
    if (payment.method === "card_present") {
      if (screen !== "card") show("card");
      setText("card-status", "");
      setText("card-error", payment.status === "failed" ? declineText(payment.failure_code) : T.t("payment.canceled"));
      $("card-again").hidden = false;
      $("card-to-qr").hidden = false;
      visit.intent = null;
      return;
    }
    if (screen !== "qr") show("qr");
    setText("qr-status", "");
    setText("qr-error", payment.status === "expired" ? T.t("qr.expired") : T.t("payment.canceled"));
    $("qr-image").removeAttribute("src");
    $("qr-new").hidden = false;
    visit.intent = null;
  }

  async function cancelPayment() {
    const payment = visit.payment;
    if (!payment || !PENDING.has(payment.status)) {
      backToPatient();
      return;
    }
    visit.cancelKey = visit.cancelKey || V.newKey("kiosk-cancel");
    const mine = generation;
    const statusId = payment.method === "vietqr" ? "qr-status" : "card-status";
    setText(statusId, T.t("payment.canceling"));
    try {
      const canceled = await api.send("/payments/" + payment.id + "/cancel", undefined, visit.cancelKey);
      if (mine !== generation) return;
      visit.payment = canceled;
      if (canceled.status === "succeeded") decided(canceled);
      else backToPatient();
    } catch (error) {
      if (mine !== generation) return;
      // The payment moved on meanwhile (it may have been paid): ask what it is now.
      const fresh = await api.get("/payments/" + payment.id).catch(() => null);
      if (mine !== generation) return;
      if (fresh && !PENDING.has(fresh.status)) decided(fresh);
      else setError(payment.method === "vietqr" ? "qr-error" : "card-error", error);
    }
  }

  function backToPatient() {
    stopPolling();
    visit.payment = null;
    visit.intent = null;
    if (visit.lookup) {
      renderPatient();
      show("patient");
    } else reset();
  }

  /* ----------------------------------------------------------------- receipt */

  async function showReceipt(payment) {
    show("receipt");
    setText("receipt-status", T.t("receipt.issuing"));
    $("receipt").hidden = true;
    $("receipt-print").disabled = true;
    $("receipt-send").disabled = true;
    const others = visit.lookup.invoices.filter((i) => i.id !== payment.invoice_id && i.amount_due > 0);
    $("receipt-more").hidden = others.length === 0;
    const mine = generation;
    for (;;) {
      try {
        const receipt = await api.get("/payments/" + payment.id + "/receipt");
        if (mine !== generation) return;
        visit.receipt = receipt;
        renderReceipt();
        return;
      } catch (error) {
        if (mine !== generation) return;
        if (error.code !== "receipt_not_issued_yet" && error.status !== 0) {
          setError("receipt-error", error);
          return;
        }
        await V.sleep(RECEIPT_POLL_MS);
      }
    }
  }

  function renderReceipt() {
    const receipt = visit.receipt;
    if (!receipt) return;
    const content = receipt.content || {};
    setText("receipt-status", T.t("receipt.ready"));
    setText("receipt-number", receipt.number);
    setText("receipt-amount", T.money(receipt.amount, receipt.currency));
    setText("receipt-words", T.language() === "vi" ? content.amount_in_words : "");
    setText("receipt-method", T.t("pay_method." + (visit.payment ? visit.payment.method : "")));
    setText("receipt-date", T.dateTime(receipt.issued_at));
    const rows = $("receipt-lines");
    rows.replaceChildren();
    for (const line of (content.invoice && content.invoice.lines) || []) {
      const row = el("tr");
      row.append(
        el("td", {}, line.name),
        el("td", { class: "num" }, String(line.quantity)),
        el("td", { class: "num" }, T.money(line.patient_share, receipt.currency)),
      );
      rows.append(row);
    }
    $("receipt").hidden = false;
    $("receipt-print").disabled = false;
    $("receipt-send").disabled = false;
  }

  /* The thermal layout of the receipt PDF (80 mm roll), ready for the kiosk's printer. */
  async function printView() {
    const receipt = visit.receipt;
    if (!receipt) return;
    const mine = generation;
    try {
      const url = await api.objectUrl("/receipts/" + receipt.id + ".pdf?layout=thermal");
      if (mine !== generation) {
        window.URL.revokeObjectURL(url);
        return;
      }
      visit.objectUrls.push(url);
      $("print-frame").src = url;
      $("print-view").hidden = false;
    } catch (error) {
      if (mine === generation) setError("receipt-error", error);
    }
  }

  function printNow() {
    try {
      $("print-frame").contentWindow.print();
    } catch (blocked) {
      window.print();
    }
  }

  /* "Send to my phone": one key per press intent, reused if the answer is lost. */
  async function sendToPhone() {
    const receipt = visit.receipt;
    if (!receipt || $("receipt-send").disabled) return;
    visit.sendKey = visit.sendKey || V.newKey("kiosk-resend");
    $("receipt-send").disabled = true;
    setText("receipt-send-status", T.t("receipt.sending"));
    setText("receipt-error", "");
    const mine = generation;
    try {
      const message = await api.send("/receipts/" + receipt.id + "/resend", { channel: "sms" }, visit.sendKey);
      if (mine !== generation) return;
      setText("receipt-send-status", T.t("receipt.sent", { recipient: message.recipient }));
    } catch (error) {
      if (mine !== generation) return;
      setText("receipt-send-status", "");
      setError("receipt-error", error);
      $("receipt-send").disabled = false;
    }
  }

  /* ------------------------------------------------------------ setup, language */

  function showSetup() {
    stopPolling();
    screen = "setup";
    document.querySelectorAll(".screen").forEach((s) => {
      s.hidden = s.id !== "screen-setup";
    });
    idle.stop();
    $("setup-key").focus();
  }

  function saveSetup(event) {
    event.preventDefault();
    const key = $("setup-key").value.trim();
    if (!/^dev_kiosk_/.test(key)) {
      setText("setup-error", T.t("setup.invalid"));
      return;
    }
    window.localStorage.setItem(KEY_STORAGE, key);
    $("setup-key").value = "";
    setText("setup-error", "");
    reset();
  }

  function setLanguage(lang) {
    T.setLanguage(lang);
    document.querySelectorAll(".lang-button").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
    });
    // What was built from the API's answers is built again in the new language.
    renderPatient();
    renderMethod();
    if (visit.receipt) renderReceipt();
    if (visit.payment && screen === "card") showCardTexts();
  }

  function showCardTexts() {
    if (visit.payment && PENDING.has(visit.payment.status)) setText("card-status", T.t("card.waiting"));
  }

  /* ------------------------------------------------------------------ wiring */

  function wire() {
    buildLetters();
    document.querySelectorAll(".lang-button").forEach((button) => {
      button.addEventListener("click", () => setLanguage(button.dataset.lang));
    });
    document.querySelectorAll(".kind").forEach((button) => {
      button.addEventListener("click", () => setKind(button.dataset.kind));
    });
    for (const pad of [$("keypad"), $("letters")]) {
      pad.addEventListener("click", (event) => {
        const button = event.target.closest("button[data-key]");
        if (button) press(button.dataset.key);
      });
    }
    $("lookup-form").addEventListener("submit", (event) => {
      event.preventDefault();
      lookUp();
    });
    // A card reader or barcode scanner types the number and Enter wherever the focus is.
    document.addEventListener("keydown", (event) => {
      if (screen !== "start" || event.target === $("identifier")) return;
      if (event.ctrlKey || event.altKey || event.metaKey) return;
      if (event.key.length === 1 || event.key === "Enter") $("identifier").focus();
      if (event.key === "Enter") {
        event.preventDefault();
        lookUp();
      }
    });
    document.addEventListener("keydown", (event) => {
      // The technician's way back to the set-up (a keyboard a patient does not have).
      if (event.ctrlKey && event.shiftKey && event.key.toLowerCase() === "k") showSetup();
    });
    document.querySelectorAll(".back").forEach((button) => {
      button.addEventListener("click", () => (screen === "patient" ? reset() : backToPatient()));
    });
    $("pay-vietqr").addEventListener("click", () => pay("vietqr"));
    $("pay-card").addEventListener("click", () => pay("card_present"));
    $("method-retry").addEventListener("click", () => visit.intent && sendIntent());
    document.querySelectorAll(".cancel-payment").forEach((button) => {
      button.addEventListener("click", cancelPayment);
    });
    $("qr-new").addEventListener("click", () => {
      visit.intent = newIntent("vietqr");
      sendIntent();
    });
    $("card-again").addEventListener("click", () => {
      visit.intent = newIntent("card_present");
      sendIntent();
    });
    $("card-to-qr").addEventListener("click", () => {
      visit.intent = newIntent("vietqr");
      sendIntent();
    });
    $("receipt-print").addEventListener("click", printView);
    $("print-now").addEventListener("click", printNow);
    $("receipt-send").addEventListener("click", sendToPhone);
    $("receipt-done").addEventListener("click", reset);
    $("receipt-more").addEventListener("click", refreshPatient);
    $("idle-stay").addEventListener("click", () => idle.restart());
    $("setup-form").addEventListener("submit", saveSetup);
    for (const type of ["pointerdown", "keydown", "touchstart"]) {
      document.addEventListener(type, activity, { passive: true, capture: true });
    }
    if (window.localStorage.getItem(KEY_STORAGE)) reset();
    else showSetup();
  }

  wire();
})();
