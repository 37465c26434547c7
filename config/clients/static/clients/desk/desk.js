/* The cashier console: keyboard-first. The cashier signs in (staff token, kept in this
 * tab's memory only), opens a session with the opening count, finds a patient, takes
 * cash (the change comes from the API), card at the desk reader, VietQR, several tenders
 * for one invoice, advances; refunds (a supervisor approves on this screen with their
 * own sign-in, used once and revoked, or from their own queue), payouts, leftovers;
 * two-sided cash transfers (to another drawer or the safe, counted in by the receiver),
 * handover, blind close and the Z-report. Every figure and decision comes from the API's
 * answers; what waits for the signed-in person (transfers to count in, approvals) is read
 * again every few seconds. */
(function () {
  "use strict";

  const V = window.Vienphi;
  const T = V.i18n;
  const $ = (id) => document.getElementById(id);
  let token = null;
  const api = new V.Api(() => (token ? "Token " + token : null));

  T.add({
    vi: {
      "desk.title": "Quầy thu ngân", "desk.lang": "English", "desk.signout": "Đăng xuất",
      "desk.shortcuts": "Phím tắt: F6 tìm · F2 tiền mặt · F3 thẻ · F4 VietQR · F8 đóng ca · Esc hủy",
      "signin.title": "Đăng nhập", "signin.username": "Tên đăng nhập", "signin.password": "Mật khẩu", "signin.submit": "Đăng nhập",
      "open.title": "Mở ca", "open.terminal": "Mã quầy", "open.submit": "Mở ca",
      "count.legend": "Kiểm đếm theo mệnh giá", "count.notes": "Số tờ {value}",
      "find.title": "Tìm người bệnh", "find.kind": "Tìm theo", "find.value": "Số", "find.submit": "Tìm (F6)",
      "kind.patient_code": "Mã người bệnh", "kind.citizen_id": "Căn cước công dân", "kind.insurance_number": "Số thẻ BHYT",
      "patient.deposit": "Tạm ứng", "patient.invoices": "Hóa đơn", "patient.encounters": "Đợt điều trị",
      "patient.recent": "Thanh toán gần đây", "recent.empty": "Chưa có khoản thanh toán nào.", "recent.more": "Xem thêm",
      "invoice.line": "{number}: còn {due} / tổng người bệnh {share}", "invoice.take": "Thu",
      "encounter.line": "#{id} {kind} · {department} · tạm ứng {deposit} · phải trả lại {owed}",
      "encounter.advance": "Thu tạm ứng", "encounter.payback": "Trả lại tiền thừa",
      "tender.title": "Thu tiền", "tender.due": "Còn phải thu", "tender.amount": "Số tiền thu lần này",
      "tender.given": "Khách đưa (tiền mặt)", "tender.cash": "Tiền mặt (F2)", "tender.card": "Thẻ (F3)", "tender.qr": "VietQR (F4)",
      "tender.change": "Tiền thối lại: {change}", "tender.paid": "Đã thu {amount}", "tender.waiting": "Đang chờ thanh toán…",
      "tender.advance": "tạm ứng đợt #{id}",
      "payments.title": "Các lần thanh toán", "payment.line": "{method} {amount} · {status}",
      "payment.refund": "Hoàn tiền", "payment.refundable": "tối đa {amount}", "refund.line": "Hoàn {amount} · {status}", "refund.payout": "Chi trả tiền mặt",
      "refunds.of": "Các lần hoàn của khoản này", "refund.payout_listed": "Chi tiền hoàn", "refund.paid_out": "Đã chi {amount} tiền hoàn",
      "refund.payout_transfer": "Chi chuyển khoản",
      "session.title": "Ca làm việc", "session.line": "Quầy {terminal} · mở lúc {opened} · tiền đầu ca {float}",
      "handover.title": "Bàn giao ca", "handover.to": "Người nhận (tên đăng nhập)", "handover.submit": "Bàn giao",
      "handover.done": "Đã bàn giao cho {to}. Chờ người nhận kiểm đếm.",
      "handover.waiting": "Ca của {from} tại quầy {terminal} bàn giao cho bạn", "handover.accept": "Nhận và kiểm đếm",
      "close.title": "Đóng ca (đếm mù, F8)", "close.submit": "Đóng ca",
      "approvals.title": "Chờ giám sát duyệt", "approvals.session": "Ca {id} ({cashier}) chênh lệch {variance}",
      "approvals.refund": "Hoàn {amount} của {payment} ({by})", "approvals.approve": "Duyệt",
      "approve.title": "Giám sát duyệt hoàn tiền", "approve.what": "Hoàn {amount} (cần giám sát duyệt)",
      "approve.approve": "Duyệt", "approve.reject": "Từ chối", "nav.cancel": "Hủy",
      "report.title": "Báo cáo Z", "report.pdf": "Xem PDF", "report.done": "Xong",
      "report.expected": "Tiền mặt theo sổ", "report.counted": "Tiền mặt kiểm đếm", "report.variance": "Chênh lệch",
      "report.gross": "Tổng thu", "report.refunds": "Hoàn tiền", "report.net": "Thực thu", "report.opening": "Tiền đầu ca",
      "report.status": "Trạng thái", "report.agrees": "Khớp sổ cái",
      "method.cash": "Tiền mặt", "method.card_present": "Thẻ", "method.vietqr": "VietQR", "method.card": "Thẻ",
      "transfer.title": "Chuyển tiền (sang quầy khác, về két)", "transfer.to": "Chuyển đến", "transfer.note": "Ghi chú",
      "transfer.submit": "Gửi tiền", "transfer.list": "Chuyển tiền của ca", "transfer.safe": "Két chính",
      "transfer.drawer": "Quầy {terminal} ({cashier})", "transfer.line": "{amount}: {from} → {to} · {status}",
      "transfer.counted": "đếm được {counted}", "transfer.cancel": "Hủy chuyển",
      "transfer.sent": "Đã gửi {amount} đến {to}. Chờ bên nhận kiểm đếm.",
      "transfer.confirmed": "Đã nhận {counted} (bên gửi ghi {amount}).", "transfer.canceled": "Đã hủy chuyển {amount}: tiền về lại ngăn kéo.",
      "inbox.title": "Việc chờ bạn", "inbox.empty": "Không có việc nào đang chờ.",
      "incoming.title": "Tiền chuyển đến, chờ bạn kiểm đếm", "incoming.line": "{amount} từ {from} đến {to}",
      "incoming.confirm": "Xác nhận số đếm",
      "approvals.reject": "Từ chối", "approvals.done": "Đã duyệt: {what}", "approvals.rejected": "Đã từ chối: {what}",
      "payback.title": "Trả lại tiền thừa (đợt #{id})", "payback.amount": "Số tiền trả lại", "payback.method": "Cách trả",
      "payback.cash": "Tiền mặt tại quầy", "payback.bank_transfer": "Chuyển khoản ngân hàng",
      "payback.reference": "Mã giao dịch ngân hàng", "payback.done": "Đã trả lại {amount} ({method}).",
      "tender.card_wait": "Mời người bệnh cắm hoặc chạm thẻ vào máy đọc thẻ…", "tender.cancel": "Hủy thanh toán (Esc)",
      "tender.canceled": "Đã hủy thanh toán.",
      "decline.card_declined": "Thẻ bị từ chối. Mời người bệnh dùng thẻ khác hoặc cách trả khác.",
      "decline.insufficient_funds": "Thẻ bị từ chối: tài khoản không đủ tiền. Mời người bệnh dùng thẻ khác hoặc cách trả khác.",
      "decline.expired_card": "Thẻ đã hết hạn. Mời người bệnh dùng thẻ khác.",
      "decline.incorrect_pin": "Mã PIN chưa đúng. Mời người bệnh thử lại.",
      "decline.other": "Không thanh toán được bằng thẻ này ({code}). Mời người bệnh dùng cách trả khác.",
      "status.pending": "đang chờ", "status.processing": "đang xử lý", "status.succeeded": "thành công", "status.failed": "thất bại",
      "status.canceled": "đã hủy", "status.expired": "hết hạn", "status.confirmed": "đã nhận", "status.requested": "chờ giám sát duyệt",
      "status.approved": "đã duyệt", "status.rejected": "bị từ chối", "status.pending_payout": "chờ chi trả",
      "status.partially_refunded": "đã hoàn một phần", "status.refunded": "đã hoàn", "status.open": "đang mở", "status.closed": "đã đóng",
      "status.pending_approval": "chờ giám sát duyệt", "status.handover_pending": "chờ bàn giao",
    },
    en: {
      "desk.title": "Cashier desk", "desk.lang": "Tiếng Việt", "desk.signout": "Sign out",
      "desk.shortcuts": "Shortcuts: F6 find · F2 cash · F3 card · F4 VietQR · F8 close · Esc cancel",
      "signin.title": "Sign in", "signin.username": "User name", "signin.password": "Password", "signin.submit": "Sign in",
      "open.title": "Open a session", "open.terminal": "Desk code", "open.submit": "Open",
      "count.legend": "Count by note", "count.notes": "Notes of {value}",
      "find.title": "Find a patient", "find.kind": "Find by", "find.value": "Number", "find.submit": "Find (F6)",
      "kind.patient_code": "Patient code", "kind.citizen_id": "Citizen ID", "kind.insurance_number": "Insurance card",
      "patient.deposit": "Advances", "patient.invoices": "Invoices", "patient.encounters": "Stays and visits",
      "patient.recent": "Recent payments", "recent.empty": "No payments yet.", "recent.more": "Show more",
      "invoice.line": "{number}: due {due} / patient share {share}", "invoice.take": "Take",
      "encounter.line": "#{id} {kind} · {department} · advances {deposit} · owed back {owed}",
      "encounter.advance": "Take an advance", "encounter.payback": "Pay back the leftover",
      "tender.title": "Take payment", "tender.due": "Still due", "tender.amount": "Amount this time",
      "tender.given": "Cash handed over", "tender.cash": "Cash (F2)", "tender.card": "Card (F3)", "tender.qr": "VietQR (F4)",
      "tender.change": "Change: {change}", "tender.paid": "Took {amount}", "tender.waiting": "Waiting for the payment…",
      "tender.advance": "advance on #{id}",
      "payments.title": "Payments", "payment.line": "{method} {amount} · {status}",
      "payment.refund": "Refund", "payment.refundable": "at most {amount}", "refund.line": "Refund {amount} · {status}", "refund.payout": "Pay out in cash",
      "refunds.of": "Refunds of this payment", "refund.payout_listed": "Pay out", "refund.paid_out": "Paid out a refund of {amount}",
      "refund.payout_transfer": "Pay out by bank transfer",
      "session.title": "Session", "session.line": "Desk {terminal} · opened {opened} · float {float}",
      "handover.title": "Hand over", "handover.to": "Receiver (user name)", "handover.submit": "Hand over",
      "handover.done": "Handed over to {to}. Waiting for their count.",
      "handover.waiting": "{from}'s drawer at desk {terminal} is handed over to you", "handover.accept": "Count and take over",
      "close.title": "Close (blind count, F8)", "close.submit": "Close",
      "approvals.title": "Waiting for a supervisor", "approvals.session": "Session {id} ({cashier}) variance {variance}",
      "approvals.refund": "Refund {amount} of {payment} ({by})", "approvals.approve": "Approve",
      "approve.title": "Supervisor approval of a refund", "approve.what": "Refund {amount} (needs a supervisor)",
      "approve.approve": "Approve", "approve.reject": "Reject", "nav.cancel": "Cancel",
      "report.title": "Z-report", "report.pdf": "Show PDF", "report.done": "Done",
      "report.expected": "Expected cash", "report.counted": "Counted cash", "report.variance": "Variance",
      "report.gross": "Gross takings", "report.refunds": "Refunds", "report.net": "Net takings", "report.opening": "Opening float",
      "report.status": "Status", "report.agrees": "Agrees with the ledger",
      "method.cash": "Cash", "method.card_present": "Card", "method.vietqr": "VietQR", "method.card": "Card",
      "transfer.title": "Transfer cash (to another desk, to the safe)", "transfer.to": "Send to", "transfer.note": "Note",
      "transfer.submit": "Send the cash", "transfer.list": "This session's transfers", "transfer.safe": "Main safe",
      "transfer.drawer": "Desk {terminal} ({cashier})", "transfer.line": "{amount}: {from} → {to} · {status}",
      "transfer.counted": "counted {counted}", "transfer.cancel": "Cancel the transfer",
      "transfer.sent": "Sent {amount} to {to}. Waiting for the receiver's count.",
      "transfer.confirmed": "Counted in {counted} (sent as {amount}).", "transfer.canceled": "Transfer of {amount} canceled: the cash is back in the drawer.",
      "inbox.title": "Waiting for you", "inbox.empty": "Nothing is waiting.",
      "incoming.title": "Cash sent to you, waiting for your count", "incoming.line": "{amount} from {from} to {to}",
      "incoming.confirm": "Confirm the count",
      "approvals.reject": "Reject", "approvals.done": "Approved: {what}", "approvals.rejected": "Rejected: {what}",
      "payback.title": "Pay back the leftover (#{id})", "payback.amount": "Amount to pay back", "payback.method": "Paid by",
      "payback.cash": "Cash at the desk", "payback.bank_transfer": "Bank transfer",
      "payback.reference": "Bank transaction reference", "payback.done": "Paid back {amount} ({method}).",
      "tender.card_wait": "Ask the patient to insert or tap their card on the reader…", "tender.cancel": "Cancel the payment (Esc)",
      "tender.canceled": "Payment canceled.",
      "decline.card_declined": "The card was declined. Ask for another card or another way to pay.",
      "decline.insufficient_funds": "The card was declined: not enough money on the account. Ask for another card or another way to pay.",
      "decline.expired_card": "The card has expired. Ask for another card.",
      "decline.incorrect_pin": "Wrong PIN. Ask the patient to try again.",
      "decline.other": "This card could not be used ({code}). Ask for another way to pay.",
      "status.pending": "pending", "status.processing": "processing", "status.succeeded": "succeeded", "status.failed": "failed",
      "status.canceled": "canceled", "status.expired": "expired", "status.confirmed": "counted in", "status.requested": "waiting for a supervisor",
      "status.approved": "approved", "status.rejected": "rejected", "status.pending_payout": "to be paid out",
      "status.partially_refunded": "partly refunded", "status.refunded": "refunded", "status.open": "open", "status.closed": "closed",
      "status.pending_approval": "waiting for a supervisor", "status.handover_pending": "being handed over",
    },
  });

  const state = {
    me: null, session: null, denominations: [], patient: null, target: null, urls: [],
    // Bumped at every sign-in and sign-out: an answer to an earlier person's request is dropped.
    generation: 0,
    // Bumped at every patient look-up: only the latest look-up's answer is shown.
    lookup: 0,
    inboxTimer: null, inboxBusy: false, pendingPayment: null,
    // The next page of the found patient's recent payments (the API's cursor), if any.
    recentNext: null,
  };
  const INBOX_SECONDS = 4;
  const RECENT_PAGE = 10; // payments shown at a time under "Recent payments"

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("data-") || k.startsWith("aria-")) node.setAttribute(k, v);
      else node[k] = v;
    }
    if (text !== undefined) node.textContent = text;
    return node;
  }
  const money = (n) => T.money(n);
  const statusText = (status) => {
    const text = T.t("status." + status);
    return text === "status." + status ? status : text;
  };

  function say(text, isError) {
    const m = $("message");
    m.textContent = text || "";
    m.className = "message" + (isError ? " error" : " status");
  }
  function fail(error) {
    say(T.errorText(error), true);
  }

  function view(name) {
    for (const id of ["view-signin", "view-open", "view-desk", "view-report"]) $(id).hidden = id !== "view-" + name;
    $("signout").hidden = name === "signin";
    $("inbox").hidden = !(name === "open" || name === "desk");
  }

  /* A POST of one intent. Its key is made when the intent is first sent and reused while
   * no definite answer came back: the same intent sent again (a second press of F2 while the
   * first is on its way, a new try after the network failed) is the same request to the
   * server, which answers it once. */
  const intents = new Map();
  async function once(path, body) {
    const intent = path + " " + JSON.stringify(body);
    if (!intents.has(intent)) intents.set(intent, V.newKey("desk"));
    try {
      const answer = await api.send(path, body, intents.get(intent));
      intents.delete(intent);
      return answer;
    } catch (error) {
      const undecided = !(error instanceof V.ApiError) || error.status === 0 || error.status >= 500;
      if (!undecided) intents.delete(intent);
      throw error;
    }
  }

  /* Runs an action with its button disabled, so a second press waits for the first. */
  async function pressed(button, action) {
    if (button.disabled) return;
    button.disabled = true;
    try {
      await action();
    } finally {
      button.disabled = false;
    }
  }

  /* ---------------------------------------------------------- counts by note */

  function countFields(fieldset) {
    const fs = typeof fieldset === "string" ? $(fieldset) : fieldset;
    fs.querySelectorAll(".note").forEach((n) => n.remove());
    for (const value of state.denominations) {
      const id = fs.id + "-" + value;
      const wrap = el("div", { class: "note" });
      wrap.append(
        el("label", { htmlFor: id }, T.money(value)),
        el("input", { id, type: "number", min: "0", step: "1", inputMode: "numeric", value: "0", "data-value": String(value), "aria-label": T.t("count.notes", { value: T.money(value) }) }),
      );
      fs.append(wrap);
    }
  }
  function countOf(fieldsetId) {
    const count = {};
    $(fieldsetId).querySelectorAll("input[data-value]").forEach((input) => {
      const n = Number(input.value || 0);
      if (n) count[input.dataset.value] = n;
    });
    return count;
  }

  /* ------------------------------------------------------------- sign in */

  async function signIn(event) {
    event.preventDefault();
    try {
      const answer = await api.post("/auth/token", { username: $("username").value, password: $("password").value });
      state.generation += 1;
      token = answer.token;
      state.me = { username: $("username").value, roles: answer.roles };
      $("password").value = "";
      $("who").textContent = state.me.username + " (" + answer.roles.join(", ") + ")";
      say("");
      await refreshSession();
      startInbox();
    } catch (error) {
      fail(error);
    }
  }

  async function signOut() {
    stopInbox();
    state.generation += 1;
    state.lookup += 1;
    intents.clear();
    if (token) await api.post("/auth/token/revoke", undefined).catch(() => undefined);
    token = null;
    state.me = null;
    state.session = null;
    state.patient = null;
    state.target = null;
    state.recentNext = null;
    for (const url of state.urls) URL.revokeObjectURL(url);
    state.urls = [];
    $("who").textContent = "";
    $("patient").hidden = true;
    $("recent-list").replaceChildren();
    $("tender").hidden = true;
    for (const id of ["incoming-list", "approval-list", "transfer-list"]) $(id).replaceChildren();
    $("username").value = "";
    view("signin");
    $("username").focus();
  }

  async function refreshSession() {
    const current = await api.get("/cashier/sessions/current");
    state.denominations = current.denominations;
    state.session = current.session;
    for (const fs of ["open-count", "handover-count", "close-count", "transfer-count"]) countFields(fs);
    renderHandovers(current.handovers_to_me);
    if (state.session && state.session.status === "open") {
      renderSessionLine();
      view("desk");
      $("find-value").focus();
    } else {
      view("open");
      $("terminal").focus();
    }
    await refreshInbox();
  }

  function renderSessionLine() {
    $("session-line").textContent = T.t("session.line", {
      terminal: state.session.terminal, opened: T.dateTime(state.session.opened_at), float: money(state.session.opening_float),
    });
  }

  function renderHandovers(list) {
    const box = $("handovers");
    box.replaceChildren();
    for (const s of list) {
      const form = el("form", { class: "form handover" });
      form.append(el("p", {}, T.t("handover.waiting", { from: s.cashier, terminal: s.terminal })));
      const fs = el("fieldset", { class: "count", id: "accept-" + s.id });
      fs.append(el("legend", {}, T.t("count.legend")));
      form.append(fs, el("button", { type: "submit", class: "primary" }, T.t("handover.accept")));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
          await once("/cashier/sessions/" + s.id + "/handover/accept", { count: countOf("accept-" + s.id) });
          await refreshSession();
        } catch (error) {
          fail(error);
        }
      });
      box.append(form);
      countFields("accept-" + s.id);
    }
  }

  async function openSession(event) {
    event.preventDefault();
    try {
      await once("/cashier/sessions", { terminal: $("terminal").value.trim(), opening_count: countOf("open-count") });
      say("");
      await refreshSession();
    } catch (error) {
      fail(error);
    }
  }

  /* ----------------------------------------------------------- patient */

  /* A look-up's answer, or null when a later look-up (or a sign-out) was made meanwhile:
   * an answer overtaken on the way never replaces the patient on the screen. */
  async function lookUp(identifier) {
    const ticket = (state.lookup += 1);
    const found = await api.post("/patients/lookup", { [identifier.kind]: identifier.value });
    if (ticket !== state.lookup) return null;
    found.identifier = identifier;
    return found;
  }

  async function find(event) {
    if (event) event.preventDefault();
    const kind = $("find-kind").value;
    const value = $("find-value").value.trim();
    if (!value) return;
    // Another patient: nothing of the previous one stays selected to be paid.
    clearTarget();
    try {
      const found = await lookUp({ kind, value });
      if (!found) return;
      state.patient = found;
      renderPatient();
      say("");
    } catch (error) {
      fail(error);
    }
  }

  async function refreshPatient() {
    if (!state.patient) return;
    const fresh = await lookUp(state.patient.identifier);
    if (!fresh) return;
    state.patient = fresh;
    renderPatient();
  }

  function clearTarget() {
    state.target = null;
    $("tender").hidden = true;
    $("tender-target").textContent = "";
    $("tender-due").textContent = "";
    $("tender-amount").value = "";
    $("tender-given").value = "";
    $("change").textContent = "";
    $("payment-list").replaceChildren();
  }

  function renderPatient() {
    const p = state.patient;
    $("patient").hidden = false;
    $("patient-name").textContent = p.masked_name;
    $("patient-code").textContent = p.patient_code;
    $("patient-deposit").textContent = money(p.deposit_balance);
    const invoices = $("invoice-list");
    invoices.replaceChildren();
    for (const inv of p.invoices) {
      const li = el("li");
      li.append(el("span", {}, T.t("invoice.line", { number: inv.number, due: money(inv.amount_due), share: money(inv.patient_share) })));
      const take = el("button", { type: "button", class: "primary", "data-invoice": String(inv.id) }, T.t("invoice.take"));
      take.addEventListener("click", () => selectTarget({ invoice: inv }));
      li.append(take);
      invoices.append(li);
    }
    const encounters = $("encounter-list");
    encounters.replaceChildren();
    for (const enc of p.encounters) {
      const li = el("li");
      li.append(el("span", {}, T.t("encounter.line", { id: enc.id, kind: enc.kind, department: enc.department, deposit: money(enc.deposit_balance), owed: money(enc.refund_owed) })));
      if (enc.status === "open") {
        const adv = el("button", { type: "button", "data-encounter": String(enc.id) }, T.t("encounter.advance"));
        adv.addEventListener("click", () => selectTarget({ encounter: enc }));
        li.append(adv);
      }
      if (enc.refund_owed > 0) li.append(paybackForm(enc));
      encounters.append(li);
    }
    renderRecent().catch(fail);
    if (state.target) {
      const again = state.target.invoice
        ? p.invoices.find((i) => i.id === state.target.invoice.id)
        : p.encounters.find((e) => e.id === state.target.encounter.id);
      if (again) selectTarget(state.target.invoice ? { invoice: again } : { encounter: again }, true);
      // Paid in full, the invoice leaves the open ones: its payments stay shown, as they are now.
      else renderPayments();
    }
  }

  /* The advance left over at discharge, paid back as the API allows: all or part of it, in
   * cash from the drawer or recorded as a bank transfer with its reference. */
  function paybackForm(enc) {
    const id = "payback-" + enc.id;
    const form = el("form", { class: "payback", id });
    const fs = el("fieldset", {});
    fs.append(
      el("legend", {}, T.t("payback.title", { id: enc.id })),
      el("label", { htmlFor: id + "-amount" }, T.t("payback.amount")),
      el("input", { id: id + "-amount", inputMode: "numeric", value: String(enc.refund_owed), size: 10 }),
      el("label", { htmlFor: id + "-method" }, T.t("payback.method")),
    );
    const method = el("select", { id: id + "-method" });
    for (const m of ["cash", "bank_transfer"]) method.append(el("option", { value: m }, T.t("payback." + m)));
    const refLabel = el("label", { htmlFor: id + "-reference", hidden: true }, T.t("payback.reference"));
    const reference = el("input", { id: id + "-reference", hidden: true, autocomplete: "off", maxLength: 100 });
    method.addEventListener("change", () => {
      refLabel.hidden = reference.hidden = method.value !== "bank_transfer";
    });
    const submit = el("button", { type: "submit", "data-payback": String(enc.id) }, T.t("encounter.payback"));
    fs.append(method, refLabel, reference, submit);
    form.append(fs);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      pressed(submit, async () => {
        const body = { encounter_id: enc.id, amount: amountOf(id + "-amount"), paid_by: method.value };
        if (method.value === "bank_transfer") body.bank_reference = reference.value.trim();
        try {
          const paid = await once("/cashier/refunds-owed", body);
          say(T.t("payback.done", { amount: money(paid.amount), method: T.t("payback." + paid.method) }));
          await refreshPatient();
        } catch (error) {
          fail(error);
        }
      });
    });
    return form;
  }

  /* ------------------------------------------------------------- tender */

  async function selectTarget(target, keepInputs) {
    state.target = target;
    $("tender").hidden = false;
    if (target.invoice) {
      $("tender-target").textContent = target.invoice.number;
      $("tender-due").textContent = money(target.invoice.amount_due);
      if (!keepInputs) $("tender-amount").value = String(target.invoice.amount_due);
    } else {
      $("tender-target").textContent = T.t("tender.advance", { id: target.encounter.id });
      $("tender-due").textContent = "—";
      if (!keepInputs) $("tender-amount").value = "";
    }
    if (!keepInputs) {
      $("tender-given").value = "";
      $("change").textContent = "";
      // Focus now, never after the payments list arrives: a focus moved late would send what
      // the cashier is already typing into another field (the note handed over typed on
      // the end of the amount: "120000200000", refused with amount_exceeds_due, 402).
      $("tender-amount").focus();
    }
    await renderPayments();
  }

  async function renderPayments() {
    const list = $("payment-list");
    list.replaceChildren();
    const t = state.target;
    if (!t) return;
    const path = t.invoice ? "/invoices/" + t.invoice.id + "/payments" : "/encounters/" + t.encounter.id + "/payments";
    const payments = await api.get(path);
    // Each taken payment's refunds, with what this user may do with each (the API says).
    const refunds = await Promise.all(
      payments.map((p) => (p.status === "succeeded" || p.status === "partially_refunded" || p.status === "refunded" ? api.get("/payments/" + p.id + "/refunds") : [])),
    );
    if (state.target !== t) return; // another target was chosen meanwhile: its own list is coming
    list.replaceChildren();
    payments.forEach((p, index) => list.append(paymentRow(p, refunds[index], "")));
  }

  /* The found patient's recent payments (GET /patients/{id}/payments, newest first, a page
   * at a time): a fully paid invoice leaves the open invoices, and a refund approved later
   * from the supervisors' queue is paid out from here. */
  async function renderRecent(more) {
    const p = state.patient;
    const list = $("recent-list");
    const path = more || "/patients/" + p.patient_id + "/payments?page_size=" + RECENT_PAGE;
    const page = await api.get(path);
    if (state.patient !== p) return; // another patient (or the same one read again) meanwhile
    if (!more) list.replaceChildren();
    for (const payment of page.results) list.append(paymentRow(payment, payment.refunds, "recent"));
    $("recent-empty").hidden = list.children.length > 0;
    state.recentNext = page.next ? V.pathOf(page.next) : null;
    $("recent-more").hidden = !state.recentNext;
  }

  /* One payment: what it paid, its refunds with their payouts, and a refund form where the
   * API lists `refund` in its `actions`, for at most its `refundable_amount` (refunds waiting
   * for approval or payout already hold theirs). ``scope`` keeps ids and data attributes of
   * the recent list apart from the chosen invoice's list, which may show the same payment. */
  function paymentRow(p, refunds, scope) {
    const name = (what) => (scope ? scope + "-" : "") + what;
    const li = el("li", { ["data-" + name("payment")]: p.id });
    const what = p.invoice_number ? p.invoice_number + " · " : p.purpose === "deposit" && p.encounter_id ? T.t("tender.advance", { id: p.encounter_id }) + " · " : "";
    li.append(el("span", {}, what + T.t("payment.line", { method: T.t("method." + p.method), amount: money(p.amount), status: statusText(p.status) })));
    if (refunds.length) li.append(refundList(refunds, name));
    if ((p.actions || []).includes("refund")) {
      const form = el("form", { class: "inline refund" });
      const id = name("refund-" + p.id);
      form.append(
        el("label", { htmlFor: id, class: "visually-hidden" }, T.t("payment.refund")),
        el("input", { id, inputMode: "numeric", value: String(p.refundable_amount), size: 10, "aria-describedby": id + "-max" }),
        el("span", { id: id + "-max", class: "muted", ["data-" + name("refundable")]: p.id }, T.t("payment.refundable", { amount: money(p.refundable_amount) })),
        el("button", { type: "submit", ["data-" + name("refund")]: p.id }, T.t("payment.refund")),
      );
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        requestRefund(p, amountOf(id));
      });
      li.append(form);
    }
    return li;
  }

  /* A payment's refunds: amount and status, and the payouts the API lists in the refund's
   * `actions` (e.g. once a supervisor approved it later from the queue): `pay_out_cash`, a
   * button; `pay_out_bank_transfer`, the bank's reference of the transfer the hospital
   * made (the one field the API defines for it) and a button. One Idempotency-Key per
   * payout intent (once()): a retry reuses it; an error is the API's code in plain words. */
  function refundList(refunds, name) {
    const box = el("div", { class: "refunds", role: "group", "aria-label": T.t("refunds.of") });
    for (const r of refunds) {
      const row = el("div", { class: "inline", ["data-" + name("refund-item")]: r.id });
      let line = T.t("refund.line", { amount: money(r.amount), status: statusText(r.status) });
      if (r.payout_method) line += " · " + T.t("payback." + r.payout_method);
      if (r.provider_reference && r.payout_method === "bank_transfer") line += " · " + r.provider_reference;
      row.append(el("span", {}, line));
      const actions = r.actions || [];
      if (actions.includes("pay_out_cash")) {
        const button = el("button", { type: "button", class: "primary", ["data-" + name("refund-payout")]: r.id }, T.t("refund.payout_listed"));
        button.addEventListener("click", () => pressed(button, () => payOut(r, { paid_by: "cash" })));
        row.append(button);
      }
      if (actions.includes("pay_out_bank_transfer")) row.append(transferPayoutForm(r, name));
      box.append(row);
    }
    return box;
  }

  function transferPayoutForm(refund, name) {
    const id = name("transfer-ref-" + refund.id);
    const form = el("form", { class: "inline" });
    const submit = el("button", { type: "submit", ["data-" + name("refund-transfer")]: refund.id }, T.t("refund.payout_transfer"));
    form.append(
      el("label", { htmlFor: id }, T.t("payback.reference")),
      el("input", { id, autocomplete: "off", maxLength: 100, size: 16 }),
      submit,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      pressed(submit, () => payOut(refund, { paid_by: "bank_transfer", bank_reference: $(id).value.trim() }));
    });
    return form;
  }

  async function payOut(refund, body) {
    try {
      const paid = await once("/refunds/" + refund.id + "/payout", body);
      say(T.t("refund.paid_out", { amount: money(paid.amount) }) + " · " + T.t("payback." + paid.payout_method) + " · " + statusText(paid.status));
      await renderPayments();
      await refreshPatient();
    } catch (error) {
      fail(error);
    }
  }

  function amountOf(id) {
    const n = Number(String($(id).value).replace(/[.\s₫]/g, ""));
    return Number.isInteger(n) ? n : NaN;
  }

  async function tender(method) {
    const t = state.target;
    // One payment at a time: a card or QR payment still waiting is finished or canceled first.
    if (!t || state.pendingPayment) return;
    const body = { amount: amountOf("tender-amount"), method };
    if (t.invoice) body.invoice_id = t.invoice.id;
    else body.encounter_id = t.encounter.id;
    if (method === "cash") body.tendered = $("tender-given").value ? amountOf("tender-given") : body.amount;
    try {
      const payment = await once("/payments", body);
      if (payment.method === "cash") {
        $("change").textContent = T.t("tender.change", { change: money(payment.change_given || 0) });
        say(T.t("tender.paid", { amount: money(payment.amount) }));
        await refreshPatient();
      } else await follow(payment);
    } catch (error) {
      fail(error);
    }
  }

  function declineText(code) {
    const key = "decline." + (code || "card_declined");
    const text = T.t(key);
    return text === key ? T.t("decline.other", { code }) : text;
  }

  async function cancelPending() {
    const payment = state.pendingPayment;
    if (!payment) return;
    try {
      await once("/payments/" + payment.id + "/cancel", undefined);
    } catch (error) {
      fail(error);
    }
  }

  async function follow(payment) {
    const generation = state.generation;
    state.pendingPayment = payment;
    $("pending").hidden = false;
    $("pending-status").textContent = T.t(payment.method === "card_present" ? "tender.card_wait" : "tender.waiting");
    const action = payment.next_action || {};
    if (action.image_png_url) {
      try {
        const url = await api.objectUrl(V.pathOf(action.image_png_url));
        state.urls.push(url);
        $("pending-qr").src = url;
        $("pending-qr").hidden = false;
      } catch (error) {
        fail(error);
      }
    } else $("pending-qr").hidden = true;
    let current = payment;
    try {
      while (current.status === "pending" || current.status === "processing") {
        await V.sleep(1500);
        if (generation !== state.generation) return; // signed out meanwhile: nothing to show
        current = await api.get("/payments/" + payment.id);
      }
    } finally {
      state.pendingPayment = null;
      $("pending").hidden = true;
      $("pending-status").textContent = "";
      $("pending-qr").removeAttribute("src");
    }
    if (current.status === "succeeded") say(T.t("tender.paid", { amount: money(current.amount) }));
    else if (current.status === "canceled") say(T.t("tender.canceled"));
    else if (current.method === "card_present") say(declineText(current.failure_code), true);
    else fail({ code: current.failure_code || "payment_state_conflict" });
    await refreshPatient();
  }

  /* ------------------------------------------------------------ refunds */

  async function requestRefund(payment, amount) {
    try {
      const refund = await once("/payments/" + payment.id + "/refunds", { amount, reason: "requested_by_patient" });
      await afterRefund(refund);
    } catch (error) {
      fail(error);
    }
  }

  async function afterRefund(refund) {
    say(T.t("refund.line", { amount: money(refund.amount), status: statusText(refund.status) }));
    if (refund.status === "requested") {
      const decided = await supervisorDecides(refund);
      if (!decided) {
        // It waits in the queue: listed under its payment, in both lists.
        await refreshPatient();
        return renderPayments();
      }
      refund = decided;
      say(T.t("refund.line", { amount: money(refund.amount), status: statusText(refund.status) }));
    }
    // The cash payout is offered here only when the API lists it in the refund's actions
    // (a refund of a cash payment); a transfer's refund is paid out from its payment's list.
    const listed = refund.status === "pending_payout" ? await api.get("/payments/" + refund.payment_id + "/refunds") : [];
    const actions = (listed.find((r) => r.id === refund.id) || {}).actions || [];
    if (actions.includes("pay_out_cash")) {
      const button = el("button", { type: "button", class: "primary", "data-payout": refund.id }, T.t("refund.payout"));
      button.addEventListener("click", async () => {
        try {
          const paid = await once("/refunds/" + refund.id + "/payout", { paid_by: "cash" });
          button.remove();
          say(T.t("refund.line", { amount: money(paid.amount), status: statusText(paid.status) }));
          await refreshPatient();
        } catch (error) {
          fail(error);
        }
      });
      $("message").append(" ", button);
      button.focus();
    }
    await refreshPatient();
    await renderPayments(); // the payment's refunds, this one included
  }

  /* The supervisor signs in on this screen for this one decision; the token is revoked
   * right after. */
  function supervisorDecides(refund) {
    return new Promise((resolve) => {
      const dialog = $("approve-dialog");
      $("approve-what").textContent = T.t("approve.what", { amount: money(refund.amount) });
      const form = $("approve-form");
      const done = async (event) => {
        event.preventDefault();
        const decision = event.submitter && event.submitter.value === "reject" ? "reject" : "approve";
        let supervisorToken = null;
        try {
          const answer = await api.post("/auth/token", { username: $("sup-username").value, password: $("sup-password").value });
          supervisorToken = "Token " + answer.token;
          const decided = await api.post("/refunds/" + refund.id + "/" + decision, undefined, { credential: supervisorToken });
          finish(decided);
        } catch (error) {
          fail(error);
          finish(null);
        } finally {
          if (supervisorToken) api.post("/auth/token/revoke", undefined, { credential: supervisorToken }).catch(() => undefined);
        }
      };
      const finish = (value) => {
        form.removeEventListener("submit", done);
        $("sup-password").value = "";
        $("sup-username").value = "";
        dialog.close();
        resolve(value);
      };
      form.addEventListener("submit", done);
      $("approve-cancel").onclick = () => finish(null);
      dialog.showModal();
      $("sup-username").focus();
    });
  }

  /* ------------------------------------------- what waits for the signed-in person */

  /* Shows ``items`` in ``list`` by key: rows already shown stay as they are (a count being
   * typed into them is kept), new ones are added, gone ones removed. */
  function keyedRows(list, items, keyOf, render) {
    const wanted = new Map(items.map((item) => [keyOf(item), item]));
    for (const row of Array.from(list.children)) if (!wanted.has(row.dataset.key)) row.remove();
    const shown = new Set(Array.from(list.children, (row) => row.dataset.key));
    for (const [key, item] of wanted) {
      if (shown.has(key)) continue;
      const row = render(item);
      row.dataset.key = key;
      list.append(row);
    }
  }

  function startInbox() {
    stopInbox();
    state.inboxTimer = window.setInterval(refreshInbox, INBOX_SECONDS * 1000);
  }
  function stopInbox() {
    if (state.inboxTimer) window.clearInterval(state.inboxTimer);
    state.inboxTimer = null;
  }

  async function refreshInbox() {
    if (!token || state.inboxBusy) return;
    const generation = state.generation;
    state.inboxBusy = true;
    try {
      const transfers = await api.get("/cashier/transfers");
      const isSupervisor = state.me && state.me.roles.includes("supervisor");
      const queue = isSupervisor ? await api.get("/cashier/approvals") : null;
      if (generation !== state.generation) return; // signed out meanwhile
      renderTransfers(transfers);
      renderApprovals(queue);
      $("inbox-empty").hidden = !($("incoming").hidden && $("approvals").hidden);
    } catch (error) {
      if (generation === state.generation) fail(error);
    } finally {
      state.inboxBusy = false;
    }
  }

  function sideOf(transfer, side) {
    if (!transfer[side + "_session"]) return T.t("transfer.safe");
    return T.t("transfer.drawer", { terminal: transfer[side + "_terminal"], cashier: transfer[side + "_cashier"] });
  }

  function renderTransfers(data) {
    const lang = T.language();
    $("incoming").hidden = data.to_confirm.length === 0;
    keyedRows($("incoming-list"), data.to_confirm, (t) => t.id + ":" + lang, incomingRow);
    // Where cash can go: the safe and the other open drawers, as the API lists them.
    const select = $("transfer-to");
    const options = [["", T.t("transfer.safe")]].concat(
      data.open_drawers.map((d) => [d.session, T.t("transfer.drawer", { terminal: d.terminal, cashier: d.cashier })]),
    );
    const signature = JSON.stringify(options);
    if (select.dataset.signature !== signature) {
      const chosen = select.value;
      select.replaceChildren(...options.map(([value, label]) => el("option", { value }, label)));
      if (options.some(([value]) => value === chosen)) select.value = chosen;
      select.dataset.signature = signature;
    }
    keyedRows($("transfer-list"), data.session_transfers, (t) => t.id + ":" + t.status + ":" + lang, sessionTransferRow);
  }

  function incomingRow(transfer) {
    const li = el("li", { "data-incoming": transfer.id });
    const form = el("form", { class: "form" });
    const fs = el("fieldset", { class: "count", id: "confirm-" + transfer.id });
    fs.append(el("legend", {}, T.t("count.legend")));
    countFields(fs);
    const submit = el("button", { type: "submit", class: "primary" }, T.t("incoming.confirm"));
    form.append(
      el("p", {}, T.t("incoming.line", { amount: money(transfer.amount), from: sideOf(transfer, "from"), to: sideOf(transfer, "to") })),
      fs,
      submit,
    );
    if (transfer.note) form.insertBefore(el("p", { class: "muted" }, transfer.note), fs);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      pressed(submit, async () => {
        try {
          const done = await once("/cashier/transfers/" + transfer.id + "/confirm", { count: countOf(fs.id) });
          say(T.t("transfer.confirmed", { counted: money(done.counted_amount), amount: money(done.amount) }));
          await refreshInbox();
        } catch (error) {
          fail(error);
        }
      });
    });
    li.append(form);
    return li;
  }

  function sessionTransferRow(transfer) {
    let line = T.t("transfer.line", {
      amount: money(transfer.amount), from: sideOf(transfer, "from"), to: sideOf(transfer, "to"), status: statusText(transfer.status),
    });
    if (transfer.counted_amount !== null) line += " · " + T.t("transfer.counted", { counted: money(transfer.counted_amount) });
    const li = el("li", { "data-transfer": transfer.id, "data-status": transfer.status });
    li.append(el("span", {}, line));
    if (transfer.status === "pending" && state.session && transfer.from_session === state.session.id) {
      const cancel = el("button", { type: "button", "data-cancel-transfer": transfer.id }, T.t("transfer.cancel"));
      cancel.addEventListener("click", () =>
        pressed(cancel, async () => {
          try {
            const done = await once("/cashier/transfers/" + transfer.id + "/cancel", undefined);
            say(T.t("transfer.canceled", { amount: money(done.amount) }));
            await refreshInbox();
          } catch (error) {
            fail(error);
          }
        }),
      );
      li.append(cancel);
    }
    return li;
  }

  async function sendTransfer(event) {
    event.preventDefault();
    const submit = $("transfer-form").querySelector("button[type=submit]");
    await pressed(submit, async () => {
      const body = { from_session: state.session.id, count: countOf("transfer-count") };
      if ($("transfer-to").value) body.to_session = $("transfer-to").value;
      if ($("transfer-note").value.trim()) body.note = $("transfer-note").value.trim();
      try {
        const sent = await once("/cashier/transfers", body);
        say(T.t("transfer.sent", { amount: money(sent.amount), to: sideOf(sent, "to") }));
        countFields("transfer-count");
        $("transfer-note").value = "";
        await refreshInbox();
      } catch (error) {
        fail(error);
      }
    });
  }

  function renderApprovals(queue) {
    $("approvals").hidden = !queue || (queue.sessions.length === 0 && queue.refunds.length === 0);
    if (!queue) return;
    const lang = T.language();
    const rows = queue.sessions
      .map((s) => ({ kind: "session", item: s }))
      .concat(queue.refunds.map((r) => ({ kind: "refund", item: r })));
    keyedRows($("approval-list"), rows, (r) => r.kind + ":" + r.item.id + ":" + lang, approvalRow);
  }

  function approvalRow({ kind, item }) {
    const what =
      kind === "session"
        ? T.t("approvals.session", { id: item.terminal + " · " + item.id, cashier: item.cashier, variance: money(item.variance) })
        : T.t("approvals.refund", { amount: money(item.amount), payment: item.payment_id, by: item.requested_by });
    const li = el("li", { "data-approval": item.id });
    li.append(el("span", {}, what));
    const decide = (path, done) => {
      const button = el("button", { type: "button", "data-decide": path }, T.t(done === "approvals.done" ? "approvals.approve" : "approvals.reject"));
      button.addEventListener("click", () =>
        pressed(button, async () => {
          try {
            await api.post(path, undefined);
            say(T.t(done, { what }));
            await refreshInbox();
          } catch (error) {
            fail(error);
          }
        }),
      );
      li.append(button);
    };
    if (kind === "session") decide("/cashier/sessions/" + item.id + "/approve-close", "approvals.done");
    else {
      decide("/refunds/" + item.id + "/approve", "approvals.done");
      decide("/refunds/" + item.id + "/reject", "approvals.rejected");
    }
    return li;
  }

  /* ------------------------------------------------- handover, close, report */

  async function handOver(event) {
    event.preventDefault();
    try {
      const to = $("handover-to").value.trim();
      await once("/cashier/sessions/" + state.session.id + "/handover", { to, count: countOf("handover-count") });
      say(T.t("handover.done", { to }));
      await signOut();
      say(T.t("handover.done", { to }));
    } catch (error) {
      fail(error);
    }
  }

  async function closeSession(event) {
    if (event) event.preventDefault();
    try {
      const closed = await once("/cashier/sessions/" + state.session.id + "/close", { count: countOf("close-count") });
      await showReport(closed);
    } catch (error) {
      fail(error);
    }
  }

  async function showReport(session) {
    const report = await api.get("/cashier/sessions/" + session.id + "/report");
    const dl = $("report");
    dl.replaceChildren();
    const rows = [
      ["report.status", statusText(session.status)],
      ["report.opening", money(session.opening_float)],
      ["report.expected", money(session.expected_cash)],
      ["report.counted", money(session.counted_cash)],
      ["report.variance", money(session.variance)],
    ];
    for (const key of ["gross_takings", "net_takings"]) {
      if (report[key] !== undefined) rows.push(["report." + key.split("_")[0], money(typeof report[key] === "object" ? report[key].amount : report[key])]);
    }
    if (report.agrees !== undefined) rows.push(["report.agrees", String(report.agrees)]);
    for (const [label, value] of rows) {
      dl.append(el("dt", {}, T.t(label)), el("dd", { "data-row": label }, value));
    }
    state.report = session;
    view("report");
    $("report-title").focus();
  }

  async function reportPdf() {
    try {
      const url = await api.objectUrl("/cashier/sessions/" + state.report.id + "/report?format=pdf");
      state.urls.push(url);
      $("report-frame").src = url;
      $("report-frame").hidden = false;
    } catch (error) {
      fail(error);
    }
  }

  /* -------------------------------------------------------------- wiring */

  function wire() {
    $("signin-form").addEventListener("submit", signIn);
    $("signout").addEventListener("click", signOut);
    $("open-form").addEventListener("submit", openSession);
    $("find-form").addEventListener("submit", find);
    $("handover-form").addEventListener("submit", handOver);
    $("close-form").addEventListener("submit", closeSession);
    $("transfer-form").addEventListener("submit", sendTransfer);
    $("pending-cancel").addEventListener("click", cancelPending);
    $("recent-more").addEventListener("click", () => {
      if (state.recentNext) renderRecent(state.recentNext).catch(fail);
    });
    $("report-pdf").addEventListener("click", reportPdf);
    $("report-done").addEventListener("click", signOut);
    document.querySelectorAll("#tender-form button[data-method]").forEach((b) => {
      b.addEventListener("click", () => tender(b.dataset.method));
    });
    $("tender-form").addEventListener("submit", (event) => event.preventDefault());
    $("lang").addEventListener("click", () => {
      T.setLanguage(T.language() === "vi" ? "en" : "vi");
      // What was built from the API's answers is built again in the new language.
      if (state.patient) renderPatient();
      if (state.target) renderPayments();
      if (state.session && !$("view-desk").hidden) renderSessionLine();
      refreshInbox();
    });
    document.addEventListener("keydown", (event) => {
      if ($("view-desk").hidden) return;
      const keys = { F2: "cash", F3: "card_present", F4: "vietqr" };
      if (keys[event.key]) {
        event.preventDefault();
        // A key held down repeats: that is not another payment.
        if (!event.repeat) tender(keys[event.key]);
      } else if (event.key === "Escape" && state.pendingPayment) {
        event.preventDefault();
        cancelPending();
      } else if (event.key === "F6") {
        event.preventDefault();
        $("find-value").focus();
      } else if (event.key === "F8") {
        event.preventDefault();
        $("close-form").closest("details").open = true;
        $("close-form").querySelector("input").focus();
      }
    });
    view("signin");
    $("username").focus();
  }

  wire();
})();
