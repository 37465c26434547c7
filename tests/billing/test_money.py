import pytest
from django.db import models

from billing.errors import CurrencyMismatch, InvalidAmount
from billing.money import CurrencyField, Money, format_vnd, positive_amount
from billing.public_ids import mint_public_id
from config.errors import InvalidRequest


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


@pytest.mark.parametrize("amount", [0, -1, 1.0, "100", None, True])
def test_positive_amount_refuses_what_is_not_a_positive_int_naming_the_param(amount):
    with pytest.raises(InvalidAmount) as refused:
        positive_amount(amount, param="tendered")
    assert refused.value.param == "tendered"


def test_positive_amount_answers_with_the_callers_own_error():
    assert positive_amount(180_000) == 180_000
    with pytest.raises(InvalidRequest, match="A positive whole number"):
        positive_amount(0, error=InvalidRequest, message="A positive whole number.")


def test_vnd_is_formatted_with_dots_and_the_dong_sign_unless_the_text_names_the_unit():
    assert format_vnd(1_234_567) == "1.234.567 ₫"
    assert format_vnd(-80_000) == "-80.000 ₫"
    assert format_vnd(180_000, symbol=False) == "180.000"


def test_currency_field_is_the_plain_char_field_the_migrations_hold():
    with_default, without = CurrencyField(), CurrencyField(default=models.NOT_PROVIDED)
    assert with_default.deconstruct()[1:] == (
        "django.db.models.CharField",
        [],
        {"max_length": 3, "default": "VND"},
    )
    assert without.deconstruct()[1:] == ("django.db.models.CharField", [], {"max_length": 3})
    assert not without.clone().has_default()


def test_public_ids_are_drawn_from_the_alphabet_at_the_length_asked():
    assert mint_public_id(prefix="pay_").startswith("pay_")
    assert len(mint_public_id(prefix="pay_")) == 24
    code = mint_public_id(alphabet="23456789", length=12)
    assert len(code) == 12
    assert set(code) <= set("23456789")
    assert len({mint_public_id() for _ in range(100)}) == 100
