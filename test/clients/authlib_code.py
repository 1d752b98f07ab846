"""The authorization-code flow of Python authlib on its defaults, in two steps
(the test plays the person in between).

authlib_code.py authorize ISSUER CLIENT_ID SECRET REDIRECT_URI
  prints {url, state, code_verifier, nonce}
authlib_code.py token ISSUER CLIENT_ID SECRET REDIRECT_URI CALLBACK_URL CODE_VERIFIER STATE NONCE
  prints {id_token_claims, userinfo}; the ID token is verified against the server's JWKS.
The scope is "openid profile email" unless SCOPE says otherwise (the same for both steps).
"""
import json
import os
import secrets
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt

step, issuer, client_id, client_secret, redirect_uri = sys.argv[1:6]
meta = requests.get(f"{issuer}/.well-known/openid-configuration").json()
session = OAuth2Session(client_id, client_secret, scope=os.environ.get("SCOPE", "openid profile email"), redirect_uri=redirect_uri, code_challenge_method="S256")

if step == "authorize":
    code_verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce)
    print(json.dumps({"url": url, "state": state, "code_verifier": code_verifier, "nonce": nonce}))
    sys.exit(0)

callback_url, code_verifier, state, nonce = sys.argv[6:10]
try:
    token = session.fetch_token(meta["token_endpoint"], authorization_response=callback_url, code_verifier=code_verifier, state=state)
    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"]).json())
    claims = jwt.decode(token["id_token"], keys, claims_options={"iss": {"essential": True, "value": meta["issuer"]}, "aud": {"essential": True, "value": client_id}, "nonce": {"essential": True, "value": nonce}})
    claims.validate()
    userinfo = session.get(meta["userinfo_endpoint"]).json()
except Exception as err:  # the error is the test's evidence
    print(f"{type(err).__name__}: {err}", file=sys.stderr)
    sys.exit(1)
print(json.dumps({"id_token_claims": dict(claims), "userinfo": userinfo}))
