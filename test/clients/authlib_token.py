"""Gets a client_credentials token from keyport with Python authlib on its defaults.

Usage: authlib_token.py ISSUER CLIENT_ID (private_key_jwt KEY_PEM_FILE | client_secret_basic SECRET)
Prints the token response as JSON; exits 1 with the error on stderr.
"""
import json
import sys

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT

issuer, client_id, method, credential = sys.argv[1:5]
token_endpoint = f"{issuer}/token"
if method == "private_key_jwt":
    with open(credential) as f:
        private_key = f.read()
    # authlib's documented use: the assertion lives an hour (exp = iat + 3600), no kid.
    session = OAuth2Session(client_id, private_key, token_endpoint_auth_method="private_key_jwt")
    session.register_client_auth_method(PrivateKeyJWT(token_endpoint))
else:
    # Basic credentials as authlib sends them: not form-encoded.
    session = OAuth2Session(client_id, credential, token_endpoint_auth_method="client_secret_basic")
try:
    token = session.fetch_token(token_endpoint, grant_type="client_credentials")
except Exception as err:  # the error is the test's evidence
    print(f"{type(err).__name__}: {err}", file=sys.stderr)
    sys.exit(1)
print(json.dumps(dict(token)))
