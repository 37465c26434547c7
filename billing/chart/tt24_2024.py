"""Chart pack ``tt24_2024``: public hospitals (public non-business units, đơn vị sự nghiệp
công lập), Circular 24/2024/TT-BTC of 17 April 2024 on the accounting regime of
administrative and non-business units, in force from 1 January 2025, replacing Circular
107/2017/TT-BTC.

Where the mapping comes from: Appendix II of the Circular (Hệ thống tài khoản kế toán —
danh mục hệ thống tài khoản) fixes the level-1 and level-2 accounts; a unit opens detail
accounts below them for its own management needs (Appendix II, its general provisions
on detail accounts). Every code below is posting-level (nothing is posted to a parent), so
it can be imported into MISA Mimosa as the bottom-level account.

Decisions, with what was and was not confirmed:

* Hospital fees are service prices since the Law on Fees and Charges 2015 took medical
  examination and treatment out of the fee list; they are revenue of the service
  activity, **531 Doanh thu hoạt động SXKD, dịch vụ** — not 511, which under this
  regime is revenue funded by the state budget (Doanh thu hoạt động do NSNN cấp), nor
  514 (fees retained). 531 has no level-2 accounts in Appendix II (check), so the pack
  opens 5311 (services) and 5312 (medicines sold) as the unit's detail.
* 113 Tiền đang chuyển has no level-2 accounts in Appendix II (check): detail 11301 for
  cash handed to the bank and not yet credited, 11311/11312 for money a payment provider
  has collected and not yet paid out (card, VietQR/NAPAS 247).
* 131 Phải thu khách hàng: detail 1311 for patients, 1312 for the social-insurance office
  (the health-insurance fund's receivable), each with the patient or the office as
  counterparty.
* A cash shortage pending resolution is a receivable (138 Phải thu khác, 1388 (check)),
  an overage a payable (338 Phải trả khác, 3388 (check)); the pack opens 138801 and
  338803 so that each is posting-level.
* Patient advances (tạm ứng viện phí), refunds owed and unidentified receipts are other
  payables, 3388 (check), detail 338801, 338802, 338809.
* Output VAT: 3331 Thuế GTGT phải nộp, level-3 33311 output VAT as under Circular
  107/2017 (check that Circular 24 keeps 33311); detail per rate 333111 (5 %), 333112
  (8 %), 333113 (10 %). Medical services are not subject to VAT; medicines sold may be.
* Payment providers' fees: 642 Chi phí hoạt động SXKD, dịch vụ, detail 6428 (check the
  level-2 numbering of 642 in Appendix II).
* Opening capital (demo only): 411 Nguồn vốn kinh doanh (check the name in Appendix II).
* Cash: 111 Tiền mặt / 1111 Tiền Việt Nam, detail 111100 cash sent between desks and the
  safe, 111101 the main safe and 111102-111199
  one per cashier drawer; bank: 112 Tiền gửi Ngân hàng, Kho bạc / 1121 Tiền Việt Nam,
  detail 112101 the receiving account.
"""

from __future__ import annotations

from billing.chart.packs import AccountRole as R
from billing.chart.packs import ChartAccount, ChartPack, DrawerNumbering

_APPX = "Circular 24/2024/TT-BTC, Appendix II"

