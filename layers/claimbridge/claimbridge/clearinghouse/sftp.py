"""SFTP mailbox clearinghouse adapter (Office Ally / Availity / Waystar style), over asyncssh.

The mailbox is the endpoint's path: ``inbound/`` takes our 837Ps, ``outbound/`` holds the clearinghouse's 999, 277CA
and 835 files, ``outbound/fetched/`` is where acknowledged responses go so the mailbox does not grow.

``submit`` uploads ``inbound/<name>.part`` and renames it to ``inbound/<name>.x12``: a watcher that picks up ``*.x12``
never sees half a file. ``<name>`` comes from the idempotency key, so a retry writes the same name: while the file is
still waiting nothing is uploaded again, and a file the clearinghouse already took comes back under the name it has
already seen (the sandbox, like the clearinghouses that dedupe by file name, takes it once).
``fetch_responses`` lists ``outbound/`` sorted by name and returns the files after the cursor (the last name returned):
the clearinghouse names its files so they sort in publication order (a sequence or a timestamp first).
``acknowledge`` moves files to ``outbound/fetched/``.

Each call opens its own SSH connection (public-key auth, host key pinned to the one in the tenant's secret) and
closes it: a Lambda container is frozen between invocations, so a kept connection would be dead by the next call,
and one handshake costs milliseconds. The port is synchronous like the pipeline: each call runs its own event loop
(``asyncio.run``), so it must not be called from inside a running loop. Timeouts are explicit: ``connect`` (TCP, key
exchange, authentication) and ``operation`` (each SFTP request, a whole upload or download included); after a
failure the connection is aborted, not closed politely, so a hung server cannot hold a call past its timeouts.

Failures become domain errors here: refused/dropped/timed-out connections and server failures ->
``ClearinghouseRetryLater``; authentication or host key refused -> ``ClearinghouseAuthError``; permission denied or
a missing folder -> ``ClearinghouseRejected``.
The private key is never logged or shown; logs carry operations, folders, file names and error codes only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import posixpath
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Final, Literal, TypeVar
from urllib.parse import unquote, urlsplit

import asyncssh
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from claimbridge.clearinghouse.errors import (
    ApiError,
    ClearinghouseAuthError,
    ClearinghouseConfigError,
    ClearinghouseError,
    ClearinghouseRejected,
    ClearinghouseRetryLater,
)
from claimbridge.clearinghouse.port import ResponseFile, ResponsePage, SubmissionReceipt
from claimbridge.errors import X12SyntaxError
from claimbridge.x12.acks import response_kind as envelope_kind

logger = logging.getLogger(__name__)

ResponseKind = Literal["999", "277CA", "835"]

INBOUND: Final = "inbound"
OUTBOUND: Final = "outbound"
FETCHED: Final = "fetched"
PART_SUFFIX: Final = ".part"
X12_SUFFIX: Final = ".x12"
DEFAULT_PAGE_SIZE: Final = 100
DEFAULT_PORT: Final = 22
_MAX_IDEMPOTENCY_KEY = 255
_MAX_PLAIN_STEM = 100
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")
_NAME_KINDS: Final[dict[str, ResponseKind]] = {"999": "999", "277": "277CA", "277CA": "277CA", "835": "835"}
_NAME_TOKEN = re.compile(r"[-_.]")
_T = TypeVar("_T")


@dataclass(frozen=True)
class SftpTimeouts:
    """Seconds allowed to connect (TCP + SSH handshake + authentication) and for each SFTP operation."""

    connect: float = 10.0
    operation: float = 30.0


DEFAULT_SFTP_TIMEOUTS: Final = SftpTimeouts()


class SftpCredentials(BaseModel):
    """The tenant's clearinghouse secret for kind ``sftp`` (tenant-config section 1); other keys are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)
    username: Annotated[str, Field(min_length=1, max_length=255)]
    private_key: Annotated[str, Field(min_length=1, repr=False)]
    host_key: Annotated[str, Field(min_length=1)]
    """The server's public key line (``ssh-ed25519 AAAA... comment``); no other key is accepted."""


