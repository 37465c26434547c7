"""Chart pack ``tt99_2025``: private hospitals (enterprises), Circular 99/2025/TT-BTC of
27 October 2025 guiding the enterprise accounting regime, in force from 1 January 2026
for financial years starting on or after that date, replacing Circular 200/2014/TT-BTC
(Article 31 of Circular 99: effect and replaced texts).

Where the mapping comes from: Appendix II of the Circular (Hệ thống tài khoản kế toán)
fixes the level-1 and level-2 accounts (level 3 where it lists them, e.g. 33311); an
enterprise opens detail accounts below them for its own management needs. Every code
below is posting-level, as MISA SME imports it.

Decisions, with what was and was not confirmed:

* Cash: 111 / 1111 Tiền Việt Nam, detail 111100 cash sent between desks and the safe
  (not yet counted in), 111101 the main safe and 111102-111199 one per
  cashier drawer. Bank: 112 (renamed "Tiền gửi không kỳ hạn" by Circular 99 (check)) /
  1121 Tiền Việt Nam, detail 112101 the receiving account.
* 113 Tiền đang chuyển / 1131 Tiền Việt Nam: detail 113101 cash handed to the bank and not
  yet credited, 113111/113112 money a provider collected and has not paid out. 1132 is
  *foreign currency* in transit and is not used for VietQR.
* 131 Phải thu của khách hàng: detail 1311 patients, 1312 the social-insurance office
  (health-insurance fund).
* A shortage pending resolution is 1381 Tài sản thiếu chờ xử lý; an overage is 3381 Tài
  sản thừa chờ giải quyết (never netted in 1381).
* Output VAT posts to 33311 Thuế GTGT đầu ra (3331 is not posting-level), detail per rate
  333111 (5 %), 333112 (8 %), 333113 (10 %).
* Patient advances, refunds owed and unidentified receipts: 3388 Phải trả, phải nộp khác,
  detail 338801, 338802, 338809 (check whether an advance is better shown as a credit
  balance of 131; the pack keeps it apart so that a deposit never nets a receivable).
* Revenue: 511 / 5113 Doanh thu cung cấp dịch vụ for examination and treatment, 5111
  Doanh thu bán hàng hóa for medicines sold.
* Payment providers' fees: 642 / 6427 Chi phí dịch vụ mua ngoài (check: some enterprises
  book card fees in 6417 or 635).
* Opening capital (demo only): 411 / 4111 Vốn góp của chủ sở hữu.
"""

from __future__ import annotations

from billing.chart.packs import AccountRole as R
from billing.chart.packs import ChartAccount, ChartPack, DrawerNumbering

_APPX = "Circular 99/2025/TT-BTC, Appendix II"