PACK = ChartPack(
    regime="tt24_2024",
    title="Thông tư 24/2024/TT-BTC — chế độ kế toán hành chính, sự nghiệp",
    source=(
        "Circular 24/2024/TT-BTC (17 April 2024, in force 1 January 2025), Appendix II "
        "Hệ thống tài khoản kế toán; detail accounts below level 2 opened by the unit."
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
            f"{_APPX}: 112 Tiền gửi Ngân hàng, Kho bạc / 1121 Tiền Việt Nam; detail",
            R.BANK,
        ),
        ChartAccount(
            "11301",
            "Tiền đang chuyển - tiền mặt nộp ngân hàng chưa nhận báo Có",
            "asset",
            f"{_APPX}: 113 Tiền đang chuyển (no level 2, check); detail",
            R.CASH_IN_TRANSIT,
        ),
        ChartAccount(
            "11311",
            "Tiền đang chuyển - thanh toán thẻ (Stripe)",
            "asset",
            f"{_APPX}: 113 Tiền đang chuyển (no level 2, check); detail per provider",
            R.CLEARING,
            "stripe",
        ),
        ChartAccount(
            "11312",
            "Tiền đang chuyển - chuyển khoản VietQR/NAPAS 247",
            "asset",
            f"{_APPX}: 113 Tiền đang chuyển (no level 2, check); detail per provider",
            R.CLEARING,
            "vietqr",
        ),
        ChartAccount(
            "1311",
            "Phải thu người bệnh",
            "asset",
            f"{_APPX}: 131 Phải thu khách hàng; detail: patients",
            R.PATIENT_RECEIVABLE,
        ),
        ChartAccount(
            "1312",
            "Phải thu cơ quan BHXH - Quỹ BHYT",
            "asset",
            f"{_APPX}: 131 Phải thu khách hàng; detail: the health-insurance fund",
            R.INSURANCE_RECEIVABLE,
        ),
        ChartAccount(
            "138801",
            "Tiền mặt thiếu chờ xử lý",
            "asset",
            f"{_APPX}: 138 Phải thu khác / 1388 Phải thu khác (check); detail",
            R.CASH_SHORTAGE,
        ),
        ChartAccount(
            "333111",
            "Thuế GTGT đầu ra 5%",
            "liability",
            f"{_APPX}: 333 / 3331 Thuế GTGT phải nộp / 33311 đầu ra (check); detail",
            R.OUTPUT_VAT,
            "5",
        ),
        ChartAccount(
            "333112",
            "Thuế GTGT đầu ra 8%",
            "liability",
            f"{_APPX}: 333 / 3331 Thuế GTGT phải nộp / 33311 đầu ra (check); detail",
            R.OUTPUT_VAT,
            "8",
        ),
        ChartAccount(
            "333113",
            "Thuế GTGT đầu ra 10%",
            "liability",
            f"{_APPX}: 333 / 3331 Thuế GTGT phải nộp / 33311 đầu ra (check); detail",
            R.OUTPUT_VAT,
            "10",
        ),
        ChartAccount(
            "338801",
            "Tạm ứng viện phí của người bệnh",
            "liability",
            f"{_APPX}: 338 Phải trả khác / 3388 (check); detail: patient advances",
            R.PATIENT_ADVANCES,
        ),
        ChartAccount(
            "338802",
            "Phải trả người bệnh - hoàn ứng",
            "liability",
            f"{_APPX}: 338 Phải trả khác / 3388 (check); detail: refunds owed",
            R.REFUNDS_OWED,
        ),
        ChartAccount(
            "338803",
            "Tiền mặt thừa chờ xử lý",
            "liability",
            f"{_APPX}: 338 Phải trả khác / 3388 (check); detail: cash overage",
            R.CASH_OVERAGE,
        ),
        ChartAccount(
            "338809",
            "Tiền nhận chưa xác định được nội dung",
            "liability",
            f"{_APPX}: 338 Phải trả khác / 3388 (check); detail: suspense",
            R.SUSPENSE,
        ),
        ChartAccount(
            "411",
            "Nguồn vốn kinh doanh",
            "equity",
            f"{_APPX}: 411 (check the name)",
            R.OWNER_EQUITY,
        ),
        ChartAccount(
            "5311",
            "Doanh thu dịch vụ khám bệnh, chữa bệnh",
            "revenue",
            f"{_APPX}: 531 Doanh thu hoạt động SXKD, dịch vụ; detail: services",
            R.SERVICE_REVENUE,
        ),
        ChartAccount(
            "5312",
            "Doanh thu bán thuốc, vật tư y tế",
            "revenue",
            f"{_APPX}: 531 Doanh thu hoạt động SXKD, dịch vụ; detail: medicines",
            R.PHARMACY_REVENUE,
        ),
        ChartAccount(
            "6428",
            "Chi phí hoạt động SXKD, dịch vụ - phí dịch vụ thanh toán",
            "expense",
            f"{_APPX}: 642 Chi phí hoạt động SXKD, dịch vụ; 6428 (check)",
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
