"""``ChainClient``: contract calls, transactions and logs over a :class:`FailoverProvider`, with nonce management,
confirmation depth and idempotent delivery.

Sending a transaction (:meth:`ChainClient.transact`):

1. estimate gas (a revert here is :class:`~ledger.errors.TransactionFailed` with the reason; nothing is sent) and
   read the fees: EIP-1559 (``maxFeePerGas = 2 * baseFee + tip``) when the latest block has a base fee, else a legacy
   ``gasPrice`` (pre-London chains, some QBFT/Clique networks);
2. under the sender's nonce lock (:mod:`ledger.client.nonces`): sign with the next nonce, deliver the raw bytes.
   The transaction is named by its hash. Delivery is retried with the *same bytes* when no node answers (a node may
   have taken it before the timeout — the same bytes cannot apply twice); "already known" means delivered; "nonce too
   low" means delivered if the node knows our hash, otherwise another transaction took the nonce and we re-sign
   with a fresh one;
3. wait for the receipt, then until ``receipt block + confirmations <= head`` and the block at that height is still
   the receipt's block (a reorganisation moved it otherwise); rebroadcast the same bytes meanwhile if no node has
   it. Receipt status 0 is :class:`~ledger.errors.TransactionFailed` (the reason from replaying the call on the
   parent block). Not done before the deadline: :class:`~ledger.errors.TransactionNotConfirmed`, carrying the raw
   transaction for :meth:`ChainClient.resend` / :meth:`ChainClient.wait_for_receipt`.

Confirmations default to the network's finality depth (:meth:`ChainClient.finality_confirmations`): on a Clique
network — a node answers ``clique_getSigners`` — ``2·⌊(N−1)/2⌋`` blocks on top for ``N`` signers (1 for ``N = 2``),
the depth a partitioned minority can no longer undo (:mod:`ledger.client.finality`); elsewhere 0 (one node, or QBFT,
whose blocks are final when mined). On a Clique network the wait also ends early, with
:class:`~ledger.errors.ChainStalled`, when the chain stops growing (:attr:`ClientPolicy.stall_timeout`): fewer than
half of the signers are online and no block will come.

Blocks are parsed with web3's PoA middleware (``ExtraDataToPOAMiddleware``): Clique and QBFT put signatures and
votes into ``extraData`` (97+ bytes), beyond the 32 bytes web3 otherwise accepts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractEvent, ContractFunction
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3Exception, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers import BaseProvider
from web3.types import BlockIdentifier, EventData, FilterParams, LogReceipt, RPCEndpoint, TxParams, TxReceipt

from ledger.client.endpoints import EndpointStatus, FailoverPolicy, FailoverProvider
from ledger.client.finality import clique_confirmations
from ledger.client.nonces import Nonces
from ledger.client.signer import ChainSigner
from ledger.client.transactions import SignedTransaction, sign_transaction
from ledger.contracts import ContractArtifact
from ledger.errors import (
    ChainError,
    ChainIdMismatch,
    ChainStalled,
    ChainUnavailable,
    ExecutionReverted,
    TransactionFailed,
    TransactionNotConfirmed,
    TransactionRejected,
)
from ssi.clock import Clock

__all__ = ["CLIQUE_STALL_TIMEOUT", "ChainClient", "ClientPolicy", "call_data"]

_T = TypeVar("_T")
_log = logging.getLogger("ledger.client")
_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_LIMIT_EXCEEDED = -32005

# How nodes word their answers to eth_sendRawTransaction (geth, Besu, Nethermind, anvil, the local node), lower case.
_ALREADY_KNOWN = ("already known", "known transaction", "already imported", "alreadyknown", "already_known")
_NONCE_TOO_LOW = ("nonce too low", "nonce_too_low", "oldnonce", "nonce is too low")
_NONCE_TOO_HIGH = ("nonce too high", "nonce_too_high", "futurenonce")
_UNDERPRICED = ("replacement transaction underpriced", "replacement_underpriced", "already exists in the pool")
#: What web3 raises when a node's answer is unusable (empty call result, malformed or mistyped data). Caller mistakes
#: (arguments that do not fit the ABI) are caught before any request is made (:func:`call_data`), so these are the
#: node's fault wherever :meth:`ChainClient._rpc` sees them.
_BAD_ANSWERS = (Web3Exception, DecodingError, ValueError, TypeError, KeyError, AttributeError, IndexError)
_TOO_MANY_LOGS = ("more than", "too many", "limit exceeded", "range too large", "block range", "exceed")
#: Seconds without a new block after which a wait on a Clique network reports the chain as stalled.
CLIQUE_STALL_TIMEOUT = 30.0
#: How long a Clique signer count is trusted before it is asked again (votes change the set).
_SIGNERS_TTL = 30.0


@dataclass(frozen=True)
class ClientPolicy:
    """How a :class:`ChainClient` waits and retries (seconds unless said otherwise)."""

    #: Blocks on top of a transaction's block before :meth:`ChainClient.transact` returns (0: mined is enough);
    #: ``None``: the network's finality depth (:meth:`ChainClient.finality_confirmations`).
    confirmations: int | None = None
    #: Deadline for a transaction to be mined and confirmed.
    receipt_timeout: float = 60.0
    #: Deadline for handing a signed transaction to some node (retries with the same bytes while none answers).
    delivery_timeout: float = 30.0
    poll_interval: float = 0.1
    #: While no receipt appears, the same signed bytes are sent again this often (a node may have dropped them).
    rebroadcast_interval: float = 5.0
    #: Gas limit = estimate * margin (estimates are exact minimums; state may move before mining).
    gas_margin: float = 1.2
    #: Blocks per ``eth_getLogs`` request; halved automatically while a node refuses a range as too large.
    log_chunk_size: int = 5_000
    #: Fresh nonces tried when another transaction takes ours ("nonce too low") before giving up.
    nonce_attempts: int = 3
    #: A wait for a receipt or confirmations ends with ``ChainStalled`` when the head has not moved for this long;
    #: ``None``: :data:`CLIQUE_STALL_TIMEOUT` on Clique networks (which seal every period), never elsewhere (a chain
    #: that mines only when it has transactions may rightly stand still).
    stall_timeout: float | None = None

    def __post_init__(self) -> None:
        confirmations = 0 if self.confirmations is None else self.confirmations
        if confirmations < 0 or self.log_chunk_size < 1 or self.nonce_attempts < 1 or self.gas_margin < 1:
            raise ValueError("confirmations >= 0, log_chunk_size >= 1, nonce_attempts >= 1 and gas_margin >= 1")
        if min(self.receipt_timeout, self.delivery_timeout, self.poll_interval, self.rebroadcast_interval) <= 0:
            raise ValueError("timeouts and intervals must be positive")
        if self.stall_timeout is not None and self.stall_timeout <= 0:
            raise ValueError("stall_timeout must be positive")


def _contains(message: str, needles: Sequence[str]) -> bool:
    lowered = message.lower()
    return any(needle in lowered for needle in needles)


def _revert_details(exc: ContractLogicError) -> tuple[str | None, bytes]:
    """(reason, data) of a revert: the ``Error(string)`` message when the data holds one, else the node's text."""
    data = b""
    if isinstance(exc.data, str) and exc.data.startswith("0x"):
        try:
            data = bytes.fromhex(exc.data[2:])
        except ValueError:
            data = b""
    if data[:4] == _ERROR_STRING:
        try:
            (reason,) = abi_decode(["string"], data[4:])
            return str(reason), data
        except (DecodingError, ValueError, OverflowError):
            pass
    message = exc.message or ""
    for prefix in ("execution reverted: ", "execution reverted"):
        if message.startswith(prefix):
            message = message[len(prefix) :]
            break
    return (message or None), data


