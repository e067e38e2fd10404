"""The sandbox clearinghouse over SFTP: a mailbox on 127.0.0.1 that answers exactly like the HTTP sandbox.

Mailbox (the SFTP root, chrooted to a folder on this machine)
------------------------------------------------------------
``inbound/``
    The client uploads ``<name>.part`` and renames it to ``<name>.x12``. A watcher thread picks up each ``*.x12``
    (never a ``.part``), files it through the same ``SandboxService`` as HTTP with the file stem as idempotency key
    (pyx12 validation, 999/277CA, the shared faults), and deletes it. A file it cannot take (unreadable X12, a name
    reused for another interchange) moves to ``inbound/rejected/`` beside ``<name>.errors.json`` (codes, no data).
``outbound/``
    Every report the shared ``SandboxState`` publishes, as ``<sequence>-<kind>.x12`` (``0000000007-999.x12``): names
    sort in publication order. Written under a hidden staging folder and renamed in, so a reader never sees half a file.
``outbound/fetched/``
    Where the client moves what it has stored (``acknowledge``).

Like a real mailbox, the client may write, rename and delete only in ``inbound/``; in ``outbound/`` it may read,
create ``fetched/`` and move files into it. Only one client key (and username) is accepted; the server presents its
own generated host key, which the client pins. A ``SandboxState`` may be shared with the HTTP sandbox: one set of
faults, idempotency keys and reports (the sandbox is one clearinghouse account, whichever protocol reaches it).

Faults: the shared state's (``reject_claims``, ``reject_interchanges``; the HTTP-status ``fail_next`` has no SFTP
meaning), plus ``drop_connections(count, at=...)``, which aborts the next connections at a chosen step.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import posixpath
import sys
import tempfile
import threading
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Literal, get_args

import asyncssh

from claimbridge.clearinghouse.sftp import FETCHED, INBOUND, OUTBOUND, X12_SUFFIX, credentials_document
from claimbridge.local.sandbox import ApiFailure, SandboxService, SandboxState

logger = logging.getLogger(__name__)

DropAt = Literal["session", "before-rename", "after-rename", "download", "acknowledge"]
"""Where an injected drop aborts the connection.

