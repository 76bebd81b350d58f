#!/usr/bin/env python3
"""A small OpenAI-compatible embeddings server for tests and demos (standard library only).

POST /v1/embeddings {"model", "input": str | [str], "dimensions": n} answers like OpenAI:
{"object": "list", "data": [{"object": "embedding", "index": i, "embedding": [...]}], "model", "usage"}.
Each vector is a real, deterministic text embedding: word and character-trigram features hashed
into n dimensions and L2-normalised, so texts that share words lie close together (cosine).
It is not a language model; production uses any OpenAI-compatible endpoint.

  --port 0          listen on a free port; the chosen one is printed as "listening on PORT"
  --api-key KEY     require "Authorization: Bearer KEY" (401 otherwise)
  --fail-first N    answer the first N embedding requests with HTTP 503 (to test retries)
GET /stats answers {"requests": embedding requests served, "inputs": texts embedded, "failed": 503s sent}.
"""
import argparse
import hashlib
import json
import math
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def embed(text, dimensions):
    vector = [0.0] * dimensions
    lowered = text.lower()
    features = re.findall(r"\w+", lowered)
    padded = " " + lowered + " "
    features += [padded[i:i + 3] for i in range(len(padded) - 2)]
    for feature in features:
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % dimensions
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[bucket] += sign
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return [round(value / norm, 6) for value in vector]


class State:
    def __init__(self, api_key, fail_first):
        self.api_key = api_key
        self.fail_first = fail_first
        self.requests = 0
        self.inputs = 0
        self.failed = 0
        self.lock = threading.Lock()


def handler(state):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            sys.stderr.write("embedding-server: " + (format % args) + "\n")

        def answer(self, status, body):
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.rstrip("/") == "/stats":
                with state.lock:
                    self.answer(200, {"requests": state.requests, "inputs": state.inputs, "failed": state.failed})
            else:
                self.answer(404, {"error": {"message": "not found"}})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if not self.path.rstrip("/").endswith("/embeddings"):
                return self.answer(404, {"error": {"message": "not found"}})
            if state.api_key and self.headers.get("Authorization") != "Bearer " + state.api_key:
                return self.answer(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
            with state.lock:
                if state.failed < state.fail_first:
                    state.failed += 1
                    return self.answer(503, {"error": {"message": "temporarily overloaded"}})
            try:
                request = json.loads(body)
                texts = request["input"]
                if isinstance(texts, str):
                    texts = [texts]
                dimensions = int(request.get("dimensions") or 384)
            except (ValueError, KeyError, TypeError):
                return self.answer(400, {"error": {"message": "expected {model, input, dimensions}"}})
            data = [{"object": "embedding", "index": i, "embedding": embed(text, dimensions)} for i, text in enumerate(texts)]
            with state.lock:
                state.requests += 1
                state.inputs += len(texts)
            self.answer(200, {"object": "list", "data": data, "model": request.get("model", ""),
                              "usage": {"prompt_tokens": 0, "total_tokens": 0}})

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--api-key", default="")
    parser.add_argument("--fail-first", type=int, default=0)
    arguments = parser.parse_args()
    server = ThreadingHTTPServer((arguments.host, arguments.port), handler(State(arguments.api_key, arguments.fail_first)))
    print("listening on %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
