"""A small ledger explorer for the demo: what is on the chain, decoded, and a check that none of it is personal data.

It reads only public chain data over JSON-RPC (blocks and event logs) and decodes every log whose first topic is an
event of one of govssi's contracts (all ABIs in ``ledger/artifacts``), so new contracts show up without changes.
DSGVO: the chain must hold no personal data (DESIGN.md §1); :meth:`ChainExplorer.snapshot` scans every decoded string
and byte value for the test citizens' personal data and reports the hits (there should be none).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ledger.client import ChainClient

__all__ = ["ChainExplorer", "ChainSnapshot", "DecodedEvent", "personal_data_patterns", "sensitive_strings"]


@dataclass(frozen=True)
class DecodedEvent:
    block: int
    transaction: str
    contract: str
    address: str
    event: str
    #: ``(name, ABI type, shown value)`` per argument.
    arguments: tuple[tuple[str, str, str], ...]


@dataclass
class ChainSnapshot:
    chain_id: int
    head: int
    blocks: list[dict[str, Any]] = field(default_factory=list)
    events: list[DecodedEvent] = field(default_factory=list)
    #: Values found on chain that equal or contain a test citizen's personal data (must stay empty).
    personal_data_hits: list[str] = field(default_factory=list)
    scanned_values: int = 0


def _artifacts() -> dict[str, list[dict[str, Any]]]:
    folder = resources.files("ledger").joinpath("artifacts")
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            found[data["contractName"]] = data["abi"]
    return found


def _show(abi_type: str, value: Any) -> str:
    if isinstance(value, bytes):
        if abi_type == "bytes32":
            text = value.rstrip(b"\0")
            if text and all(32 <= byte < 127 for byte in text):
                return f"{text.decode('ascii')!r} (bytes32)"
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(abi_type.rstrip("[]"), item) for item in value) + "]"
    return str(value)


class ChainExplorer:
    """Reads the chain through ``client``; ``names`` maps contract addresses to what they are (for display)."""

    def __init__(self, client: ChainClient, *, names: dict[str, str] | None = None) -> None:
        self._client = client
        self._names = {address.lower(): name for address, name in (names or {}).items()}
        self._by_topic: dict[bytes, tuple[str, Any, dict[str, Any]]] = {}
        w3 = client.w3
        for contract_name, abi in _artifacts().items():
            contract = w3.eth.contract(abi=abi)
            for entry in abi:
                if entry.get("type") != "event" or entry.get("anonymous"):
                    continue
                signature = f"{entry['name']}({','.join(_canonical(i) for i in entry['inputs'])})"
                topic = bytes(w3.keccak(text=signature))
                self._by_topic[topic] = (contract_name, contract.events[entry["name"]](), entry)

    def snapshot(self, *, blocks: int = 20, events_from: int = 0, sensitive: Iterable[str] = ()) -> ChainSnapshot:
        """The newest ``blocks`` blocks and every govssi event since ``events_from`` (newest first), with the scan
        of all decoded values for the ``sensitive`` strings (case-insensitive)."""
        client = self._client
        head = client.block_number()
        snap = ChainSnapshot(chain_id=client.chain_id, head=head)
        for number in range(head, max(-1, head - blocks), -1):
            block = client.w3.eth.get_block(number)
            snap.blocks.append(
                {
                    "number": number,
                    "hash": "0x" + bytes(block["hash"]).hex(),
                    "time": int(block["timestamp"]),
                    "transactions": len(block["transactions"]),
                    "miner": str(block.get("miner", "")),
                }
            )
        logs = client.get_logs({}, from_block=events_from, to_block=head)
        needles = personal_data_patterns(sensitive)
        for log in reversed(logs):
            topics = log["topics"]
            known = self._by_topic.get(bytes(topics[0])) if topics else None
            if known is None:
                continue
            contract_name, event, entry = known
            decoded = event.process_log(log)
            types = {i["name"]: i["type"] for i in entry["inputs"]}
            arguments = tuple((name, types[name], _show(types[name], value)) for name, value in decoded["args"].items())
            address = str(log["address"])
            snap.events.append(
                DecodedEvent(
                    block=int(log["blockNumber"]),
                    transaction="0x" + bytes(log["transactionHash"]).hex(),
                    contract=self._names.get(address.lower(), contract_name),
                    address=address,
                    event=entry["name"],
                    arguments=arguments,
                )
            )
            for _name, _type, shown in arguments:
                snap.scanned_values += 1
                text = _printable(shown).casefold()
                snap.personal_data_hits += [
                    f"{entry['name']}: {needle}" for needle, pattern in needles if pattern.search(text)
                ]
        return snap


def personal_data_patterns(sensitive: Iterable[str]) -> list[tuple[str, re.Pattern[str]]]:
    """``(value, pattern)`` per sensitive value of at least 3 characters: the value case-folded ("WEIß" finds "weiss")
    as a whole word, so a postcode or a birth year is found as text ("51147 KÖLN") but not inside a hash, an address
    or a timestamp, where any digit string turns up by chance."""
    found = []
    for value in dict.fromkeys(sensitive):
        if len(value) >= 3:
            folded = value.casefold()
            found.append((folded, re.compile(r"(?<!\w)" + re.escape(folded) + r"(?!\w)")))
    return found


def _printable(shown: str) -> str:
    """The value as text, and hex-encoded byte strings decoded where they are UTF-8 (personal data could hide there)."""
    if shown.startswith("0x"):
        try:
            return shown + " " + bytes.fromhex(shown[2:]).decode("utf-8", errors="ignore")
        except ValueError:
            return shown
    return shown


def _canonical(parameter: dict[str, Any]) -> str:
    kind = str(parameter["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_canonical(c) for c in parameter["components"]) + ")" + kind[5:]
    return kind


def sensitive_strings(citizens: Sequence[dict[str, Any]]) -> list[str]:
    """Every string value of the test citizens' records (names, birth dates, addresses, document numbers)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for citizen in citizens:
        walk(citizen)
    return found