@dataclass(frozen=True)
class SftpEndpoint:
    """``sftp://host[:port]/path``: where to connect and the mailbox folder (``/``: the server's root)."""

    host: str
    port: int
    root: str

    @classmethod
    def parse(cls, url: str) -> SftpEndpoint:
        """Read an endpoint URL; credentials in the URL are refused (they belong in the secret)."""
        parts = urlsplit(url)
        if parts.scheme != "sftp" or not parts.hostname:
            raise ClearinghouseConfigError("sftp endpoint must be sftp://host[:port]/path")
        if parts.username is not None or parts.password is not None:
            raise ClearinghouseConfigError("sftp endpoint must not carry credentials (use the secret)")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError as exc:
            raise ClearinghouseConfigError("sftp endpoint port is not a number from 1 to 65535") from exc
        path = unquote(parts.path)
        # sftp://host (no path) is the login folder, sftp://host/~/x a folder under it; any other path is absolute.
        if not path:
            root = "."
        elif path == "/~" or path.startswith("/~/"):
            root = path[3:] or "."
        else:
            root = path
        return cls(host=parts.hostname, port=port, root=root)

    def folder(self, *names: str) -> str:
        return posixpath.join(self.root, *names)


def file_stem(idempotency_key: str) -> str:
    """The mailbox file name (without suffix) for an idempotency key: the same key always gives the same name.

    A key of safe characters (letters, digits, ``_``, ``-``) up to 100 long is the name itself; anything else is
    reduced to safe characters and suffixed with a hash of the key, so two different keys never share a name.
    """
    if not idempotency_key or len(idempotency_key) > _MAX_IDEMPOTENCY_KEY:
        raise ClearinghouseConfigError(f"idempotency key must be 1..{_MAX_IDEMPOTENCY_KEY} characters")
    cleaned = _UNSAFE_NAME.sub("_", idempotency_key)
    if cleaned == idempotency_key and len(cleaned) <= _MAX_PLAIN_STEM:
        return cleaned
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:16]
    return f"{cleaned[:80]}-{digest}"


def response_kind(name: str, content: str) -> ResponseKind | None:
    """What a response file is: from its X12 envelope when it has one, else from a ``999``/``277CA``/``835`` name token.

    A readable envelope decides (a 997 or a plain 277 is no response the port knows, whatever its name says).
    """
    try:
        return envelope_kind(content)
    except X12SyntaxError:
        pass
    stem = name.removesuffix(X12_SUFFIX)
    return next((_NAME_KINDS[token] for token in _NAME_TOKEN.split(stem) if token in _NAME_KINDS), None)


