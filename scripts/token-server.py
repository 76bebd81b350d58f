#!/usr/bin/env python3
"""A local OAuth 2.0 token endpoint for Sluice's cloud identity tests (no internet needed).

It makes a Google-style service account key (an RSA key pair; the key file's JSON written to
--key-file, mode 0600, with token_uri pointing here) and answers POST /token:

- grant_type urn:ietf:params:oauth:grant-type:jwt-bearer: the assertion must be an RS256 JWT
  whose signature verifies with the key's public half (the `cryptography` package), with
  iss = the key's email, scope = the Cloud SQL login scope, aud = this endpoint, iat not in the
  future and exp after now, at most an hour after iat. Otherwise HTTP 400 invalid_grant, as
  Google answers.
- grant_type client_credentials on /<tenant>/oauth2/v2.0/token (Entra ID): client_id,
  client_secret and the Azure Database for PostgreSQL scope must match.

Both answer {"access_token": --token, "expires_in": --expires-in, "token_type": "Bearer"}.
--expired-key answers every service account assertion with invalid_grant as for a key that is
no longer valid; --status N answers every token request with HTTP N. GET /stats returns the
counts of requests and of tokens issued. Prints "listening on port N" once ready.
"""
import argparse
import base64
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SCOPE = "https://www.googleapis.com/auth/sqlservice.login"
AZURE_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key-file", required=True, help="where to write the service account key's JSON")
    parser.add_argument("--email", default="sluice-test@sluice-tests.iam.gserviceaccount.com")
    parser.add_argument("--token", required=True, help="the access token to issue")
    parser.add_argument("--expires-in", type=int, default=3600)
    parser.add_argument("--expired-key", action="store_true")
    parser.add_argument("--status", type=int, default=0)
    parser.add_argument("--tenant", default="test-tenant")
    parser.add_argument("--client-id", default="test-client")
    parser.add_argument("--client-secret", default="")
    args = parser.parse_args()

    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_key = private_key.public_key()
    key_id = os.urandom(20).hex()
    stats = {"requests": 0, "issued": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/stats":
                with lock:
                    self.answer(200, dict(stats))
            else:
                self.answer(404, {"error": "not_found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            with lock:
                stats["requests"] += 1
            if args.status:
                self.answer(args.status, {"error": "temporarily_unavailable"})
                return
            if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
                self.answer(400, {"error": "invalid_request", "error_description": "not a form"})
                return
            grant = form.get("grant_type")
            if grant == JWT_BEARER and self.path == "/token":
                problem = self.check_assertion(form.get("assertion", ""))
            elif grant == "client_credentials" and self.path == f"/{args.tenant}/oauth2/v2.0/token":
                problem = self.check_client(form)
            else:
                problem = ("unsupported_grant_type", f"{grant} at {self.path}")
            if problem:
                self.answer(400, {"error": problem[0], "error_description": problem[1]})
                return
            with lock:
                stats["issued"] += 1
            self.answer(200, {"access_token": args.token, "expires_in": args.expires_in, "token_type": "Bearer"})

        def check_assertion(self, assertion):
            parts = assertion.split(".")
            if len(parts) != 3:
                return ("invalid_grant", "not a JWT")
            try:
                header = json.loads(b64url_decode(parts[0]))
                claims = json.loads(b64url_decode(parts[1]))
                signature = b64url_decode(parts[2])
            except ValueError:
                return ("invalid_grant", "not a JWT")
            if header.get("alg") != "RS256" or header.get("typ") != "JWT" or header.get("kid") != key_id:
                return ("invalid_grant", f"unexpected JWT header {header}")
            try:
                public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                return ("invalid_grant", "Invalid JWT Signature.")
            if args.expired_key:
                return ("invalid_grant", "Invalid JWT Signature.")
            now = time.time()
            audience = f"http://127.0.0.1:{self.server.server_port}/token"
            if claims.get("iss") != args.email or claims.get("scope") != SCOPE or claims.get("aud") != audience:
                return ("invalid_grant", f"unexpected claims iss/scope/aud: {claims.get('iss')} {claims.get('scope')} {claims.get('aud')}")
            iat, exp = claims.get("iat"), claims.get("exp")
            if not isinstance(iat, int) or not isinstance(exp, int) or iat > now + 60 or exp <= now or exp - iat > 3600:
                return ("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
            return None

        def check_client(self, form):
            if form.get("client_id") != args.client_id or form.get("client_secret") != args.client_secret:
                return ("invalid_client", "AADSTS7000215: Invalid client secret provided.")
            if form.get("scope") != AZURE_SCOPE:
                return ("invalid_scope", f"unexpected scope {form.get('scope')}")
            return None

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    port = server.server_port
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    key = {
        "type": "service_account", "project_id": "sluice-tests", "private_key_id": key_id, "private_key": pem,
        "client_email": args.email, "client_id": "1234567890", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": f"http://127.0.0.1:{port}/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/sluice-test",
        "universe_domain": "googleapis.com",
    }
    descriptor = os.open(args.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(key, handle)
    print(f"listening on port {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
