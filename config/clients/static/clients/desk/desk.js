/* The cashier console: keyboard-first. The cashier signs in (staff token, kept in this
 * tab's memory only), opens a session with the opening count, finds a patient, takes
 * cash (the change comes from the API), card at the desk reader, VietQR, several tenders
 * for one invoice, advances; refunds (a supervisor approves on this screen with their
 * own sign-in, used once and revoked), payouts, leftovers; handover, blind close and the
 * Z-report. Every figure and decision comes from the API's answers. */
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
      "invoice.line": "{number}: còn {due} / tổng người bệnh {share}", "invoice.take": "Thu",
      "encounter.line": "#{id} {kind} · {department} · tạm ứng {deposit} · phải trả lại {owed}",
      "encounter.advance": "Thu tạm ứng", "encounter.payback": "Trả lại tiền thừa",
      "tender.title": "Thu tiền", "tender.due": "Còn phải thu", "tender.amount": "Số tiền thu lần này",
      "tender.given": "Khách đưa (tiền mặt)", "tender.cash": "Tiền mặt (F2)", "tender.card": "Thẻ (F3)", "tender.qr": "VietQR (F4)",
      "tender.change": "Tiền thối lại: {change}", "tender.paid": "Đã thu {amount}", "tender.waiting": "Đang chờ thanh toán…",
      "tender.advance": "tạm ứng đợt #{id}",
      "payments.title": "Các lần thanh toán", "payment.line": "{method} {amount} · {status}",
      "payment.refund": "Hoàn tiền", "refund.line": "Hoàn {amount} · {status}", "refund.payout": "Chi trả tiền mặt",
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
      "invoice.line": "{number}: due {due} / patient share {share}", "invoice.take": "Take",
      "encounter.line": "#{id} {kind} · {department} · advances {deposit} · owed back {owed}",
      "encounter.advance": "Take an advance", "encounter.payback": "Pay back the leftover",
      "tender.title": "Take payment", "tender.due": "Still due", "tender.amount": "Amount this time",
      "tender.given": "Cash handed over", "tender.cash": "Cash (F2)", "tender.card": "Card (F3)", "tender.qr": "VietQR (F4)",
      "tender.change": "Change: {change}", "tender.paid": "Took {amount}", "tender.waiting": "Waiting for the payment…",
      "tender.advance": "advance on #{id}",
      "payments.title": "Payments", "payment.line": "{method} {amount} · {status}",
      "payment.refund": "Refund", "refund.line": "Refund {amount} · {status}", "refund.payout": "Pay out in cash",
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
    },
  });

  const state = { me: null, session: null, denominations: [], patient: null, target: null, poll: null, urls: [] };

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
  }

  /* A POST of one intent: made once, reused by every retry of the same intent. */
  async function once(path, body) {
    return api.send(path, body, V.newKey("desk"));
  }

  /* ---------------------------------------------------------- counts by note */

  function countFields(fieldsetId) {
    const fs = $(fieldsetId);
    fs.querySelectorAll(".note").forEach((n) => n.remove());
    for (const value of state.denominations) {
      const id = fieldsetId + "-" + value;
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
      token = answer.token;
      state.me = { username: $("username").value, roles: answer.roles };
      $("password").value = "";
      $("who").textContent = state.me.username + " (" + answer.roles.join(", ") + ")";
      say("");
      await refreshSession();
    } catch (error) {
      fail(error);
    }
  }

  async function signOut() {
    if (token) await api.post("/auth/token/revoke", undefined).catch(() => undefined);
    token = null;
    state.me = null;
    state.session = null;
    state.patient = null;
    state.target = null;
    for (const url of state.urls) URL.revokeObjectURL(url);
    state.urls = [];
    $("who").textContent = "";
    $("patient").hidden = true;
    $("tender").hidden = true;
    $("username").value = "";
    view("signin");
    $("username").focus();
  }

  async function refreshSession() {
    const current = await api.get("/cashier/sessions/current");
    state.denominations = current.denominations;
    state.session = current.session;
    for (const fs of ["open-count", "handover-count", "close-count"]) countFields(fs);
    renderHandovers(current.handovers_to_me);
    if (state.session && state.session.status === "open") {
      $("session-line").textContent = T.t("session.line", {
        terminal: state.session.terminal, opened: T.dateTime(state.session.opened_at), float: money(state.session.opening_float),
      });
      view("desk");
      $("find-value").focus();
    } else {
      view("open");
      $("terminal").focus();
    }
    await refreshApprovals();
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

  async function find(event) {
    if (event) event.preventDefault();
    const kind = $("find-kind").value;
    const value = $("find-value").value.trim();
    if (!value) return;
    try {
      state.patient = await api.post("/patients/lookup", { [kind]: value });
      state.patient.identifier = { kind, value };
      renderPatient();
      say("");
    } catch (error) {
      fail(error);
    }
  }

  async function refreshPatient() {
    if (!state.patient) return;
    const { kind, value } = state.patient.identifier;
    const fresh = await api.post("/patients/lookup", { [kind]: value });
    fresh.identifier = state.patient.identifier;
    state.patient = fresh;
    renderPatient();
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
      if (enc.refund_owed > 0) {
        const back = el("button", { type: "button", "data-payback": String(enc.id) }, T.t("encounter.payback"));
        back.addEventListener("click", () => payBack(enc));
        li.append(back);
      }
      encounters.append(li);
    }
    if (state.target) {
      const again = state.target.invoice
        ? p.invoices.find((i) => i.id === state.target.invoice.id)
        : p.encounters.find((e) => e.id === state.target.encounter.id);
      if (again) selectTarget(state.target.invoice ? { invoice: again } : { encounter: again }, true);
    }
  }

  async function payBack(enc) {
    try {
      await once("/cashier/refunds-owed", { encounter_id: enc.id, paid_by: "cash" });
      await refreshPatient();
      say(T.t("tender.paid", { amount: money(enc.refund_owed) }));
    } catch (error) {
      fail(error);
    }
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
    }
    await renderPayments();
    if (!keepInputs) $("tender-amount").focus();
  }

  async function renderPayments() {
    const list = $("payment-list");
    list.replaceChildren();
    const t = state.target;
    if (!t) return;
    const path = t.invoice ? "/invoices/" + t.invoice.id + "/payments" : "/encounters/" + t.encounter.id + "/payments";
    const payments = await api.get(path);
    for (const p of payments) {
      const li = el("li");
      li.append(el("span", {}, T.t("payment.line", { method: T.t("method." + p.method), amount: money(p.amount), status: p.status })));
      if (p.status === "succeeded" || p.status === "partially_refunded") {
        const form = el("form", { class: "inline refund" });
        const id = "refund-" + p.id;
        form.append(
          el("label", { htmlFor: id, class: "visually-hidden" }, T.t("payment.refund")),
          el("input", { id, inputMode: "numeric", value: String(p.amount - p.amount_refunded), size: 10 }),
          el("button", { type: "submit", "data-refund": p.id }, T.t("payment.refund")),
        );
        form.addEventListener("submit", (event) => {
          event.preventDefault();
          requestRefund(p, Number($(id).value));
        });
        li.append(form);
      }
      list.append(li);
    }
  }

  function amountOf(id) {
    const n = Number(String($(id).value).replace(/[.\s₫]/g, ""));
    return Number.isInteger(n) ? n : NaN;
  }

  async function tender(method) {
    const t = state.target;
    if (!t) return;
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

  async function follow(payment) {
    $("pending").hidden = false;
    $("pending-status").textContent = T.t("tender.waiting");
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
    while (current.status === "pending" || current.status === "processing") {
      await V.sleep(1500);
      current = await api.get("/payments/" + payment.id);
    }
    $("pending").hidden = true;
    $("pending-qr").removeAttribute("src");
    if (current.status === "succeeded") say(T.t("tender.paid", { amount: money(current.amount) }));
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
    say(T.t("refund.line", { amount: money(refund.amount), status: refund.status }));
    if (refund.status === "requested") {
      const decided = await supervisorDecides(refund);
      if (!decided) return;
      refund = decided;
      say(T.t("refund.line", { amount: money(refund.amount), status: refund.status }));
    }
    if (refund.status === "pending_payout") {
      const button = el("button", { type: "button", class: "primary", "data-payout": refund.id }, T.t("refund.payout"));
      button.addEventListener("click", async () => {
        try {
          const paid = await once("/refunds/" + refund.id + "/payout", { paid_by: "cash" });
          button.remove();
          say(T.t("refund.line", { amount: money(paid.amount), status: paid.status }));
          await refreshPatient();
        } catch (error) {
          fail(error);
        }
      });
      $("message").append(" ", button);
      button.focus();
    }
    await refreshPatient();
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

  async function refreshApprovals() {
    const isSupervisor = state.me && state.me.roles.includes("supervisor");
    $("approvals").hidden = !isSupervisor;
    if (!isSupervisor) return;
    const queue = await api.get("/cashier/approvals");
    const list = $("approval-list");
    list.replaceChildren();
    for (const s of queue.sessions) {
      const li = el("li", {}, T.t("approvals.session", { id: s.id, cashier: s.cashier, variance: money(s.variance) }) + " ");
      const b = el("button", { type: "button" }, T.t("approvals.approve"));
      b.addEventListener("click", async () => {
        try {
          await api.post("/cashier/sessions/" + s.id + "/approve-close", undefined);
          await refreshApprovals();
        } catch (error) {
          fail(error);
        }
      });
      li.append(b);
      list.append(li);
    }
    for (const r of queue.refunds) {
      const li = el("li", {}, T.t("approvals.refund", { amount: money(r.amount), payment: r.payment_id, by: r.requested_by }) + " ");
      const b = el("button", { type: "button" }, T.t("approvals.approve"));
      b.addEventListener("click", async () => {
        try {
          await api.post("/refunds/" + r.id + "/approve", undefined);
          await refreshApprovals();
        } catch (error) {
          fail(error);
        }
      });
      li.append(b);
      list.append(li);
    }
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
      ["report.status", session.status],
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
    $("report-pdf").addEventListener("click", reportPdf);
    $("report-done").addEventListener("click", signOut);
    document.querySelectorAll("#tender-form button[data-method]").forEach((b) => {
      b.addEventListener("click", () => tender(b.dataset.method));
    });
    $("tender-form").addEventListener("submit", (event) => event.preventDefault());
    $("lang").addEventListener("click", () => {
      T.setLanguage(T.language() === "vi" ? "en" : "vi");
      if (state.patient) renderPatient();
    });
    document.addEventListener("keydown", (event) => {
      if ($("view-desk").hidden) return;
      const keys = { F2: "cash", F3: "card_present", F4: "vietqr" };
      if (keys[event.key]) {
        event.preventDefault();
        tender(keys[event.key]);
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
