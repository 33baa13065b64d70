#!/usr/bin/env python3
"""A local stand-in for Amazon SNS, independent of SOPilot's Rust code.

It signs messages the way SNS documents (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA,
with the `cryptography` package) and serves, over HTTPS with a certificate of its own test CA,
the signing certificate and the SubscribeURL of `sns.<region>.amazonaws.com`.

    sns_stand_in.py serve DIR      # writes DIR/ca.pem and DIR/key.pem, prints {"port": N},
                                   # serves until stdin closes; GET /confirmations counts
    sns_stand_in.py sign DIR V     # reads a message (JSON) on stdin, prints it signed with
                                   # SignatureVersion V
"""

import base64
import datetime
import http.server
import json
import os
import ssl
import sys
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

REGION = "us-east-1"
HOST = f"sns.{REGION}.amazonaws.com"
CERT_PATH = "/SimpleNotificationService-test.pem"


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer, key, issuer_key, ca=False, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def serve(d):
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = _cert("SOPilot test CA", "SOPilot test CA", ca_key, ca_key, ca=True)
    tls_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tls = _cert(HOST, "SOPilot test CA", tls_key, ca_key, san=HOST)
    sign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signing = _cert("sns.amazonaws.com", "SOPilot test CA", sign_key, ca_key)

    with open(os.path.join(d, "ca.pem"), "wb") as f:
        f.write(_pem(ca))
    with open(os.path.join(d, "key.pem"), "wb") as f:
        f.write(
            sign_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    with open(os.path.join(d, "tls.pem"), "wb") as f:
        f.write(_pem(tls) + _pem(ca))
    with open(os.path.join(d, "tls-key.pem"), "wb") as f:
        f.write(
            tls_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    signing_pem = _pem(signing)
    confirmations = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == CERT_PATH:
                body = signing_pem
            elif self.path.startswith("/?Action=ConfirmSubscription"):
                confirmations.append(self.path)
                body = b"<ConfirmSubscriptionResponse/>"
            elif self.path == "/confirmations":
                body = json.dumps(confirmations).encode()
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "tls.pem"), os.path.join(d, "tls-key.pem"))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    sys.stdin.read()


def sign(d, version):
    with open(os.path.join(d, "key.pem"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    msg = json.load(sys.stdin)
    msg["SignatureVersion"] = version
    if msg["Type"] == "Notification":
        fields = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        fields = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    text = "".join(f"{k}\n{msg[k]}\n" for k in fields if k in msg)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    sig = key.sign(text.encode(), padding.PKCS1v15(), digest)
    msg["Signature"] = base64.b64encode(sig).decode()
    print(json.dumps(msg))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        sign(sys.argv[2], sys.argv[3])
