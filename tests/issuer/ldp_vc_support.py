"""Sample claims for govssi's two ldp_vc (bbs-2023) credential types — the simulator's sample citizen (DESIGN.md §4):
the residents' parking permit and the age credential with ``age_over_NN`` booleans."""

from __future__ import annotations

from typing import Any

PARKING_BBS = "bewohnerparkausweis-bbs"
AGE_BBS = "altersnachweis-bbs"

LDP_SAMPLE_CLAIMS: dict[str, dict[str, Any]] = {
    PARKING_BBS: {
        "family_name": "MUSTERMANN",
        "given_name": "ERIKA",
        "address": {"street_address": "HEIDESTRASSE 17", "postal_code": "51147", "locality": "KÖLN"},
        "license_plate": "K-EM 1964",
        "parking_zone": "K3",
        "valid_until": "2099-06-30",
    },
    AGE_BBS: {
        "age_over_12": True,
        "age_over_14": True,
        "age_over_16": True,
        "age_over_18": True,
        "age_over_21": True,
        "age_over_65": False,
    },
}
