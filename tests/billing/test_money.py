import pytest

from billing.errors import CurrencyMismatch
from billing.money import Money


def test_money_adds_and_subtracts_in_one_currency():
    assert Money(180000, "VND") + Money(20000, "VND") == Money(200000, "VND")
    assert Money(180000, "VND") - Money(200000, "VND") == Money(-20000, "VND")


def test_money_refuses_to_mix_currencies():
    with pytest.raises(CurrencyMismatch):
        Money(100, "VND") + Money(100, "USD")
    with pytest.raises(CurrencyMismatch):
        assert Money(100, "VND") < Money(100, "USD")


@pytest.mark.parametrize("amount", [1.5, 180000.0, "180000", None, True])
def test_money_refuses_anything_but_an_int(amount):
    with pytest.raises(TypeError):
        Money(amount, "VND")


@pytest.mark.parametrize("currency", ["vnd", "VN", "", "VNDX", None])
def test_money_needs_an_iso_currency(currency):
    with pytest.raises(ValueError, match="ISO 4217"):
        Money(1, currency)


def test_money_is_immutable_and_multiplies_only_by_int():
    money = Money(5000, "VND")
    with pytest.raises(AttributeError):
        money.amount = 1  # type: ignore[misc]
    assert money * 3 == Money(15000, "VND")
    with pytest.raises(TypeError):
        money * 1.5


def test_money_formats_vnd_the_vietnamese_way():
    assert Money(1234567, "VND").format() == "1.234.567 ₫"
    assert Money(-1050, "USD").format() == "-10.50 USD"
