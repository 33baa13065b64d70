#!/usr/bin/env python3
"""A stand-in for what sits in front of a Prometheus and checks credentials, forwarding each
request it accepts to a real Prometheus (--upstream):

  sigv4   Amazon Managed Prometheus: the path must start with the workspace prefix, and the
          request must carry a SigV4 signature for service `aps` that botocore (the AWS SDK
          for Python, independent of the Rust signer under test) recomputes identically from
          the same credentials, over the method, path, query, signed headers and body hash;
          X-Amz-Date within 5 minutes. Otherwise 403 with AWS's wording.
  bearer  Authorization: Bearer TOKEN, else 401.
  basic   Authorization: Basic base64(USER:PASSWORD), else 401.

Prints `listening on PORT` once ready; logs `verified METHOD PATH` or `refused ...` on stderr.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import sys
import urllib.error
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ARGS = None


def refuse(handler, status, message):
    body = json.dumps({"message": message}).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
    print(f"refused {handler.command} {handler.path}: {message}", file=sys.stderr, flush=True)


def check_sigv4(handler, body):
    auth = handler.headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "Missing Authentication Token"
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    key, date, region, service, term = parts["Credential"].split("/")
    if key != ARGS.access_key:
        return "The security token included in the request is invalid."
    if (region, service, term) != (ARGS.region, "aps", "aws4_request"):
        return f"Credential should be scoped to a valid region and service aps, not {region}/{service}."
    amz_date = handler.headers.get("x-amz-date", "")
    when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 300:
        return "Signature expired"
    if ARGS.session_token and handler.headers.get("x-amz-security-token") != ARGS.session_token:
        return "The security token included in the request is invalid."
    signed = parts["SignedHeaders"].split(";")
    for required in ("host", "x-amz-date"):
        if required not in signed:
            return f"{required} must be signed"
    headers = {h: handler.headers.get(h, "") for h in signed}
    request = AWSRequest(
        method=handler.command,
        url=f"http://{handler.headers['host']}{handler.path}",
        data=body,
        headers=headers,
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(ARGS.access_key, ARGS.secret_key, ARGS.session_token or None), "aps", ARGS.region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, parts["Signature"]):
        return ("The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.")
    if handler.headers.get("x-amz-content-sha256", hashlib.sha256(body).hexdigest()) != hashlib.sha256(body).hexdigest():
        return "The provided 'x-amz-content-sha256' header does not match what was computed."
    return None


def check(handler, body):
    auth = handler.headers.get("authorization", "")
    if ARGS.mode == "sigv4":
        if not handler.path.startswith(ARGS.prefix + "/"):
            return 404, f"no workspace at {handler.path}"
        problem = check_sigv4(handler, body)
        return (403, problem) if problem else (None, None)
    if ARGS.mode == "bearer":
        ok = hmac.compare_digest(auth, f"Bearer {ARGS.token}")
    else:
        raw = base64.b64encode(f"{ARGS.user}:{ARGS.password}".encode()).decode()
        ok = hmac.compare_digest(auth, f"Basic {raw}")
    return (None, None) if ok else (401, "Unauthorized")


class Handler(http.server.BaseHTTPRequestHandler):
    def handle_any(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0) or 0))
        status, problem = check(self, body)
        if status:
            return refuse(self, status, problem)
        print(f"verified {self.command} {self.path}", file=sys.stderr, flush=True)
        path = self.path[len(ARGS.prefix):] if ARGS.mode == "sigv4" else self.path
        req = urllib.request.Request(ARGS.upstream + path, data=body or None, method=self.command)
        if self.headers.get("content-type"):
            req.add_header("content-type", self.headers["content-type"])
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, data = e.code, e.read()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = handle_any
    do_POST = handle_any

    def log_message(self, *args):
        pass


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["sigv4", "bearer", "basic"], required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--prefix", default="/workspaces/ws-test")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--access-key", default="AKIDEXAMPLE")
    p.add_argument("--secret-key", default="")
    p.add_argument("--session-token", default="")
    p.add_argument("--token", default="")
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    ARGS = p.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