class SftpClearinghouse:
    """ClearinghousePort over an SFTP mailbox.

    Parameters
    ----------
    endpoint
        ``sftp://host[:port]/path`` (the mailbox folder).
    credentials
        Username, OpenSSH private key, and the pinned host key of the server.
    timeouts
        Connect and per-operation limits (a hung mailbox must not hold a Lambda to its limit).
    page_size
        Files per ``fetch_responses`` call.
    """

    def __init__(
        self,
        endpoint: str,
        credentials: SftpCredentials,
        *,
        timeouts: SftpTimeouts = DEFAULT_SFTP_TIMEOUTS,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.endpoint = SftpEndpoint.parse(endpoint)
        self._username = credentials.username
        try:
            self._client_key = asyncssh.import_private_key(credentials.private_key)
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise ClearinghouseConfigError(
                "the clearinghouse secret's private_key is not an OpenSSH private key"
            ) from exc
        try:
            self._host_key = asyncssh.import_public_key(credentials.host_key)
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise ClearinghouseConfigError("the clearinghouse secret's host_key is not an OpenSSH public key") from exc
        if page_size < 1:
            raise ClearinghouseConfigError("page size must be at least 1")
        self._timeouts = timeouts
        self._page_size = page_size

    @classmethod
    def from_secret(
        cls,
        endpoint: str,
        secret: str,
        *,
        timeouts: SftpTimeouts = DEFAULT_SFTP_TIMEOUTS,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> SftpClearinghouse:
        """The adapter for a Secrets Manager JSON document ``{"username", "private_key", "host_key"}``."""
        try:
            credentials = SftpCredentials.model_validate_json(secret)
        except ValidationError as exc:
            fields = sorted({".".join(str(part) for part in error["loc"]) or "(document)" for error in exc.errors()})
            raise ClearinghouseConfigError(
                f"the clearinghouse secret is not a usable sftp secret (check: {', '.join(fields)})"
            ) from exc
        return cls(endpoint, credentials, timeouts=timeouts, page_size=page_size)

    def __repr__(self) -> str:
        where = self.endpoint
        return f"SftpClearinghouse(host={where.host!r}, port={where.port}, root={where.root!r})"  # never the key

    # ------------------------------------------------------------------------------------------ the port
    def submit(self, x12: str, *, idempotency_key: str) -> SubmissionReceipt:
        """Put one interchange in ``inbound/`` under the key's name (once, however often it is retried)."""
        stem = file_stem(idempotency_key)
        name = f"{stem}{X12_SUFFIX}"
        payload = x12.encode("utf-8")

        async def upload(sftp: asyncssh.SFTPClient) -> bool:
            inbound = self.endpoint.folder(INBOUND)
            final, part = posixpath.join(inbound, name), posixpath.join(inbound, f"{stem}{PART_SUFFIX}")
            if await self._call(INBOUND, sftp.exists(final)):
                return True  # an earlier attempt delivered it; the clearinghouse has not picked it up yet
            await self._call(INBOUND, _write(sftp, part, payload))
            return await self._call(INBOUND, _publish(sftp, part, final))

        replayed = self._run("submit", upload)
        logger.info("clearinghouse took a submission", extra={"submission_id": name, "replayed": replayed})
        return SubmissionReceipt(submission_id=name, idempotency_key=idempotency_key)

    def fetch_responses(self, cursor: str | None) -> ResponsePage:
        """The files of ``outbound/`` whose names sort after ``cursor``, oldest first, at most ``page_size``."""

        async def download(sftp: asyncssh.SFTPClient) -> ResponsePage:
            outbound = self.endpoint.folder(OUTBOUND)
            entries = await self._call(OUTBOUND, sftp.readdir(outbound))
            names = sorted(
                name
                for name in (
                    _text(entry.filename) for entry in entries if entry.attrs.type == asyncssh.FILEXFER_TYPE_REGULAR
                )
                if not name.startswith(".") and (cursor is None or name > cursor)
            )[: self._page_size]
            responses = []
            for name in names:
                data = await self._call(OUTBOUND, _read(sftp, posixpath.join(outbound, name)))
                if data is None:
                    logger.warning("a response file vanished before download", extra={"file": name})
                    continue
                content = _decode(data)
                kind = response_kind(name, content)
                if kind is None:
                    logger.warning("skipping a response file of unknown kind", extra={"file": name})
                    continue
                responses.append(ResponseFile(response_id=name, kind=kind, content=content))
            return ResponsePage(responses=tuple(responses), next_cursor=names[-1] if names else cursor)

        return self._run("fetch", download)

    def acknowledge(self, response_ids: Sequence[str]) -> None:
        """Move the files to ``outbound/fetched/``; files already moved (or gone) are no error."""
        names = list(dict.fromkeys(response_ids))
        if not names:
            return
        for name in names:
            if "/" in name or name.startswith(".") or not name:
                raise ClearinghouseConfigError("a response id is not a file name of the outbound folder")

        async def move(sftp: asyncssh.SFTPClient) -> None:
            outbound = self.endpoint.folder(OUTBOUND)
            fetched = posixpath.join(outbound, FETCHED)
            if not await self._call(OUTBOUND, sftp.isdir(fetched)):
                await self._call(OUTBOUND, _mkdir_quietly(sftp, fetched))
            for name in names:
                await self._call(OUTBOUND, _move(sftp, posixpath.join(outbound, name), posixpath.join(fetched, name)))

        self._run("acknowledge", move)
        logger.info("clearinghouse responses acknowledged", extra={"responses": len(names)})

    # ------------------------------------------------------------------------------------------ plumbing
    def _run(self, operation: str, work: Callable[[asyncssh.SFTPClient], Awaitable[_T]]) -> _T:
        """One connection for one port call (synchronous, as the pipeline is), every failure as a domain error."""
        try:
            return asyncio.run(self._session(work))
        except ClearinghouseError as exc:
            logger.warning("sftp clearinghouse call failed", extra={"operation": operation, "error": exc.code})
            raise
        except Exception as exc:
            error = _connection_error(exc, f"{self.endpoint.host}:{self.endpoint.port}")
            if error is None:
                raise
            logger.warning(
                "sftp clearinghouse call failed",
                extra={"operation": operation, "error": error.code, "error_type": type(exc).__name__},
            )
            raise error from exc

    async def _session(self, work: Callable[[asyncssh.SFTPClient], Awaitable[_T]]) -> _T:
        """Connect, run ``work`` on an SFTP session, close. Every wait is bounded by a timeout, the goodbye included."""
        connection = await asyncssh.connect(
            self.endpoint.host,
            self.endpoint.port,
            username=self._username,
            client_keys=[self._client_key],
            known_hosts=([self._host_key], [], []),
            config=None,  # no ~/.ssh/config, agent or default keys: only what the tenant's secret says
            agent_path=None,
            preferred_auth="publickey",
            connect_timeout=self._timeouts.connect,
        )
        try:
            sftp = await self._call("session", connection.start_sftp_client())
            result = await work(sftp)
        except BaseException:
            connection.abort()  # a hung or broken server must not hold us in a graceful close
            raise
        connection.close()
        # The work is done (a rename answered is a delivered file): a goodbye that fails or hangs changes nothing.
        with contextlib.suppress(TimeoutError, asyncssh.Error, OSError):
            async with asyncio.timeout(self._timeouts.operation):
                await connection.wait_closed()
        return result

    async def _call(self, location: str, step: Awaitable[_T]) -> _T:
        """One SFTP step under the operation timeout; SFTP status codes become domain errors naming the folder."""
        try:
            async with asyncio.timeout(self._timeouts.operation):
                return await step
        except asyncssh.SFTPError as exc:
            raise _sftp_error(exc, location) from exc


def _connection_error(exc: Exception, where: str) -> ClearinghouseError | None:
    """SSH and socket failures as domain errors; None for anything else (a bug, not the clearinghouse)."""
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return ClearinghouseAuthError(None, (ApiError(code="HOST_KEY_NOT_PINNED", location=where),))
    if isinstance(exc, asyncssh.PermissionDenied | asyncssh.IllegalUserName):
        return ClearinghouseAuthError(None, (ApiError(code="AUTH_FAILED", location=where),))
    if isinstance(exc, TimeoutError):
        return ClearinghouseRetryLater("timeout")
    if isinstance(exc, asyncssh.DisconnectError | asyncssh.ChannelOpenError | OSError):
        return ClearinghouseRetryLater("connection")
    if isinstance(exc, asyncssh.SFTPError):
        return _sftp_error(exc, where)
    return None


def _sftp_error(exc: asyncssh.SFTPError, location: str) -> ClearinghouseError:
    if isinstance(exc, asyncssh.SFTPPermissionDenied):
        return ClearinghouseRejected(None, (ApiError(code="PERMISSION_DENIED", location=location),))
    if isinstance(exc, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath | asyncssh.SFTPNotADirectory):
        return ClearinghouseRejected(None, (ApiError(code="NO_SUCH_PATH", location=location),))
    if isinstance(exc, asyncssh.SFTPConnectionLost | asyncssh.SFTPNoConnection):
        return ClearinghouseRetryLater("connection")
    return ClearinghouseRetryLater("server-failure")


async def _write(sftp: asyncssh.SFTPClient, path: str, payload: bytes) -> None:
    async with sftp.open(path, "wb") as remote:
        await remote.write(payload)


async def _publish(sftp: asyncssh.SFTPClient, part: str, final: str) -> bool:
    """Rename ``part`` to ``final``; True when ``final`` was already there (a concurrent attempt renamed first).

    Plain SFTP rename never overwrites, so the clearinghouse sees one complete file under the name, whoever won.
    """
    try:
        await sftp.rename(part, final)
    except (asyncssh.SFTPFailure, asyncssh.SFTPFileAlreadyExists):
        if not await sftp.exists(final):
            raise
        await _remove_quietly(sftp, part)
        return True
    return False


async def _read(sftp: asyncssh.SFTPClient, path: str) -> bytes | None:
    try:
        async with sftp.open(path, "rb") as remote:
            data = await remote.read()
    except asyncssh.SFTPNoSuchFile:
        return None
    return data if isinstance(data, bytes) else data.encode("utf-8")


async def _move(sftp: asyncssh.SFTPClient, source: str, target: str) -> None:
    """Rename, replacing an earlier copy in ``fetched/`` (a response fetched twice after a crash); gone is fine."""
    try:
        try:
            await sftp.posix_rename(source, target)
        except asyncssh.SFTPOpUnsupported:
            await sftp.rename(source, target)
    except asyncssh.SFTPNoSuchFile:
        return


async def _remove_quietly(sftp: asyncssh.SFTPClient, path: str) -> None:
    try:
        await sftp.remove(path)
    except asyncssh.SFTPError:
        return


async def _mkdir_quietly(sftp: asyncssh.SFTPClient, path: str) -> None:
    """Create ``path``; a concurrent creator winning is fine."""
    try:
        await sftp.mkdir(path)
    except asyncssh.SFTPFailure:
        if not await sftp.isdir(path):
            raise


def _text(filename: bytes | str) -> str:
    return filename if isinstance(filename, str) else filename.decode("utf-8", errors="replace")


def _decode(data: bytes) -> str:
    """X12 is ASCII in practice; a file in another single-byte encoding still reads (the parsers flag bad data)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def credentials_document(username: str, private_key: str, host_key: str) -> str:
    """The secret's JSON document (for the sandbox and tests that put it in Secrets Manager)."""
    return json.dumps({"username": username, "private_key": private_key, "host_key": host_key})
