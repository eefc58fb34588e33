"""Display metadata (OpenID4VCI 1.0 §12.2.4 ``display``/``credential_metadata``, SD-JWT VC §8/§9): locale choice,
precedence of type metadata, and colours only with WCAG 2.1 contrast (SC 1.4.3, 4.5:1)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wallet_sim.oid4vci.display import (
    DEFAULT_COLORS,
    claim_label,
    contrast_ratio,
    localized,
    normalise_display,
    safe_colors,
)

DE = {"locale": "de-DE", "name": "Bewohnerparkausweis"}
EN = {"locale": "en-US", "name": "Residential parking permit"}


def test_locale_choice() -> None:
    assert localized([DE, EN], "en") == EN
    assert localized([DE, EN], "de") == DE
    assert localized([DE, EN], "fr") == EN  # English as the fallback
    assert localized([{"name": "x"}, DE], "fr") == {"name": "x"}  # an entry without locale next
    assert localized([], "de") is None


def test_type_metadata_preferred_over_issuer_metadata() -> None:
    """§12.2.4: "Format-specific mechanisms, such as SD-JWT VC display metadata are always preferred"."""
    configuration = {
        "credential_metadata": {
            "display": [{"locale": "de", "name": "Aus den Ausstellermetadaten"}],
            "claims": [{"path": ["family_name"], "display": [{"locale": "de", "name": "Name (Aussteller)"}]}],
        }
    }
    type_metadata = {
        "display": [
            {
                "locale": "de",
                "name": "Aus den Typmetadaten",
                "rendering": {"simple": {"background_color": "#1F4E79", "text_color": "#FFFFFF"}},
            }
        ],
        "claims": [{"path": ["family_name"], "display": [{"locale": "de", "label": "Familienname"}]}],
    }
    issuer = {"display": [{"locale": "de", "name": "Stadt Köln"}]}
    shown = normalise_display(issuer, configuration, type_metadata)
    assert shown["credential"][0]["name"] == "Aus den Typmetadaten"
    assert shown["credential"][0]["background_color"] == "#1F4E79"
    assert claim_label(shown, ["family_name"], "de") == "Familienname"
    fallback = normalise_display(issuer, configuration, None)
    assert fallback["credential"][0]["name"] == "Aus den Ausstellermetadaten"
    assert claim_label(fallback, ["family_name"], "de") == "Name (Aussteller)"
    assert shown["issuer"] == [{"locale": "de", "name": "Stadt Köln"}]


def test_css_injection_and_bad_colours_are_dropped() -> None:
    shown = normalise_display(
        {},
        {
            "credential_metadata": {
                "display": [
                    {"name": "x", "background_color": "red;} body{display:none", "text_color": "url(javascript:1)"}
                ]
            }
        },
        None,
    )
    assert "background_color" not in shown["credential"][0] and "text_color" not in shown["credential"][0]
    assert safe_colors(shown["credential"][0]) == DEFAULT_COLORS


def test_contrast() -> None:
    assert round(contrast_ratio("#000000", "#ffffff"), 1) == 21.0
    assert safe_colors({"background_color": "#1F4E79", "text_color": "#FFFFFF"}) == ("#1F4E79", "#FFFFFF")
    assert safe_colors({"background_color": "#ffff00", "text_color": "#ffffff"}) == DEFAULT_COLORS
    assert safe_colors({"background_color": "#fff"}) == ("#fff", "#000000")  # a readable text colour is chosen
    assert contrast_ratio(*DEFAULT_COLORS) >= 4.5


colours = st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "background_color": st.one_of(colours, st.text(max_size=20)),
            "text_color": st.one_of(colours, st.text(max_size=20)),
        },
    )
)
def test_safe_colours_are_always_readable_hex(entry: dict[str, str]) -> None:
    background, text = safe_colors(entry)
    assert background.startswith("#") and text.startswith("#")
    assert contrast_ratio(text, background) >= 4.5