PACK = ChartPack(
    regime="tt99_2025",
    title="Thông tư 99/2025/TT-BTC — chế độ kế toán doanh nghiệp",
    source=(
        "Circular 99/2025/TT-BTC (27 October 2025, in force 1 January 2026; Article 31), "
        "Appendix II Hệ thống tài khoản kế toán; detail accounts opened by the enterprise."
    ),
    accounts=(
        ChartAccount(
            "111100",
            "Tiền mặt đang chuyển giữa quầy thu và két (đã giao, chưa nhận)",
            "asset",
            f"{_APPX}: 111 Tiền mặt / 1111 Tiền Việt Nam; detail: cash between desks",
            R.CASH_TRANSFER,
        ),
        ChartAccount(
            "111101",
            "Tiền Việt Nam tại quỹ chính (két)",
            "asset",
            f"{_APPX}: 111 Tiền mặt / 1111 Tiền Việt Nam; detail: main safe",
            R.MAIN_SAFE,
        ),
        ChartAccount(
            "112101",
            "Tiền gửi ngân hàng - tài khoản thu viện phí",
            "asset",
            f"{_APPX}: 112 / 1121 Tiền Việt Nam; detail: receiving account",
            R.BANK,
        ),
        ChartAccount(
            "113101",
            "Tiền đang chuyển - tiền mặt nộp ngân hàng chưa nhận báo Có",
            "asset",
            f"{_APPX}: 113 Tiền đang chuyển / 1131 Tiền Việt Nam; detail",
            R.CASH_IN_TRANSIT,
        ),
        ChartAccount(
            "113111",
            "Tiền đang chuyển - thanh toán thẻ (Stripe)",
            "asset",
            f"{_APPX}: 113 Tiền đang chuyển / 1131 Tiền Việt Nam; detail per provider",
            R.CLEARING,
            "stripe",
        ),
        ChartAccount(
            "113112",
            "Tiền đang chuyển - chuyển khoản VietQR/NAPAS 247",
            "asset",
            f"{_APPX}: 113 Tiền đang chuyển / 1131 Tiền Việt Nam; detail per provider",
            R.CLEARING,
            "vietqr",
        ),
        ChartAccount(
            "1311",
            "Phải thu người bệnh",
            "asset",
            f"{_APPX}: 131 Phải thu của khách hàng; detail: patients",
            R.PATIENT_RECEIVABLE,
        ),
        ChartAccount(
            "1312",
            "Phải thu cơ quan BHXH - Quỹ BHYT",
            "asset",
            f"{_APPX}: 131 Phải thu của khách hàng; detail: the health-insurance fund",
            R.INSURANCE_RECEIVABLE,
        ),
        ChartAccount(
            "1381",
            "Tài sản thiếu chờ xử lý",
            "asset",
            f"{_APPX}: 138 Phải thu khác / 1381 Tài sản thiếu chờ xử lý",
            R.CASH_SHORTAGE,
        ),
        ChartAccount(
            "333111",
            "Thuế GTGT đầu ra 5%",
            "liability",
            f"{_APPX}: 3331 Thuế GTGT phải nộp / 33311 Thuế GTGT đầu ra; detail per rate",
            R.OUTPUT_VAT,
            "5",
        ),
        ChartAccount(
            "333112",
            "Thuế GTGT đầu ra 8%",
            "liability",
            f"{_APPX}: 3331 Thuế GTGT phải nộp / 33311 Thuế GTGT đầu ra; detail per rate",
            R.OUTPUT_VAT,
            "8",
        ),
        ChartAccount(
            "333113",
            "Thuế GTGT đầu ra 10%",
            "liability",
            f"{_APPX}: 3331 Thuế GTGT phải nộp / 33311 Thuế GTGT đầu ra; detail per rate",
            R.OUTPUT_VAT,
            "10",
        ),
        ChartAccount(
            "3381",
            "Tài sản thừa chờ giải quyết",
            "liability",
            f"{_APPX}: 338 Phải trả, phải nộp khác / 3381 Tài sản thừa chờ giải quyết",
            R.CASH_OVERAGE,
        ),
        ChartAccount(
            "338801",
            "Tạm ứng viện phí của người bệnh",
            "liability",
            f"{_APPX}: 338 / 3388 Phải trả, phải nộp khác; detail: patient advances (check)",
            R.PATIENT_ADVANCES,
        ),
        ChartAccount(
            "338802",
            "Phải trả người bệnh - hoàn ứng",
            "liability",
            f"{_APPX}: 338 / 3388 Phải trả, phải nộp khác; detail: refunds owed",
            R.REFUNDS_OWED,
        ),
        ChartAccount(
            "338809",
            "Tiền nhận chưa xác định được nội dung",
            "liability",
            f"{_APPX}: 338 / 3388 Phải trả, phải nộp khác; detail: suspense",
            R.SUSPENSE,
        ),
        ChartAccount(
            "4111",
            "Vốn góp của chủ sở hữu",
            "equity",
            f"{_APPX}: 411 Vốn đầu tư của chủ sở hữu / 4111 Vốn góp của chủ sở hữu",
            R.OWNER_EQUITY,
        ),
        ChartAccount(
            "5111",
            "Doanh thu bán hàng hóa - thuốc, vật tư y tế",
            "revenue",
            f"{_APPX}: 511 / 5111 Doanh thu bán hàng hóa",
            R.PHARMACY_REVENUE,
        ),
        ChartAccount(
            "5113",
            "Doanh thu cung cấp dịch vụ - khám bệnh, chữa bệnh",
            "revenue",
            f"{_APPX}: 511 / 5113 Doanh thu cung cấp dịch vụ",
            R.SERVICE_REVENUE,
        ),
        ChartAccount(
            "6427",
            "Chi phí dịch vụ mua ngoài - phí dịch vụ thanh toán",
            "expense",
            f"{_APPX}: 642 Chi phí quản lý doanh nghiệp / 6427 Chi phí dịch vụ mua ngoài",
            R.PROVIDER_FEES,
        ),
    ),
    drawers=DrawerNumbering(
        prefix="1111",
        width=2,
        offset=1,
        name="Tiền Việt Nam tại quầy thu {code} ({name})",
        basis=f"{_APPX}: 111 Tiền mặt / 1111 Tiền Việt Nam; detail per cashier drawer",
    ),
)