def _wei(value: Any) -> int:
    """A fee amount from a node: a non-negative integer, or the node's answer is unusable."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ChainError(f"a node gave a fee that is not an amount of wei: {value!r:.40}", reason="bad_response")
    return value


class _Delivery(Exception):
    """The node refused a transaction; ``kind`` says whether a fresh nonce could help."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class ChainClient:
    """A chain behind one or more JSON-RPC URLs (``GOVSSI_CHAIN_RPC``), for reading contracts and sending signed
    transactions. Thread-safe: share one per process.

    ``urls`` is a list of URLs or a comma-separated string (failover, :class:`FailoverProvider`), or a web3 provider
    used as it is — :class:`ledger.node.LocalChainProvider` for the in-process chain; such a provider has no failover,
    and its transport failures must be :class:`~ledger.errors.ChainUnavailable` (the in-process chain has none).
    :meth:`from_web3` makes a client for an existing :class:`Web3`.

    ``chain_id`` is checked against every endpoint (:meth:`connect` does it at once; otherwise the first request that
    needs it does). ``clock`` (monotonic seconds) and ``sleep`` decide every timeout and are injectable.
    """

    def __init__(
        self,
        urls: str | Sequence[str] | BaseProvider,
        *,
        chain_id: int | None = None,
        policy: ClientPolicy | None = None,
        failover: FailoverPolicy | None = None,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy = policy or ClientPolicy()
        self.provider: BaseProvider
        if isinstance(urls, BaseProvider):
            if failover is not None:
                raise ValueError("a failover policy applies to JSON-RPC URLs, not to a given provider")
            self.provider = urls
        else:
            self.provider = FailoverProvider(urls, policy=failover, chain_id=chain_id, clock=clock)
        self.w3 = Web3(self.provider)
        self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        self._clock = clock
        self._sleep = sleep
        self._chain_id = chain_id
        self._checked = False
        self._nonces = Nonces(self._pending_count)
        #: (Clique signer count or None for "not Clique", when learnt); see finality_confirmations.
        self._signers: tuple[int | None, float] | None = None

    @classmethod
    def connect(cls, urls: str | Sequence[str] | BaseProvider, **options: Any) -> ChainClient:
        """A client whose endpoints have been asked for their chain id (they must agree): fails fast on a wrong URL."""
        client = cls(urls, **options)
        client.check_chain_id()
        return client

    @classmethod
    def from_web3(cls, w3: Web3, **options: Any) -> ChainClient:
        """A client for the node behind an existing :class:`Web3`: its HTTP URL (with this client's timeouts and
        error mapping), or its provider as it is (in-process chain)."""
        url = getattr(w3.provider, "endpoint_uri", None)
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return cls([url], **options)
        return cls(w3.provider, **options)

    @property
    def failover(self) -> FailoverProvider | None:
        """The failover provider over the configured URLs (``None`` for a client over a given provider)."""
        return self.provider if isinstance(self.provider, FailoverProvider) else None

    def status(self) -> list[EndpointStatus]:
        """The endpoints' state, for health pages (empty for a client over a given provider)."""
        failover = self.failover
        return failover.status() if failover is not None else []

    def check_chain_id(self) -> int:
        """Ask every endpoint for its chain id; raises ``ChainIdMismatch`` / ``ChainUnavailable``."""
        failover = self.failover
        if failover is not None:
            chain_id = failover.check_chain_id()
        else:
            chain_id = self._rpc("eth_chainId", lambda: int(self.w3.eth.chain_id))
            if self._chain_id is not None and chain_id != self._chain_id:
                raise ChainIdMismatch(f"the node is chain {chain_id}; expected chain {self._chain_id}")
        self._chain_id = chain_id
        self._checked = True
        return chain_id

    @property
    def chain_id(self) -> int:
        if not self._checked:
            return self.check_chain_id()
        assert self._chain_id is not None  # set by check_chain_id
        return self._chain_id

    def close(self) -> None:
        failover = self.failover
        if failover is not None:
            failover.close()

    def __enter__(self) -> ChainClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------------------------

    def _rpc(self, action: str, operation: Callable[[], _T]) -> _T:
        """Run a web3 operation, mapping web3's errors to ours (``ChainUnavailable`` passes through as it is)."""
        try:
            return operation()
        except ContractLogicError as exc:
            reason, data = _revert_details(exc)
            raise ExecutionReverted(
                f"{action}: execution reverted" + (f": {reason}" if reason else ""), data=data
            ) from None
        except Web3RPCError as exc:
            raise ChainError(f"{action}: the node answered with an error: {exc.message}", reason="rpc_error") from None
        except _BAD_ANSWERS as exc:
            raise ChainError(
                f"{action}: unusable answer ({type(exc).__name__}: {exc})", reason="bad_response"
            ) from None

    def block_number(self) -> int:
        return self._rpc("eth_blockNumber", lambda: int(self.w3.eth.block_number))

    def clique_signers(self) -> int | None:
        """How many signers the Clique network has (``clique_getSigners``), or ``None`` when the nodes do not speak
        Clique (any error answer: a single node, QBFT, anvil). Remembered for ``_SIGNERS_TTL`` seconds (for good when
        not Clique); ``ChainUnavailable`` when no node answers."""
        known = self._signers
        if known is not None and (known[0] is None or self._clock() - known[1] < _SIGNERS_TTL):
            return known[0]
        response = self.provider.make_request(RPCEndpoint("clique_getSigners"), [])
        result = response.get("result") if "error" not in response else None
        count = len(result) if isinstance(result, list) and result else None
        self._signers = (count, self._clock())
        return count

    def finality_confirmations(self) -> int:
        """The confirmations after which a transaction is final on this network: :func:`clique_confirmations` of the
        signer count on a Clique network, 0 elsewhere. What ``confirmations=None`` (the default) means."""
        signers = self.clique_signers()
        return 0 if signers is None else clique_confirmations(signers)

    def _stall_timeout(self) -> float | None:
        if self.policy.stall_timeout is not None:
            return self.policy.stall_timeout
        return CLIQUE_STALL_TIMEOUT if self.clique_signers() is not None else None

    def transaction_count(self, address: str, block: BlockIdentifier = "latest") -> int:
        """``eth_getTransactionCount``: the account's nonce at ``block`` (``"pending"`` counts what nodes hold)."""
        checksummed = to_checksum_address(address)
        return self._rpc("eth_getTransactionCount", lambda: int(self.w3.eth.get_transaction_count(checksummed, block)))

    def code(self, address: str, block: BlockIdentifier = "latest") -> bytes:
        """``eth_getCode``: the runtime code at ``address`` (empty for an account without code)."""
        checksummed = to_checksum_address(address)
        return self._rpc("eth_getCode", lambda: bytes(self.w3.eth.get_code(checksummed, block)))

    def contract(self, address: str, abi: Sequence[Mapping[str, Any]] | ContractArtifact) -> Contract:
        """A contract at ``address`` bound to this client (its calls, events and transactions go through failover)."""
        interface = abi.abi if isinstance(abi, ContractArtifact) else list(abi)
        return self.w3.eth.contract(address=to_checksum_address(address), abi=cast(Any, interface))

    def call(self, function: ContractFunction, *, block: BlockIdentifier = "latest", sender: str | None = None) -> Any:
        """``eth_call`` of a bound contract function at ``block``; a revert is ``ExecutionReverted`` with its reason."""
        transaction: TxParams = {"from": to_checksum_address(sender)} if sender else {}
        call_data(function)  # the caller's arguments must fit the ABI: a TypeError/ValueError here is theirs
        return self._rpc(f"calling {function.fn_name}", lambda: function.call(transaction, block_identifier=block))

    def get_logs(
        self,
        source: ContractEvent | Mapping[str, Any],
        *,
        from_block: int = 0,
        to_block: int | None = None,
        argument_filters: Mapping[str, Any] | None = None,
        chunk_size: int | None = None,
    ) -> list[Any]:
        """Logs of ``source`` in ``[from_block, to_block]`` (default: up to the head when called), fetched in chunks of
        at most ``chunk_size`` blocks (halved while a node says a range has too many results), in chain order.

        ``source`` is a bound event (``contract.events.DIDAttributeChanged``; decoded ``EventData`` come back, filtered
        by ``argument_filters``) or an ``eth_getLogs`` filter object (``address``, ``topics``; raw logs come back).
        """
        end = self.block_number() if to_block is None else int(to_block)
        size = int(chunk_size or self.policy.log_chunk_size)
        if from_block < 0 or size < 1:
            raise ValueError("from_block must be >= 0 and chunk_size >= 1")

        def fetch(start: int, stop: int) -> Sequence[EventData] | Sequence[LogReceipt]:
            if isinstance(source, ContractEvent):
                filters = dict(argument_filters) if argument_filters else None
                events: Sequence[EventData] = source.get_logs(from_block=start, to_block=stop, argument_filters=filters)
                return events
            if argument_filters:
                raise ValueError("argument_filters need a contract event, not a raw filter")
            params = cast(FilterParams, {**source, "fromBlock": start, "toBlock": stop})
            return self.w3.eth.get_logs(params)

        found: list[Any] = []
        start = from_block
        while start <= end:
            stop = min(start + size - 1, end)
            try:
                found.extend(fetch(start, stop))
            except Web3RPCError as exc:
                error = exc.rpc_response.get("error") if exc.rpc_response else None
                code = error.get("code") if isinstance(error, dict) else None
                if stop > start and (code == _LIMIT_EXCEEDED or _contains(exc.message, _TOO_MANY_LOGS)):
                    size = max(1, (stop - start + 1) // 2)
                    continue
                raise ChainError(f"eth_getLogs {start}..{stop}: {exc.message}", reason="rpc_error") from None
            except _BAD_ANSWERS as exc:
                raise ChainError(
                    f"eth_getLogs {start}..{stop}: unusable answer ({exc})", reason="bad_response"
                ) from None
            start = stop + 1
        return found

    # -- sending -------------------------------------------------------------------------------------------------

    def _pending_count(self, address: str) -> int:
        return self.transaction_count(address, "pending")

    def fees(self) -> dict[str, int]:
        """EIP-1559 fee fields when the latest block has a base fee, else a legacy ``gasPrice``."""
        latest = self._rpc("eth_getBlockByNumber", lambda: self.w3.eth.get_block("latest"))
        base_fee = latest.get("baseFeePerGas") if isinstance(latest, Mapping) else None
        if base_fee is None:
            return {"gasPrice": self._rpc("eth_gasPrice", lambda: _wei(self.w3.eth.gas_price))}
        tip = self._rpc("eth_maxPriorityFeePerGas", lambda: _wei(self.w3.eth.max_priority_fee))
        return {"maxFeePerGas": 2 * _wei(base_fee) + tip, "maxPriorityFeePerGas": tip}

    def _estimate_gas(self, sender: str, to: str | None, data: bytes, value: int) -> int:
        call: dict[str, Any] = {"from": sender, "data": HexBytes(data), "value": value}
        if to is not None:
            call["to"] = to_checksum_address(to)
        try:
            estimate = self.w3.eth.estimate_gas(cast(TxParams, call))
        except ContractLogicError as exc:
            reason, revert_data = _revert_details(exc)
            raise TransactionFailed(
                "the transaction would revert" + (f": {reason}" if reason else ""),
                revert_reason=reason,
                data=revert_data,
            ) from None
        except Web3RPCError as exc:
            raise TransactionRejected(f"gas estimation refused: {exc.message}", reason="estimate_failed") from None
        except _BAD_ANSWERS as exc:
            raise ChainError(
                f"eth_estimateGas: unusable answer ({type(exc).__name__})", reason="bad_response"
            ) from None
        return int(estimate * self.policy.gas_margin)

    def send(
        self, sender: ChainSigner, *, to: str | None = None, data: bytes = b"", value: int = 0, gas: int | None = None
    ) -> SignedTransaction:
        """Sign and deliver one transaction from ``sender``; returns it once a node has taken it (not yet mined).

        Raises ``TransactionFailed`` (reverts at estimation; not sent), ``TransactionRejected`` (refused by the node),
        ``TransactionNotConfirmed`` (no node answered while delivering; the attached raw bytes may be resent).
        """
        chain_id = self.chain_id
        gas_limit = gas if gas is not None else self._estimate_gas(sender.address, to, data, value)
        fields: dict[str, Any] = {"chainId": chain_id, "gas": gas_limit, "value": value, "data": bytes(data)}
        if to is not None:
            fields["to"] = to_checksum_address(to)
        fields.update(self.fees())
        last_refusal = ""
        for _ in range(self.policy.nonce_attempts):
            with self._nonces.reserve(sender.address) as slot:
                signed = sign_transaction(sender, {**fields, "nonce": slot.nonce})
                try:
                    self._deliver(signed)
                except _Delivery as refusal:
                    slot.resync()
                    if refusal.kind in ("nonce_too_low", "nonce_too_high", "underpriced"):
                        last_refusal = refusal.message
                        continue
                    raise TransactionRejected(f"the node refused the transaction: {refusal.message}") from None
                slot.used()
                return signed
        raise TransactionRejected(
            f"no nonce of {sender.address} stayed free ({self.policy.nonce_attempts} attempts): {last_refusal}",
            reason="nonce_conflict",
        )

    def _rebroadcast(self, signed: SignedTransaction) -> None:
        """One delivery attempt of the same bytes while waiting (no retry loop: the wait has its own deadline). Only
        a taken nonce ends the wait; other refusals (a node whose pool is full, fees moved) are left to other nodes."""
        try:
            self._deliver_raw(signed.raw, signed.hash, retry=False)
        except _Delivery as refusal:
            if refusal.kind == "nonce_too_low" and self._receipt(signed.hash) is None:
                raise TransactionRejected(
                    f"transaction {signed.hash_hex} can no longer be mined: its nonce was used by another transaction",
                    reason="nonce_replaced",
                ) from None
            _log.info("rebroadcast of %s refused: %s", signed.hash_hex, refusal.message)

    def resend(self, signed: SignedTransaction | bytes) -> bytes:
        """Deliver an already signed transaction again; idempotent (returns its hash whether new or known).

        Raises ``TransactionRejected`` with reason ``nonce_replaced`` when another transaction took its nonce: it can
        then never be mined.
        """
        raw = signed.raw if isinstance(signed, SignedTransaction) else bytes(signed)
        tx_hash = signed.hash if isinstance(signed, SignedTransaction) else bytes(Web3.keccak(raw))
        try:
            self._deliver_raw(raw, tx_hash)
        except _Delivery as refusal:
            if refusal.kind == "nonce_too_low" and self._receipt(tx_hash) is None:
                raise TransactionRejected(
                    f"transaction 0x{tx_hash.hex()} can no longer be mined: its nonce was used by another transaction",
                    reason="nonce_replaced",
                ) from None
            if refusal.kind != "nonce_too_low":
                raise TransactionRejected(f"the node refused the transaction: {refusal.message}") from None
        return tx_hash

    def _deliver(self, signed: SignedTransaction) -> None:
        self._deliver_raw(signed.raw, signed.hash)

    def _deliver_raw(self, raw: bytes, tx_hash: bytes, *, retry: bool = True) -> None:
        """Hand ``raw`` to a node, retrying the same bytes while none answers (unless ``retry`` is false);
        ``_Delivery`` if a node refuses it."""
        deadline = self._clock() + self.policy.delivery_timeout
        pause = self.policy.poll_interval
        while True:
            try:
                returned = self.w3.eth.send_raw_transaction(raw)
            except Web3RPCError as exc:
                message = exc.message or "refused"
                if _contains(message, _ALREADY_KNOWN):
                    return
                if _contains(message, _NONCE_TOO_LOW):
                    if self._known(tx_hash):
                        return  # an earlier delivery of these very bytes got through
                    raise _Delivery("nonce_too_low", message) from None
                if _contains(message, _NONCE_TOO_HIGH):
                    raise _Delivery("nonce_too_high", message) from None
                if _contains(message, _UNDERPRICED):
                    raise _Delivery("underpriced", message) from None
                raise _Delivery("refused", message) from None
            except ChainUnavailable as exc:
                if not retry:
                    raise
                if self._clock() + pause >= deadline:
                    raise TransactionNotConfirmed(
                        f"transaction 0x{tx_hash.hex()} not delivered within {self.policy.delivery_timeout:g} s: "
                        f"{exc.description}",
                        transaction_hash=tx_hash,
                        raw_transaction=raw,
                    ) from None
                self._sleep(pause)
                pause = min(pause * 2, 2.0)
                continue
            except _BAD_ANSWERS as exc:
                # The node answered, but not with a hash: whether it took the transaction is unknown.
                raise TransactionNotConfirmed(
                    f"transaction 0x{tx_hash.hex()}: unusable answer to eth_sendRawTransaction ({type(exc).__name__})",
                    transaction_hash=tx_hash,
                    raw_transaction=raw,
                ) from None
            if bytes(returned) != tx_hash:
                raise TransactionNotConfirmed(
                    f"the node named transaction 0x{tx_hash.hex()} 0x{bytes(returned).hex()}",
                    transaction_hash=tx_hash,
                    raw_transaction=raw,
                )
            return

    def _known(self, tx_hash: bytes) -> bool:
        def lookup() -> bool:
            try:
                self.w3.eth.get_transaction(HexBytes(tx_hash))
            except TransactionNotFound:
                return False
            return True

        return self._rpc("eth_getTransactionByHash", lookup)

    def _receipt(self, tx_hash: bytes) -> TxReceipt | None:
        def lookup() -> TxReceipt | None:
            try:
                receipt = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                return None
            # What the client relies on, checked here so that a malformed receipt is the node's error.
            if not isinstance(receipt["blockNumber"], int) or len(bytes(receipt["blockHash"])) != 32:
                raise ValueError("receipt without block number or hash")
            if receipt["status"] not in (0, 1):
                raise ValueError("receipt status is neither 0 nor 1")
            return receipt

        return self._rpc("eth_getTransactionReceipt", lookup)

    def wait_for_receipt(
        self,
        transaction: SignedTransaction | bytes,
        *,
        confirmations: int | None = None,
        timeout: float | None = None,
    ) -> TxReceipt:
        """The receipt of ``transaction`` once ``confirmations`` blocks are on top of it (default: the policy's).

        Given a :class:`SignedTransaction`, its bytes are rebroadcast while no receipt appears. Raises
        ``TransactionFailed`` for status 0, ``TransactionNotConfirmed`` at the deadline.
        """
        signed = transaction if isinstance(transaction, SignedTransaction) else None
        tx_hash = transaction.hash if isinstance(transaction, SignedTransaction) else bytes(transaction)
        depth = self.policy.confirmations if confirmations is None else confirmations
        if depth is not None and depth < 0:
            raise ValueError("confirmations must be >= 0")
        deadline = self._clock() + (self.policy.receipt_timeout if timeout is None else timeout)
        last_broadcast = self._clock()
        last_problem = "not mined yet"
        stall: _StallWatch | None = None
        while True:
            settled: TxReceipt | None = None
            head: int | None = None
            try:
                if depth is None:
                    depth = self.finality_confirmations()
                if stall is None:
                    limit = self._stall_timeout()
                    stall = _StallWatch(limit, self._clock) if limit is not None else _StallWatch.off()
                receipt = self._receipt(tx_hash)
                if receipt is not None:
                    head = self.block_number()
                    mined_in = int(receipt["blockNumber"])
                    if mined_in + depth <= head and (depth == 0 or self._canonical(receipt)):
                        settled = receipt
                    else:
                        last_problem = f"mined in block {mined_in}, head {head}, waiting for {depth} confirmations"
                else:
                    if signed is not None and self._clock() - last_broadcast >= self.policy.rebroadcast_interval:
                        last_broadcast = self._clock()
                        self._rebroadcast(signed)
                    if stall.due():
                        head = self.block_number()
            except ChainUnavailable as exc:
                last_problem = exc.description  # transient: keep waiting until the deadline
            except Web3RPCError as exc:
                last_problem = exc.message
            except ChainError as exc:
                if exc.reason not in ("rpc_error", "bad_response"):
                    raise  # e.g. nonce_replaced: this transaction can never be mined
                last_problem = exc.description
            if settled is not None:
                return self._settled(settled, tx_hash, signed)
            if stall is not None and head is not None and stall.stalled(head):
                signers = self._signers[0] if self._signers is not None else None
                network = (
                    f"; a Clique network seals only while more than half of its {signers} signers are online"
                    if signers
                    else ""
                )
                raise ChainStalled(
                    f"transaction 0x{tx_hash.hex()} not confirmed: no new block for {stall.limit:g} s, the chain "
                    f"stopped at block {head} ({last_problem}){network}",
                    transaction_hash=tx_hash,
                    raw_transaction=signed.raw if signed else None,
                )
            now = self._clock()
            if now >= deadline:
                raise TransactionNotConfirmed(
                    f"transaction 0x{tx_hash.hex()} not confirmed in time ({last_problem})",
                    transaction_hash=tx_hash,
                    raw_transaction=signed.raw if signed else None,
                )
            self._sleep(min(self.policy.poll_interval, deadline - now))

    def _canonical(self, receipt: TxReceipt) -> bool:
        """The block at the receipt's height is still the receipt's block (no reorganisation since)."""
        number, block_hash = int(receipt["blockNumber"]), bytes(receipt["blockHash"])
        return self._rpc("eth_getBlockByNumber", lambda: bytes(self.w3.eth.get_block(number)["hash"]) == block_hash)

    def _settled(self, receipt: TxReceipt, tx_hash: bytes, signed: SignedTransaction | None) -> TxReceipt:
        if int(receipt["status"]) == 1:
            return receipt
        reason, data = self._replay_revert(receipt, tx_hash, signed)
        raise TransactionFailed(
            f"transaction 0x{tx_hash.hex()} reverted in block {receipt['blockNumber']}"
            + (f": {reason}" if reason else ""),
            transaction_hash=tx_hash,
            revert_reason=reason,
            data=data,
        )

    def _replay_revert(
        self, receipt: TxReceipt, tx_hash: bytes, signed: SignedTransaction | None
    ) -> tuple[str | None, bytes]:
        """The revert reason, by replaying the transaction as a call on the state before its block."""
        try:
            if signed is not None:
                sent: Mapping[str, Any] = {**signed.fields, "from": signed.sender}
            else:
                sent = self.w3.eth.get_transaction(HexBytes(tx_hash))
            call: dict[str, Any] = {
                "from": sent["from"],
                "data": HexBytes(sent.get("data", sent.get("input", b""))),
                "value": int(sent.get("value", 0)),
                "gas": int(sent["gas"]),
            }
            if sent.get("to"):
                call["to"] = sent["to"]
            self.w3.eth.call(cast(TxParams, call), block_identifier=max(int(receipt["blockNumber"]) - 1, 0))
        except ContractLogicError as exc:
            return _revert_details(exc)
        except (Web3Exception, ChainError, KeyError, ValueError):
            return None, b""
        return None, b""

    def transact(
        self,
        target: ContractFunction | ContractConstructor,
        *,
        sender: ChainSigner,
        value: int = 0,
        gas: int | None = None,
        confirmations: int | None = None,
        timeout: float | None = None,
    ) -> TxReceipt:
        """Send ``target`` (``contract.functions.f(args)`` or ``factory.constructor(args)``) from ``sender`` and
        return its receipt once confirmed (status 1). See the module docstring for the steps and errors."""
        to, data = call_data(target)
        signed = self.send(sender, to=to, data=data, value=value, gas=gas)
        return self.wait_for_receipt(signed, confirmations=confirmations, timeout=timeout)

    def deploy(
        self,
        artifact: ContractArtifact,
        *args: Any,
        sender: ChainSigner,
        confirmations: int | None = None,
        timeout: float | None = None,
    ) -> tuple[Contract, TxReceipt]:
        """Create ``artifact``'s contract (constructor ``args``); the bound contract and the receipt."""
        factory = self.w3.eth.contract(abi=cast(Any, artifact.abi), bytecode=cast(Any, artifact.bytecode))
        receipt = self.transact(factory.constructor(*args), sender=sender, confirmations=confirmations, timeout=timeout)
        address = receipt.get("contractAddress")
        if not address:
            raise ChainError(f"{artifact.contract_name} creation has no contract address", reason="no_contract")
        return self.contract(address, artifact), receipt


class _StallWatch:
    """Whether the head has stood still for ``limit`` seconds (checked at most once a second without a receipt)."""

    def __init__(self, limit: float, clock: Clock) -> None:
        self.limit = limit
        self._clock = clock
        self._head: int | None = None
        self._since = clock()
        self._checked = float("-inf")

    @classmethod
    def off(cls) -> _StallWatch:
        watch = cls(float("inf"), time.monotonic)
        watch._checked = float("inf")
        return watch

    def due(self) -> bool:
        return self._clock() - self._checked >= min(1.0, self.limit / 4)

    def stalled(self, head: int) -> bool:
        now = self._clock()
        self._checked = now
        if head != self._head:
            self._head, self._since = head, now
            return False
        return now - self._since >= self.limit


def call_data(target: ContractFunction | ContractConstructor) -> tuple[str | None, bytes]:
    """(to, calldata) of a bound function call or a constructor call."""
    if isinstance(target, ContractConstructor):
        return None, bytes(HexBytes(target.data_in_transaction))
    if not target.address:
        raise ValueError("the contract function is not bound to an address")
    # build_transaction with every field given encodes the call without asking the node anything.
    placeholders = {"gas": 0, "nonce": 0, "chainId": 1, "value": 0, "gasPrice": 0}
    built = target.build_transaction(cast(TxParams, placeholders))
    return str(target.address), bytes(HexBytes(built["data"]))
