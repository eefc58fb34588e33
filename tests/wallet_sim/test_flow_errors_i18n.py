"""Presentation and PID flow failures on the web wallet's pages: in the page's language, with the technical cause."""

from __future__ import annotations

import pytest

from ssi.errors import DcqlError, SsiError
from wallet_sim.web.i18n import FLOW_ERRORS, flow_error_message


def test_every_flow_error_is_written_in_both_languages() -> None:
    assert set(FLOW_ERRORS["de"]) == set(FLOW_ERRORS["en"])


@pytest.mark.parametrize(
    ("lang", "lead", "detail"),
    [
        ("de", "Die Wallet enthält keinen Nachweis", "(Technisch: "),
        ("en", "The wallet holds no credential", "(Details: "),
    ],
)
def test_a_known_reason_in_the_pages_language_then_the_cause(lang: str, lead: str, detail: str) -> None:
    exc = DcqlError("no credential matches query 'pid'", reason="dcql_unsatisfiable")
    text = flow_error_message(exc, lang)
    assert text.startswith(lead) and text.endswith(f"{detail}no credential matches query 'pid')")


def test_an_unknown_reason_is_framed_with_its_description() -> None:
    exc = SsiError("something odd", reason="odd_thing")
    assert flow_error_message(exc, "de") == "Das hat nicht geklappt: something odd"
    assert flow_error_message(exc, "xx").startswith("Das hat nicht geklappt")  # unknown language: German
