"""An OTLP/HTTP trace receiver for the telemetry tests, independent of SOPilot's exporter.

Listens on 127.0.0.1 (a free port), prints {"url": "http://127.0.0.1:PORT"} as its first
stdout line, then decodes every POST /v1/traces body as an ExportTraceServiceRequest (the
official `opentelemetry-proto` package) and appends one JSON line per span to the file given
as its argument: name, trace_id, span_id, parent_span_id (hex, "" for a root), kind, status,
service (the resource's service.name) and attributes (a flat object). Exits by itself after
--max-seconds (default 300), so a test that dies never leaves it behind.

    python3 tests/python/otlp_receiver.py spans.jsonl
"""

import argparse
import gzip
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def value(v):
    """An AnyValue as plain JSON."""
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, kind)


def spans(request):
    for rs in request.resource_spans:
        resource = {kv.key: value(kv.value) for kv in rs.resource.attributes}
        for ss in rs.scope_spans:
            for s in ss.spans:
                yield {
                    "name": s.name,
                    "trace_id": s.trace_id.hex(),
                    "span_id": s.span_id.hex(),
                    "parent_span_id": s.parent_span_id.hex(),
                    "kind": s.kind,
                    "status": s.status.code,
                    "service": resource.get("service.name"),
                    "scope": ss.scope.name,
                    "start_ns": s.start_time_unix_nano,
                    "end_ns": s.end_time_unix_nano,
                    "attributes": {kv.key: value(kv.value) for kv in s.attributes},
                }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out", help="the JSON-lines file spans are appended to")
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/v1/traces":
                self.send_error(404, "only /v1/traces")
                return
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if not self.headers.get("Content-Type", "").startswith("application/x-protobuf"):
                self.send_error(415, "expected application/x-protobuf")
                return
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            with lock, open(args.out, "a", encoding="utf-8") as f:
                for span in spans(request):
                    f.write(json.dumps(span) + "\n")
            reply = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *a):
            pass

    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    except OSError as e:
        print(json.dumps({"error": str(e)}), flush=True)
        return 1
    print(json.dumps({"url": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    threading.Timer(args.max_seconds, server.shutdown).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
