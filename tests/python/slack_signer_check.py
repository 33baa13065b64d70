#!/usr/bin/env python3
"""An independent Slack signer: signs requests with slack_sdk's own algorithm
(slack_sdk.signature.SignatureVerifier.generate_signature) and sends them to a running
`sopilot serve`. Prints one JSON object: the HTTP status and body of each case, so the Rust
test (agent/cli/tests/all/serve_slack.rs) asserts what was accepted and what was refused.

usage: slack_signer_check.py --url http://127.0.0.1:PORT --secret SIGNING_SECRET
"""

import argparse
import json
import time
import urllib.error
import urllib.parse
import urllib.request

from slack_sdk.signature import SignatureVerifier


def send(url, path, body, timestamp, signature, content_type):
    headers = {"Content-Type": content_type}
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = str(timestamp)
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    req = urllib.request.Request(url + path, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text
    return {"status": status, "body": parsed}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--secret", required=True)
    args = ap.parse_args()
    ours = SignatureVerifier(args.secret)
    theirs = SignatureVerifier("not-" + args.secret)
    now = int(time.time())
    json_type = "application/json"
    form_type = "application/x-www-form-urlencoded"
    out = {}

    def signed(name, path, body, ts=None, verifier=ours, content_type=json_type):
        ts = now if ts is None else ts
        sig = verifier.generate_signature(timestamp=str(ts), body=body)
        # The signature we send is one slack_sdk itself accepts (within its clock window).
        out[name + "_sdk_accepts"] = ours.is_valid(body=body, timestamp=str(ts), signature=sig)
        out[name] = send(args.url, path, body, ts, sig, content_type)
        return ts, sig

    challenge = json.dumps({"type": "url_verification", "token": "t", "challenge": "c-42"})
    ts, sig = signed("challenge", "/slack/events", challenge)
    out["replayed"] = send(args.url, "/slack/events", challenge, ts, sig, json_type)
    signed("forged", "/slack/events", challenge.replace("c-42", "c-43"), verifier=theirs)
    signed("stale", "/slack/events", challenge.replace("c-42", "c-44"), ts=now - 6 * 60)
    signed("future", "/slack/events", challenge.replace("c-42", "c-45"), ts=now + 6 * 60)
    # A good signature, another body.
    body = challenge.replace("c-42", "c-46")
    sig = ours.generate_signature(timestamp=str(now), body=body)
    out["tampered"] = send(args.url, "/slack/events", body.replace("c-46", "c-47"), now, sig, json_type)
    out["unsigned"] = send(args.url, "/slack/events", challenge.replace("c-42", "c-48"), None, None, json_type)

    command = urllib.parse.urlencode({
        "token": "t", "team_id": "T0SOPILOT", "channel_id": "C0INCIDENTS",
        "user_id": "U0ALICE", "command": "/sopilot", "text": "help",
        "response_url": "https://hooks.slack.com/commands/T0SOPILOT/1/x",
    })
    signed("command_help", "/slack/commands", command, content_type=form_type)
    signed("command_bad", "/slack/commands", "text=help", content_type=form_type)
    signed("events_not_json", "/slack/events", "{not json")
    interaction = urllib.parse.urlencode({"payload": json.dumps({
        "type": "block_actions", "user": {"id": "U0ALICE"}, "channel": {"id": "C0INCIDENTS"},
        "actions": [{"action_id": "sopilot_approve", "value": "apr-does-not-exist"}],
    })})
    signed("interaction_unknown_approval", "/slack/interactions", interaction, content_type=form_type)
    signed("interaction_not_form", "/slack/interactions", "payload={oops", content_type=form_type)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
