"""The simulated eID card and Smart-eID of the wallet simulator (the card side; the eID-Server side is
:mod:`ssi.eid`, which services use without importing the simulator).

- :class:`EidCards` — the test cards of one wallet (``<wallet dir>/eid/cards/<id>.json``), personalised from the test
  citizens (``citizens.json``: ERIKA MUSTERMANN and edge cases) on first use; :class:`EidCard` — one card: PIN state
  machine (transport PIN, retry counter 3, CAN after the second wrong PIN, PUK, PUK limit) and its eID function;
- :class:`SmartEid` / :class:`SmartEidProvider` — the card's identity provisioned into the device's secure element;
  later authentications need no card; level of assurance attested by the provider (default ``substantial``);
- :func:`describe_request` — what the eID client shows before the PIN: provider name and URL, required and optional
  data.

PID issuance (the wallet's eID client)::

    from wallet_sim.eid import EidCards, describe_request

    card = EidCards(wallet_dir / "eid").card("erika")
    card.change_pin("13579", "123456")                          # once: transport PIN → PIN
    shown = describe_request(request_json)                       # provider, required/optional data
    response = card.authenticate(request_json, "123456", deselect=[DataGroup.PLACE_OF_RESIDENCE])
    post(issuer, response.encode())                              # the issuer's ssi.eid.EidServer.finish(...)

Every refusal is an :class:`ssi.errors.EidCardRefused` with a specific ``reason`` (``eid_wrong_pin``,
``eid_can_required``, ``eid_terminal_expired`` …). Test PINs, CANs and PUKs are public (``govssi wallet eid cards``).
"""

from wallet_sim.eid.applet import ChipContent, run_applet
from wallet_sim.eid.card import MAX_PUK_USES, RETRY_COUNTER, CardState, CardStatus, EidCard, EidCards
from wallet_sim.eid.citizens import TestCitizen, find_citizen, load_citizens
from wallet_sim.eid.client import RequestDescription, RequestedItem, describe_request
from wallet_sim.eid.smart_eid import DEFAULT_LEVEL_OF_ASSURANCE, SmartEid, SmartEidProvider

__all__ = [
    "DEFAULT_LEVEL_OF_ASSURANCE",
    "MAX_PUK_USES",
    "RETRY_COUNTER",
    "CardState",
    "CardStatus",
    "ChipContent",
    "EidCard",
    "EidCards",
    "RequestDescription",
    "RequestedItem",
    "SmartEid",
    "SmartEidProvider",
    "TestCitizen",
    "describe_request",
    "find_citizen",
    "load_citizens",
    "run_applet",
]
