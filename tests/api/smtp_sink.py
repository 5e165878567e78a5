#!/usr/bin/python3
"""A real SMTP server for tests: accepts mail on 127.0.0.1 and writes each
message to its own file in a directory, atomically.

    /usr/bin/python3 tests/api/smtp_sink.py --port 0 --dir /tmp/mail \
        [--reject-code 550] [--reject-data-code 552] [--auth USER:PASSWORD]

Prints "ready PORT" on stdout once it listens (--port 0 picks a free port),
runs until SIGTERM/SIGINT. Each accepted message becomes
DIR/<ns timestamp>-<seq>.eml holding the bytes received after DATA, with two
headers prepended, X-Sink-Mail-From and X-Sink-Rcpt-To (the envelope).
--reject-code N answers every RCPT TO with N (5xx: permanent, 4xx:
transient); --reject-data-code N answers the end of DATA with N instead of
storing the message. --auth requires AUTH PLAIN/LOGIN with these credentials (no TLS).

Importable: read_messages(dir) returns the stored messages parsed as
email.message.EmailMessage, oldest first; wait_for_messages(dir, n) polls.
Needs Debian's python3-aiosmtpd (run with /usr/bin/python3).
"""
import argparse
import asyncio
import email
import email.policy
import itertools
import logging
import os
import signal
import sys
import tempfile
import time
import warnings

SUFFIX = ".eml"


def _message_files(directory):
    return sorted(f for f in os.listdir(directory)
                  if f.endswith(SUFFIX) and not f.startswith("."))


def read_messages(directory):
    """Every message stored in directory, oldest first, as
    email.message.EmailMessage (policy.default: headers decoded)."""
    out = []
    for name in _message_files(directory):
        with open(os.path.join(directory, name), "rb") as f:
            out.append(email.message_from_binary_file(
                f, policy=email.policy.default))
    return out


def wait_for_messages(directory, count=1, timeout=10.0):
    """Polls until directory holds at least count messages; returns them.
    Raises TimeoutError otherwise (mail goes out asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        msgs = read_messages(directory)
        if len(msgs) >= count:
            return msgs
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{len(msgs)} message(s) in {directory}, wanted {count}")
        time.sleep(0.05)


def _write_atomic(directory, name, data):
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(directory, name))
    except BaseException:
        os.unlink(tmp)
        raise


class Sink:
    """aiosmtpd handler: stores what DATA delivers, optionally refuses."""

    def __init__(self, directory, reject_code, reject_data_code):
        self.directory = directory
        self.reject_code = reject_code
        self.reject_data_code = reject_data_code
        self.seq = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if self.reject_code:
            return f"{self.reject_code} mailbox <{address}> rejected by smtp_sink"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.reject_data_code:
            return f"{self.reject_data_code} message refused by smtp_sink"
        head = (f"X-Sink-Mail-From: {envelope.mail_from}\r\n"
                f"X-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n")
        name = f"{time.time_ns():020d}-{next(self.seq):06d}{SUFFIX}"
        _write_atomic(self.directory, name,
                      head.encode("ascii") + envelope.original_content)
        return "250 Message accepted for delivery"


def _authenticator(user, password):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        # handled=False: aiosmtpd itself answers 535 on failure.
        return AuthResult(success=ok, handled=False)
    return check


async def _serve(args):
    from aiosmtpd.smtp import SMTP

    handler = Sink(args.dir, args.reject_code, args.reject_data_code)
    kwargs = {"hostname": "smtp-sink.test", "decode_data": False}
    if args.auth:
        user, _, password = args.auth.partition(":")
        kwargs.update(authenticator=_authenticator(user, password),
                      auth_required=True, auth_require_tls=False)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, **kwargs),
                                      host="127.0.0.1", port=args.port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--dir", required=True)
    p.add_argument("--reject-code", type=int, default=0,
                   help="answer every RCPT TO with this code, e.g. 550")
    p.add_argument("--reject-data-code", type=int, default=0,
                   help="answer the end of DATA with this code, e.g. 552")
    p.add_argument("--auth", default="", help="USER:PASSWORD to require")
    args = p.parse_args(argv)
    for code in (args.reject_code, args.reject_data_code):
        if code and not 400 <= code <= 599:
            p.error("reject codes must be 4xx or 5xx")
    os.makedirs(args.dir, mode=0o700, exist_ok=True)
    # AUTH without TLS is the point of --auth here; keep stderr quiet.
    warnings.filterwarnings("ignore", message="Requiring AUTH")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
