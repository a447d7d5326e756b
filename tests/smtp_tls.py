"""A small real SMTP server on 127.0.0.1 that offers STARTTLS, with a certificate made for the test.

The standard library's `smtpd` cannot speak TLS; this one handles the few commands smtplib sends
(EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) in a thread per connection, and records what
it received and whether the session was encrypted when the message came.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path
from typing import List, Optional, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_certificate(directory: Path) -> Tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own authority) and its key: (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class StartTlsSMTPServer:
    """Records (from, recipients, message, encrypted, login) for each message received."""

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_file, key_file)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: List[tuple] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=5)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(connection,), daemon=True).start()

    def _session(self, connection: socket.socket) -> None:
        encrypted, login = False, None
        sender: Optional[str] = None
        recipients: List[str] = []
        stream = connection.makefile("rwb")

        def reply(line: str) -> None:
            stream.write(line.encode() + b"\r\n")
            stream.flush()

        try:
            reply("220 127.0.0.1 test ESMTP")
            while True:
                line = stream.readline()
                if not line:
                    return
                command = line.decode().strip()
                verb = command.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    extensions = ["AUTH PLAIN"] if encrypted else ["STARTTLS"]
                    for extension in ["127.0.0.1", *extensions[:-1]]:
                        reply(f"250-{extension}")
                    reply(f"250 {extensions[-1]}")
                elif verb == "STARTTLS" and not encrypted:
                    reply("220 go ahead")
                    stream.close()
                    connection = self.context.wrap_socket(connection, server_side=True)
                    stream, encrypted = connection.makefile("rwb"), True
                elif verb == "AUTH":
                    login = base64.b64decode(command.split()[2]).split(b"\0")[1].decode()
                    reply("235 authenticated")
                elif verb == "MAIL":
                    sender, recipients = command.split(":", 1)[1].strip().split()[0].strip("<>"), []
                    reply("250 ok")
                elif verb == "RCPT":
                    recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                    reply("250 ok")
                elif verb == "DATA":
                    reply("354 end with .")
                    data = b""
                    while (chunk := stream.readline()) not in (b".\r\n", b""):
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    self.received.append(
                        (sender, recipients, message_from_bytes(data, policy=email_policy), encrypted, login)
                    )
                    reply("250 queued")
                elif verb == "QUIT":
                    reply("221 bye")
                    return
                else:
                    reply("250 ok")
        except (OSError, ssl.SSLError):
            return
        finally:
            connection.close()
