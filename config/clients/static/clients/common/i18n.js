/* vienphi reference clients: words in Vietnamese (default) and English, the API's error
 * codes as plain sentences, and amounts written as Vietnamese readers expect (1.234.567 ₫).
 * Screens register their own words with Vienphi.i18n.add(). */
(function (global) {
  "use strict";

  const words = { vi: {}, en: {} };
  let language = "vi";

  /* What each error code of the API means to the person at the screen. */
  const ERRORS = {
    vi: {
      network_error: "Không kết nối được máy chủ. Vui lòng thử lại.",
      parameter_missing: "Thiếu thông tin cần thiết.",
      parameter_invalid: "Thông tin nhập chưa đúng.",
      malformed_json: "Yêu cầu không hợp lệ.",
      malformed_body: "Yêu cầu không hợp lệ.",
      invalid_request: "Yêu cầu không hợp lệ.",
      conflict: "Thao tác xung đột với thay đổi khác. Vui lòng thử lại.",
      authentication_required: "Cần đăng nhập.",
      authentication_failed: "Phiên đăng nhập đã hết hạn hoặc thiết bị chưa được cấp quyền.",
      invalid_credentials: "Sai tên đăng nhập hoặc mật khẩu.",
      permission_denied: "Bạn không có quyền thực hiện thao tác này.",
      not_found: "Không tìm thấy.",
      route_not_found: "Không tìm thấy.",
      method_not_allowed: "Thao tác không được hỗ trợ.",
      not_acceptable: "Yêu cầu không được hỗ trợ.",
      unsupported_media_type: "Yêu cầu không được hỗ trợ.",
      rate_limited: "Quá nhiều lượt tra cứu. Vui lòng chờ {seconds} giây rồi thử lại.",
      bad_request: "Yêu cầu không hợp lệ.",
      internal_error: "Hệ thống gặp sự cố. Vui lòng thử lại hoặc gặp nhân viên.",
      database_contention: "Hệ thống đang bận. Vui lòng thử lại.",
      invalid_amount: "Số tiền không hợp lệ.",
      currency_mismatch: "Sai loại tiền.",
      invalid_citizen_id: "Số căn cước công dân không hợp lệ (12 chữ số).",
      invalid_insurance_number: "Số thẻ bảo hiểm y tế không hợp lệ.",
      invalid_coverage: "Thông tin thẻ bảo hiểm y tế không hợp lệ.",
      patient_not_found: "Không tìm thấy người bệnh với thông tin này. Vui lòng kiểm tra lại hoặc gặp quầy thu ngân.",
      patient_code_exists: "Mã người bệnh đã tồn tại.",
      encounter_closed: "Đợt điều trị đã kết thúc.",
      nothing_to_bill: "Không có gì để lập hóa đơn.",
      invoice_already_void: "Hóa đơn đã bị hủy.",
      invoice_has_payments: "Hóa đơn đã có thanh toán.",
      amount_exceeds_due: "Số tiền lớn hơn số còn phải trả.",
      amount_exceeds_payable: "Số tiền lớn hơn số có thể thu lúc này: tối đa {payable} (đã trừ các thanh toán đang chờ xử lý).",
      invoice_not_payable: "Hóa đơn này không còn cần thanh toán.",
      invoice_has_payments_in_flight: "Hóa đơn đang có thanh toán chưa hoàn tất.",
      method_not_allowed_here: "Hình thức thanh toán này không dùng được ở đây.",
      no_card_reader: "Máy chưa có đầu đọc thẻ. Vui lòng thanh toán bằng mã QR.",
      payment_state_conflict: "Thanh toán đã thay đổi trạng thái.",
      card_declined: "Thẻ bị từ chối. Vui lòng thử thẻ khác hoặc thanh toán bằng mã QR.",
      provider_error: "Ngân hàng/cổng thanh toán đang gặp sự cố. Vui lòng thử lại.",
      provider_not_configured: "Hình thức thanh toán này tạm thời không dùng được.",
      idempotency_key_missing: "Yêu cầu thiếu mã chống trùng.",
      idempotency_key_reused: "Yêu cầu trùng với một yêu cầu khác.",
      request_in_progress: "Yêu cầu trước đang được xử lý. Vui lòng chờ.",
      payment_not_refundable: "Khoản thanh toán này không hoàn tiền được.",
      refund_exceeds_captured: "Số tiền hoàn lớn hơn số đã thu.",
      refund_state_conflict: "Yêu cầu hoàn tiền đã thay đổi trạng thái.",
      approval_by_requester: "Người yêu cầu không được tự duyệt. Cần một giám sát khác.",
      invalid_refund: "Yêu cầu hoàn tiền không hợp lệ.",
      refund_cancel_not_allowed: "Bạn không được hủy yêu cầu hoàn tiền này.",
      cashier_session_required: "Chưa mở ca thu ngân.",
      cashier_session_closed: "Ca thu ngân đã đóng.",
      terminal_has_open_session: "Quầy này đang có ca mở.",
      cashier_has_open_session: "Thu ngân này đang có ca mở.",
      terminal_inactive: "Quầy này đã ngừng hoạt động.",
      tendered_below_amount: "Tiền khách đưa ít hơn số phải thu.",
      unknown_denomination: "Mệnh giá không hợp lệ.",
      invalid_count: "Số tờ không hợp lệ.",
      session_already_closed: "Ca đã đóng.",
      session_handover_pending: "Ca đang chờ bàn giao.",
      session_has_payments_in_flight: "Còn thanh toán chưa hoàn tất trong ca. Hãy hoàn tất hoặc hủy trước khi đóng ca.",
      session_not_pending_approval: "Ca không chờ duyệt.",
      session_not_handed_over: "Ca này không được bàn giao.",
      session_not_counted: "Ca chưa kiểm đếm.",
      approval_by_cashier: "Thu ngân của ca không được tự duyệt.",
      not_your_session: "Không phải ca của bạn.",
      handover_to_self: "Không thể bàn giao cho chính mình.",
      handover_receiver_invalid: "Người nhận không phải thu ngân.",
      not_handover_receiver: "Bạn không phải người nhận bàn giao.",
      insufficient_drawer_cash: "Ngăn kéo không đủ tiền mặt.",
      invalid_transfer: "Chuyển tiền không hợp lệ.",
      not_transfer_receiver: "Bạn không phải người nhận khoản chuyển này (tiền về két do một giám sát khác người gửi kiểm đếm).",
      cash_transfer_state_conflict: "Khoản chuyển tiền đã được xác nhận hoặc đã hủy.",
      session_has_pending_transfers: "Ca còn khoản chuyển tiền chưa được kiểm đếm. Hãy chờ bên nhận xác nhận hoặc hủy khoản chuyển.",
      tendered_too_large: "Số tiền khách đưa quá lớn so với số phải thu. Vui lòng đếm lại.",
      refund_already_paid_out: "Khoản hoàn tiền này đã được chi trả.",
      payment_cancel_not_allowed: "Không được hủy thanh toán này.",
      service_unavailable: "Hệ thống tạm thời không phục vụ được. Vui lòng thử lại sau.",
      nothing_owed: "Không còn tiền phải trả lại người bệnh.",
      amount_exceeds_refund_owed: "Số tiền lớn hơn số phải trả lại.",
      receipt_not_issued_yet: "Biên lai đang được lập.",
      recipient_missing: "Chưa có số điện thoại để gửi.",
      channel_unavailable: "Kênh gửi này tạm thời không dùng được.",
      unknown: "Có lỗi xảy ra ({code}). Vui lòng thử lại.",
    },
    en: {
      network_error: "Cannot reach the server. Please try again.",
      parameter_missing: "Some required information is missing.",
      parameter_invalid: "Some information is not valid.",
      malformed_json: "The request is not valid.",
      malformed_body: "The request is not valid.",
      invalid_request: "The request is not valid.",
      conflict: "This conflicts with another change. Please try again.",
      authentication_required: "Please sign in.",
      authentication_failed: "Your sign-in has expired, or this device is not authorised.",
      invalid_credentials: "Wrong user name or password.",
      permission_denied: "You are not allowed to do this.",
      not_found: "Not found.",
      route_not_found: "Not found.",
      method_not_allowed: "This operation is not supported.",
      not_acceptable: "This request is not supported.",
      unsupported_media_type: "This request is not supported.",
      rate_limited: "Too many look-ups. Please wait {seconds} seconds and try again.",
      bad_request: "The request is not valid.",
      internal_error: "Something went wrong. Please try again or ask the staff.",
      database_contention: "The system is busy. Please try again.",
      invalid_amount: "The amount is not valid.",
      currency_mismatch: "Wrong currency.",
      invalid_citizen_id: "This citizen ID is not valid (12 digits).",
      invalid_insurance_number: "This health-insurance number is not valid.",
      invalid_coverage: "The insurance cover is not valid.",
      patient_not_found: "No patient found with this number. Please check it, or ask at the cashier's desk.",
      patient_code_exists: "This patient code already exists.",
      encounter_closed: "This stay or visit is closed.",
      nothing_to_bill: "Nothing to bill.",
      invoice_already_void: "This invoice is void.",
      invoice_has_payments: "This invoice has payments.",
      amount_exceeds_due: "The amount is more than what is due.",
      amount_exceeds_payable: "The amount is more than can be paid now: at most {payable} (less payments still in progress).",
      invoice_not_payable: "This invoice no longer needs paying.",
      invoice_has_payments_in_flight: "A payment of this invoice is still in progress.",
      method_not_allowed_here: "This way of paying is not available here.",
      no_card_reader: "This machine has no card reader. Please pay by QR code.",
      payment_state_conflict: "The payment has changed meanwhile.",
      card_declined: "The card was declined. Please try another card or pay by QR code.",
      provider_error: "The bank or payment provider has a problem. Please try again.",
      provider_not_configured: "This way of paying is not available right now.",
      idempotency_key_missing: "The request has no duplicate-protection key.",
      idempotency_key_reused: "This request clashes with an earlier one.",
      request_in_progress: "The previous request is still being processed. Please wait.",
      payment_not_refundable: "This payment cannot be refunded.",
      refund_exceeds_captured: "The refund is more than was paid.",
      refund_state_conflict: "The refund has changed meanwhile.",
      approval_by_requester: "The requester cannot approve their own refund: another supervisor must.",
      invalid_refund: "The refund is not valid.",
      refund_cancel_not_allowed: "You cannot cancel this refund.",
      cashier_session_required: "No cashier session is open.",
      cashier_session_closed: "The cashier session is closed.",
      terminal_has_open_session: "This desk already has an open session.",
      cashier_has_open_session: "This cashier already has an open session.",
      terminal_inactive: "This desk is out of service.",
      tendered_below_amount: "The cash handed over is less than the amount.",
      unknown_denomination: "Unknown note value.",
      invalid_count: "The count is not valid.",
      session_already_closed: "The session is already closed.",
      session_handover_pending: "The session is waiting for its handover.",
      session_has_payments_in_flight: "Payments of this session are still in progress: finish or cancel them before closing.",
      session_not_pending_approval: "The session is not waiting for approval.",
      session_not_handed_over: "This session was not handed over.",
      session_not_counted: "The session has not been counted yet.",
      approval_by_cashier: "The session's own cashier cannot approve it.",
      not_your_session: "This is not your session.",
      handover_to_self: "You cannot hand over to yourself.",
      handover_receiver_invalid: "The receiver is not a cashier.",
      not_handover_receiver: "You are not the receiver of this handover.",
      insufficient_drawer_cash: "The drawer does not hold enough cash.",
      invalid_transfer: "The transfer is not valid.",
      not_transfer_receiver: "You are not the receiver of this transfer (cash for the safe is counted in by a supervisor other than the sender).",
      cash_transfer_state_conflict: "This transfer was already counted in or canceled.",
      session_has_pending_transfers: "A transfer of this session is not counted in yet: wait for the receiver, or cancel it.",
      tendered_too_large: "The cash handed over is far more than the amount. Please count it again.",
      refund_already_paid_out: "This refund is already paid out.",
      payment_cancel_not_allowed: "This payment cannot be canceled here.",
      service_unavailable: "The service is unavailable for a moment. Please try again later.",
      nothing_owed: "Nothing is owed back to this patient.",
      amount_exceeds_refund_owed: "The amount is more than what is owed back.",
      receipt_not_issued_yet: "The receipt is being issued.",
      recipient_missing: "No phone number on file to send to.",
      channel_unavailable: "This channel is not available right now.",
      unknown: "Something went wrong ({code}). Please try again.",
    },
  };

  function fill(text, params) {
    return String(text).replace(/\{(\w+)\}/g, (all, name) =>
      params && params[name] !== undefined ? String(params[name]) : all,
    );
  }

  function t(key, params) {
    const text = words[language][key] ?? words.vi[key] ?? key;
    return fill(text, params);
  }

  /* The plain sentence for an API error (an ApiError or anything thrown). */
  function errorText(error) {
    let code = (error && error.code) || "unknown";
    const table = ERRORS[language];
    const detail = (error && error.detail) || {};
    const params = { code, seconds: (error && error.retryAfter) || 60 };
    // What is payable now, as the API answered it, when less than the invoice's due.
    if (code === "amount_exceeds_due" && typeof detail.payable === "number") {
      code = "amount_exceeds_payable";
      params.payable = money(detail.payable);
    }
    if (table[code]) return fill(table[code], params);
    return fill(table.unknown, params);
  }

  function add(table) {
    for (const lang of Object.keys(table)) Object.assign(words[lang], table[lang]);
  }

  /* Translate every element marked data-i18n (text), data-i18n-label (aria-label),
   * data-i18n-placeholder and data-i18n-title under root. */
  function apply(root) {
    const scope = root || global.document;
    scope.querySelectorAll("[data-i18n]").forEach((el) => {
      el.textContent = t(el.dataset.i18n);
    });
    scope.querySelectorAll("[data-i18n-label]").forEach((el) => {
      el.setAttribute("aria-label", t(el.dataset.i18nLabel));
    });
    scope.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
      el.setAttribute("placeholder", t(el.dataset.i18nPlaceholder));
    });
    scope.querySelectorAll("[data-i18n-title]").forEach((el) => {
      el.setAttribute("title", t(el.dataset.i18nTitle));
    });
  }

  function setLanguage(lang) {
    language = lang === "en" ? "en" : "vi";
    global.document.documentElement.lang = language;
    apply(global.document);
    global.document.dispatchEvent(new CustomEvent("vienphi:language", { detail: language }));
  }

  /* 1234567 -> "1.234.567 ₫" (integer minor units of VND, as the API gives them). */
  function money(amount, currency) {
    const n = Number(amount);
    const sign = n < 0 ? "-" : "";
    const digits = String(Math.abs(Math.trunc(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
    const symbol = !currency || currency === "VND" ? "₫" : currency;
    return sign + digits + "\u00a0" + symbol;
  }

  /* An ISO date-time from the API (the hospital's local time with its offset), shown as
   * the API wrote it, whatever the device's own clock zone: dd/mm/yyyy hh:mm. */
  function dateTime(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})/.exec(iso || "");
    if (!m) return iso || "";
    return m[3] + "/" + m[2] + "/" + m[1] + " " + m[4] + ":" + m[5];
  }

  global.Vienphi = Object.assign(global.Vienphi || {}, {
    i18n: { t, add, apply, setLanguage, errorText, money, dateTime, language: () => language },
  });
})(window);