``session``: right after login. ``before-rename``: when the client renames its upload to ``.x12`` (the ``.part``
stays, nothing is filed). ``after-rename``: the rename happens (the file is delivered) but the client never hears
so. ``download``: when the client opens a file of ``outbound/``. ``acknowledge``: when it moves one to ``fetched/``.
"""

DEFAULT_USERNAME: Final = "claimbridge"
REJECTED: Final = "rejected"
SCAN_SECONDS: Final = 0.25
"""How often the watcher looks at ``inbound/`` when no rename woke it up."""

_STAGING = ".staging"
_WRITE_FLAGS = 0x02 | 0x04 | 0x08 | 0x10  # SFTPv3 FXF_WRITE | FXF_APPEND | FXF_CREAT | FXF_TRUNC
_WRITE_ACCESS = 0x00000002 | 0x00000004  # SFTPv5+ ACE4_WRITE_DATA | ACE4_APPEND_DATA
_INBOUND = f"/{INBOUND}"
_OUTBOUND = f"/{OUTBOUND}"
_FETCHED = f"/{OUTBOUND}/{FETCHED}"


@dataclass(frozen=True)
class Pickup:
    """One ``inbound/*.x12`` the watcher took: filed (``submission_id``), replayed, or refused (``error`` code)."""

    file: str
    submission_id: str | None
    replayed: bool
    error: str | None = None


class _DropFaults:
    """Pending connection drops per step, each with how long to hang first; thread-safe (set from tests, taken on
    the server's loop)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: defaultdict[str, deque[float]] = defaultdict(deque)

    def add(self, at: DropAt, count: int, hang_seconds: float) -> None:
        with self._lock:
            self._pending[at].extend([hang_seconds] * count)

    def take(self, at: DropAt) -> float | None:
        """The hang before the drop pending at this step (consumed), or None when no drop is pending."""
        with self._lock:
            pending = self._pending[at]
            return pending.popleft() if pending else None

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def pending(self) -> dict[str, int]:
        with self._lock:
            return {at: len(hangs) for at, hangs in self._pending.items() if hangs}


def _virtual(path: bytes) -> str:
    """A client path as an absolute, normalised path inside the mailbox (what the chroot will map)."""
    return posixpath.normpath(posixpath.join("/", path.decode("utf-8", errors="replace")))


def _in_folder(path: str, folder: str) -> bool:
    return posixpath.dirname(path) == folder


class _MailboxSSHServer(asyncssh.SSHServer):
    """Public-key authentication for one username and one key; keeps its connection so ``stop`` can close it."""

    def __init__(self, sandbox: SftpSandboxClearinghouse) -> None:
        self._sandbox = sandbox
        self._connection: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._connection = conn
        self._sandbox._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._connection is not None:
            self._sandbox._connections.discard(self._connection)

    def begin_auth(self, username: str) -> bool:
        return True  # always authenticate

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == self._sandbox.username and key.public_data == self._sandbox.authorized_key.public_data

    def auth_completed(self) -> None:
        if self._connection is not None and self._sandbox._drops.take("session") is not None:
            self._connection.abort()


class _MailboxSFTPServer(asyncssh.SFTPServer):
    """asyncssh's file server chrooted to the mailbox, with the mailbox's permissions and the drop faults."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], sandbox: SftpSandboxClearinghouse) -> None:
        super().__init__(chan, chroot=os.fsencode(sandbox.mailbox))
        self._sandbox = sandbox

    async def _drop(self, at: DropAt) -> None:
        """Abort the connection if a drop is pending at this step, after its hang (the client never gets an answer)."""
        hang = self._sandbox._drops.take(at)
        if hang is None:
            return
        if hang:
            await asyncio.sleep(hang)  # the injected fault: a server that stops answering
        self.connection.abort()
        raise asyncssh.SFTPConnectionLost(f"connection dropped at {at} (injected)")

    async def _check_open(self, path: bytes, writing: bool) -> None:
        where = _virtual(path)
        if writing and not _in_folder(where, _INBOUND):
            if not Path(os.fsdecode(self.map_path(os.fsencode(posixpath.dirname(where))))).is_dir():
                raise asyncssh.SFTPNoSuchFile("no such folder")  # what a real server says first
            raise asyncssh.SFTPPermissionDenied("only inbound/ is writable")
        if not writing and _in_folder(where, _OUTBOUND):
            await self._drop("download")

    async def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        await self._check_open(path, writing=bool(pflags & _WRITE_FLAGS))
        return super().open(path, pflags, attrs)

    async def open56(self, path: bytes, desired_access: int, flags: int, attrs: asyncssh.SFTPAttrs) -> object:
        await self._check_open(path, writing=bool(desired_access & _WRITE_ACCESS))
        return super().open56(path, desired_access, flags, attrs)

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        """Listing ``outbound/`` is this mailbox's "reports listing": 835s due at it are published and mirrored
        first, as the HTTP sandbox does on ``GET /reports`` (same behaviour over both protocols)."""
        if _virtual(path).rstrip("/") == _OUTBOUND and self._sandbox.service.release_remits(listing=True):
            await asyncio.get_running_loop().run_in_executor(None, self._sandbox.settle)
        async for name in super().scandir(path):
            yield name

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._move(oldpath, newpath, replace=False)

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._move(oldpath, newpath, replace=True)

    async def _move(self, oldpath: bytes, newpath: bytes, *, replace: bool) -> None:
        source, target = _virtual(oldpath), _virtual(newpath)
        delivering = _in_folder(source, _INBOUND) and _in_folder(target, _INBOUND)
        acknowledging = _in_folder(source, _OUTBOUND) and _in_folder(target, _FETCHED)
        if not (delivering or acknowledging):
            raise asyncssh.SFTPPermissionDenied("files move only within inbound/ or from outbound/ to fetched/")
        into_queue = delivering and target.endswith(X12_SUFFIX)
        if into_queue:
            await self._drop("before-rename")
        if acknowledging:
            await self._drop("acknowledge")
        if replace:
            super().posix_rename(oldpath, newpath)
        else:
            super().rename(oldpath, newpath)
        if into_queue:
            self._sandbox._wake.set()  # pick it up now rather than at the next scan
            if self._sandbox.synchronous_pickup:
                await asyncio.get_running_loop().run_in_executor(None, self._sandbox.settle)
            await self._drop("after-rename")

    def remove(self, path: bytes) -> None:
        if not _in_folder(_virtual(path), _INBOUND):
            raise asyncssh.SFTPPermissionDenied("only files of inbound/ can be removed")
        super().remove(path)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        if _virtual(path) != _FETCHED:
            raise asyncssh.SFTPPermissionDenied("the only folder a client may create is outbound/fetched")
        super().mkdir(path, attrs)

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        if not _in_folder(_virtual(path), _INBOUND):
            raise asyncssh.SFTPPermissionDenied("only files of inbound/ can be changed")
        super().setstat(path, attrs)

    def lsetstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise asyncssh.SFTPPermissionDenied("links are not supported by this mailbox")

    def rmdir(self, path: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("folders of this mailbox cannot be removed")

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("links are not supported by this mailbox")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("links are not supported by this mailbox")


class SftpSandboxClearinghouse:
    """The sandbox clearinghouse as an SFTP mailbox on ``host:port`` (port 0: any free port).

    Parameters
    ----------
    host, port
        Where to listen.
    state
        The ``SandboxState`` to file into (pass the HTTP sandbox's ``state`` to share faults, keys and reports).
    mailbox
        The folder to serve (a temporary one, removed at ``stop``, when None).
    username
        The only username accepted.
    synchronous_pickup
        Answer the rename of an upload only after the watcher filed it and mirrored its reports (``make run``
        polls right after submitting; a real mailbox picks files up later, as the default does).

    >>> with SftpSandboxClearinghouse() as sandbox:  # doctest: +SKIP
    ...     adapter = SftpClearinghouse.from_secret(sandbox.url, sandbox.tenant_secret())
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        state: SandboxState | None = None,
        mailbox: Path | None = None,
        username: str = DEFAULT_USERNAME,
        synchronous_pickup: bool = False,
    ) -> None:
        self.host = host
        self.synchronous_pickup = synchronous_pickup
        self.port = port
        self.state = state if state is not None else SandboxState()
        self.service = SandboxService(self.state)
        self.username = username
        self._host_key = asyncssh.generate_private_key("ssh-ed25519", comment="claimbridge-sandbox-host")
        self._client_key = asyncssh.generate_private_key("ssh-ed25519", comment="claimbridge-sandbox-client")
        self.authorized_key: asyncssh.SSHKey = self._client_key.convert_to_public()
        self._mailbox_arg = mailbox
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self.mailbox = Path()
        self._drops = _DropFaults()
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._pickups: list[Pickup] = []
        self._pickups_lock = threading.Lock()
        self._mirrored = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server_thread: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._bound_port = 0
        self._stopping = threading.Event()
        self._holding = threading.Event()
        self._wake = threading.Event()
        self._passes = threading.Condition()
        self._started_passes = 0
        self._finished_passes = 0

    # ------------------------------------------------------------------------------------ what a tenant needs
    @property
    def url(self) -> str:
        """The tenant's endpoint, e.g. ``sftp://127.0.0.1:49152/``; only once started."""
        if self._loop is None:
            raise RuntimeError("the SFTP sandbox clearinghouse is not started")
        return f"sftp://{self.host}:{self._bound_port}/"

    @property
    def client_private_key(self) -> str:
        """The generated client key (OpenSSH format) the sandbox accepts; a test/demo key, never a real one."""
        return self._client_key.export_private_key().decode("ascii")

    @property
    def client_public_key(self) -> str:
        return self._client_key.export_public_key().decode("ascii").strip()

    @property
    def host_key_line(self) -> str:
        """The server's public key line, to pin in the tenant's secret."""
        return self._host_key.export_public_key().decode("ascii").strip()

    def tenant_secret(self) -> str:
        """The Secrets Manager JSON document ``{"username", "private_key", "host_key"}`` for this sandbox."""
        return credentials_document(self.username, self.client_private_key, self.host_key_line)

    # ---------------------------------------------------------------------------------------- test controls
    def drop_connections(self, count: int = 1, *, at: DropAt = "session", hang_seconds: float = 0.0) -> None:
        """Abort the next ``count`` connections that reach step ``at`` (see ``DropAt``).

        ``hang_seconds``: first stop answering for that long (a hung server: the client's timeout fires first when
        it is shorter). Not for ``session``, which drops at login.
        """
        if count < 1 or at not in get_args(DropAt):
            raise ValueError("count must be >= 1 and at one of " + ", ".join(get_args(DropAt)))
        if hang_seconds < 0 or (hang_seconds and at == "session"):
            raise ValueError("hang_seconds must be >= 0, and 0 for a drop at session")
        self._drops.add(at, count, hang_seconds)

    def pending_drops(self) -> dict[str, int]:
        return self._drops.pending()

    def clear_drops(self) -> None:
        self._drops.clear()

    @contextmanager
    def holding_pickups(self) -> Iterator[None]:
        """Leave ``inbound/`` alone inside the block (a clearinghouse that has not collected yet); reports still flow.

        Returns once a pass already running has finished, so nothing uploaded inside the block is taken.
        """
        self._holding.set()
        with self._passes:
            running = self._started_passes
            self._passes.wait_for(lambda: self._finished_passes >= running, timeout=10)
        try:
            yield
        finally:
            self._holding.clear()
            self._wake.set()

    @property
    def pickups(self) -> list[Pickup]:
        """Every ``inbound/*.x12`` the watcher took, in order."""
        with self._pickups_lock:
            return list(self._pickups)

    def settle(self, timeout: float = 10.0) -> None:
        """Wait for a full watcher pass that started after this call: every ``.x12`` present now is taken and every
        report published so far is in ``outbound/``."""
        with self._passes:
            target = self._started_passes + 1
            self._wake.set()
            if not self._passes.wait_for(lambda: self._finished_passes >= target, timeout):
                raise TimeoutError("the SFTP sandbox watcher did not finish a pass in time")

    # ---------------------------------------------------------------------------------------- lifecycle
    def start(self) -> str:
        """Create the mailbox, listen, start the watcher; returns the URL."""
        if self._loop is not None:
            return self.url
        if self._mailbox_arg is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="claimbridge-sftp-")
            self.mailbox = Path(self._tempdir.name)
        else:
            self.mailbox = self._mailbox_arg
        for folder in (INBOUND, OUTBOUND, _STAGING):
            (self.mailbox / folder).mkdir(parents=True, exist_ok=True)
        self._stopping.clear()
        loop = asyncio.new_event_loop()
        ready: Future[int] = Future()
        thread = threading.Thread(target=self._serve, args=(loop, ready), name="sandbox-sftp", daemon=True)
        thread.start()
        try:
            self._bound_port = ready.result(timeout=10)
        except BaseException:
            thread.join(timeout=5)
            raise
        self._loop, self._server_thread = loop, thread
        self._watcher = threading.Thread(target=self._watch, name="sandbox-sftp-watcher", daemon=True)
        self._watcher.start()
        return self.url

    def stop(self) -> None:
        """Close every connection, stop listening and watching; a temporary mailbox is removed."""
        loop, thread, watcher = self._loop, self._server_thread, self._watcher
        self._loop = self._server_thread = self._watcher = None
        self._stopping.set()
        self._wake.set()
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)
        if watcher is not None:
            watcher.join(timeout=5)
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> SftpSandboxClearinghouse:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the calling thread (the CLI) until interrupted."""
        self.start()
        try:
            while not self._stopping.wait(0.5):
                pass
        finally:
            self.stop()

    # ---------------------------------------------------------------------------------------- the server
    def _serve(self, loop: asyncio.AbstractEventLoop, ready: Future[int]) -> None:
        asyncio.set_event_loop(loop)
        try:
            acceptor = loop.run_until_complete(
                asyncssh.listen(
                    self.host,
                    self.port,
                    server_factory=lambda: _MailboxSSHServer(self),
                    server_host_keys=[self._host_key],
                    sftp_factory=lambda chan: _MailboxSFTPServer(chan, self),
                    allow_scp=False,
                    login_timeout=10,
                )
            )
        except BaseException as exc:
            ready.set_exception(exc)
            loop.close()
            return
        ready.set_result(acceptor.get_port())
        try:
            loop.run_forever()
        finally:
            acceptor.close()
            for connection in list(self._connections):
                connection.abort()
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(acceptor.wait_closed())
            loop.close()

    # ---------------------------------------------------------------------------------------- the watcher
    def _watch(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(SCAN_SECONDS)
            self._wake.clear()
            with self._passes:
                self._started_passes += 1
            try:
                if not self._holding.is_set():
                    self._take_inbound()
                self._mirror_reports()
            except Exception as exc:  # keep watching; the next pass retries what this one could not do
                logger.error("sandbox sftp watcher pass failed", extra={"error": type(exc).__name__})
            finally:
                with self._passes:
                    self._finished_passes += 1
                    self._passes.notify_all()

    def _take_inbound(self) -> None:
        for path in sorted((self.mailbox / INBOUND).glob(f"*{X12_SUFFIX}")):  # *.part never matches
            if self._stopping.is_set():
                return
            if path.is_file():
                self._take(path)

    def _take(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        try:
            answer, replayed = self.service.submit_x12(text, path.stem)
        except ApiFailure as failure:
            self._refuse(path, failure.errors)
            return
        except Exception as exc:  # a sandbox bug must not wedge the queue: park the file with a code
            logger.error("sandbox could not file an upload", extra={"error": type(exc).__name__})
            self._refuse(path, [{"code": "INTERNAL", "description": "the sandbox failed", "location": ""}])
            return
        path.unlink(missing_ok=True)
        self._record(Pickup(file=path.name, submission_id=str(answer["id"]), replayed=replayed))

    def _refuse(self, path: Path, errors: list[dict[str, str]]) -> None:
        rejected = self.mailbox / INBOUND / REJECTED
        rejected.mkdir(exist_ok=True)
        (rejected / f"{path.stem}.errors.json").write_text(json.dumps({"errors": errors}), encoding="utf-8")
        path.replace(rejected / path.name)
        self._record(Pickup(file=path.name, submission_id=None, replayed=False, error=errors[0]["code"]))
        logger.info("sandbox refused an upload", extra={"file": path.name, "error": errors[0]["code"]})

    def _record(self, pickup: Pickup) -> None:
        with self._pickups_lock:
            self._pickups.append(pickup)

    def _mirror_reports(self) -> None:
        """Copy every report published since the last pass into ``outbound/``, in publication order."""
        while reports := self.state.reports_after(self._mirrored, 100):
            for report in reports:
                name = f"{report.sequence:010d}-{report.kind}{X12_SUFFIX}"
                staged = self.mailbox / _STAGING / name
                staged.write_text(report.content, encoding="utf-8")
                staged.replace(self.mailbox / OUTBOUND / name)
                self._mirrored = report.sequence


def main(argv: list[str] | None = None) -> int:
    """``python -m claimbridge.local.sandbox_sftp --port N --secret-file PATH``: run the SFTP sandbox until Ctrl-C.

    The tenant secret (generated keys) is written to ``--secret-file`` (mode 600), never printed.
    """
    parser = argparse.ArgumentParser(
        prog="python -m claimbridge.local.sandbox_sftp", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8766, help="port to bind (0: any free port; default 8766)")
    parser.add_argument("--mailbox", type=Path, help="folder to serve (default: a temporary folder)")
    parser.add_argument("--secret-file", type=Path, required=True, help="where to write the tenant secret JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sandbox = SftpSandboxClearinghouse(args.host, args.port, mailbox=args.mailbox)
    url = sandbox.start()
    descriptor = os.open(args.secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as secret:
        secret.write(sandbox.tenant_secret())
    sys.stdout.write(f"sandbox clearinghouse (sftp) listening on {url}, mailbox {sandbox.mailbox}\n")
    sys.stdout.flush()
    try:
        sandbox.serve_forever()
    except KeyboardInterrupt:
        sys.stdout.write("stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
