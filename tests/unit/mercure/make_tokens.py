#!/usr/bin/python3
"""make_tokens.py -- writes jwt_vectors.h: keys and tokens made by independent implementations

The tokens of test_jwt.c and test_grant.c are made here, once, by other code than
src/mercure/: keys by openssl(1), signatures by PyJWT (Debian's python3-jwt 2.6, on
python3-cryptography) or, where PyJWT refuses to make a broken token, by Python's hmac
and base64; and the Symfony tokens by Debian's php-symfony-mercure run by
symfony_token.php. The output is committed; rerun only to change the vectors:

    apt-get install openssl python3-jwt python3-cryptography php-cli php-symfony-mercure
    /usr/bin/python3 tests/unit/mercure/make_tokens.py > tests/unit/mercure/jwt_vectors.h

Times are fixed (NOW below), so the tests pass `now` themselves and the tokens never
expire. Private keys live in a temporary directory and are thrown away, except PRIV_EC_X,
a key made only to check that a private key file is refused.
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile

import jwt  # python3-jwt
from jwt import api_jws

NOW = 1800000000
ISS = "https://example.com"
ISS_B = "https://other-issuer.example"
AUD = "https://hub.example.com/.well-known/mercure"
SECRETS = {
    "HS256": "fcgi-sse test secret for HS256, 32+ bytes",
    "HS384": "fcgi-sse test secret for HS384 tokens: forty-eight bytes or more.....",
    "HS512": "fcgi-sse test secret for HS512 tokens: sixty-four bytes or more, as RFC 7518 3.2 asks",
}
DETAILS = [{
    "type": "https://mercure.rocks/authorization-detail",
    "actions": ["subscribe"],
    "topics": [{"match": "https://example.com/books/:id", "match_type": "urlpattern"}],
}]


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def make_keys(d):
    """Generates the keys with openssl(1); returns {name: path}."""
    p = lambda n: os.path.join(d, n)
    gens = {
        "rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "rsa2": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "rsa1024": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
        "ec": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "ec2": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "ecx": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "ec384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        "ed": ["-algorithm", "ED25519"],
        "ed448": ["-algorithm", "ED448"],
    }
    for name, opts in gens.items():
        openssl("genpkey", *opts, "-out", p(name + ".key"))
        openssl("pkey", "-in", p(name + ".key"), "-pubout", "-out", p(name + ".pub"))
    openssl("rsa", "-in", p("rsa.key"), "-RSAPublicKey_out", "-out", p("rsa.pkcs1"))
    openssl("req", "-x509", "-new", "-key", p("rsa.key"), "-subj", "/CN=issuer.example",
            "-days", "36500", "-out", p("rsa.crt"))
    return p


def claims(**over):
    c = {"iss": ISS, "aud": AUD, "sub": "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6",
         "client_id": ISS, "iat": NOW - 60, "exp": NOW + 3600,
         "jti": "urn:uuid:e70ff8d7-59d5-4a92-b0b7-505e8f6d09fa",
         "authorization_details": DETAILS}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def legacy(**over):
    c = {"mercure": {"publish": ["https://example.com/books/{id}"], "subscribe": ["*"],
                     "payload": {"user": "https://example.com/users/1"}},
         "exp": NOW + 3600}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def hs_raw(header_json, payload_json, secret):
    """A token signed with HMAC-SHA256 over raw JSON texts (what PyJWT will not make)."""
    si = b64(header_json) + "." + b64(payload_json)
    return si + "." + b64(hmac.new(secret, si.encode(), hashlib.sha256).digest())


def tokens(p):
    key = {a: s for a, s in SECRETS.items()}
    key["RS256"] = read(p("rsa.key"))
    key["ES256"] = read(p("ec.key"))
    key["EdDSA"] = read(p("ed.key"))
    at = {"typ": "at+jwt"}
    t = {}
    for alg in ("HS256", "HS384", "HS512", "RS256", "ES256", "EdDSA"):
        t["CUR_" + alg.upper()] = jwt.encode(claims(), key[alg], algorithm=alg, headers=at)
        t["LEG_" + alg.upper()] = jwt.encode(legacy(), key[alg], algorithm=alg)
    es = lambda c, h=at, k=key["ES256"]: jwt.encode(c, k, algorithm="ES256", headers=h)
    t["CUR_TYP_APP"] = es(claims(), {"typ": "application/AT+JWT"})
    t["CUR_EXPIRED"] = es(claims(exp=NOW - 1))
    t["CUR_EXP_NOW"] = es(claims(exp=NOW))
    t["CUR_NO_EXP"] = es(claims(exp=None))
    t["CUR_EXP_STRING"] = es(claims(exp=str(NOW + 3600)))
    t["CUR_NBF_FUTURE"] = es(claims(nbf=NOW + 3600))
    t["CUR_NBF_LEEWAY"] = es(claims(nbf=NOW + 30))
    t["CUR_WRONG_AUD"] = es(claims(aud="https://other.example/.well-known/mercure"))
    t["CUR_AUD_ARRAY"] = es(claims(aud=["https://other.example", AUD]))
    t["CUR_AUD_ARRAY_WRONG"] = es(claims(aud=["https://other.example", AUD + "/"]))
    t["CUR_AUD_NUMBER"] = es(claims(aud=[AUD, 7]))
    t["CUR_NO_AUD"] = es(claims(aud=None))
    t["CUR_WRONG_ISS"] = es(claims(iss="https://evil.example"))
    t["CUR_NO_ISS"] = es(claims(iss=None))
    t["CUR_TYP_JWT"] = es(claims(), {"typ": "JWT"})
    t["CUR_TYP_NONE"] = es(claims(), {"typ": None})
    t["CUR_TYP_OTHER"] = es(claims(), {"typ": "dpop+jwt"})
    t["CUR_CRIT"] = es(claims(), {"typ": "at+jwt", "crit": ["exp"], "exp": NOW})
    # A key the token brings: the header names the attacker's key, the signature is even
    # made with the trusted one, so that only the header can be the reason.
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(
        jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA256).prepare_key(
            read(p("ec2.pub")))))
    t["CUR_JWK"] = es(claims(), {"typ": "at+jwt", "jwk": jwk})
    t["CUR_JKU"] = es(claims(), {"typ": "at+jwt", "jku": "https://evil.example/jwks.json"})
    t["CUR_X5U"] = es(claims(), {"typ": "at+jwt", "x5u": "https://evil.example/cert.pem"})
    t["CUR_X5C"] = es(claims(), {"typ": "at+jwt", "x5c": ["MIIB"]})
    t["CUR_KID_K1"] = es(claims(), {"typ": "at+jwt", "kid": "k1"})
    ec2 = read(p("ec2.key"))
    t["CUR_KID_K2_BY_EC2"] = es(claims(), {"typ": "at+jwt", "kid": "k2"}, ec2)
    t["CUR_BY_EC2"] = es(claims(), at, ec2)
    t["CUR_ISS_B_BY_EC"] = es(claims(iss=ISS_B))
    t["CUR_ISS_B_BY_EC2"] = es(claims(iss=ISS_B), at, ec2)
    t["CUR_BY_RSA2"] = jwt.encode(claims(), read(p("rsa2.key")), algorithm="RS256", headers=at)
    t["CUR_NONE"] = jwt.encode(claims(), None, algorithm="none", headers=at)
    t["CUR_DEEP"] = es(claims(deep=json.loads("[" * 40 + "]" * 40)))
    t["CUR_DEPTH_OK"] = es(claims(deep=json.loads("[" * 30 + "]" * 30)))
    t["CUR_SUB_NUMBER"] = es(claims(sub=42))
    # ES256 with a DER signature (what a JOSE-unaware signer writes) instead of R || S.
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    ec_priv = serialization.load_pem_private_key(key["ES256"], None)
    si = b64(json.dumps({"alg": "ES256", "typ": "at+jwt"}).encode()) + "." + \
        b64(json.dumps(claims()).encode())
    t["CUR_ES256_DER"] = si + "." + b64(ec_priv.sign(si.encode(), ec.ECDSA(hashes.SHA256())))
    # Legacy ones.
    hs = SECRETS["HS256"]
    t["LEG_NO_EXP"] = jwt.encode(legacy(exp=None), hs, algorithm="HS256")
    t["LEG_NO_TYP"] = jwt.encode(legacy(), hs, algorithm="HS256", headers={"typ": None})
    t["LEG_TYP_LOWER"] = jwt.encode(legacy(), hs, algorithm="HS256", headers={"typ": "jwt"})
    t["LEG_EXPIRED"] = jwt.encode(legacy(exp=NOW - 3600), hs, algorithm="HS256")
    t["LEG_EXP_REAL"] = jwt.encode(legacy(exp=NOW + 0.5), hs, algorithm="HS256")
    # Larger than the 8 KiB a front server passes by default, under JWT_TOKEN_MAX.
    t["LEG_BIG"] = jwt.encode(legacy(mercure={"subscribe": ["*"], "payload": {"blob": "x" * 9000}}),
                              hs, algorithm="HS256")
    t["LEG_AUD"] = jwt.encode(legacy(aud=AUD), hs, algorithm="HS256")
    t["LEG_ISS"] = jwt.encode(legacy(iss=ISS), hs, algorithm="HS256")
    t["LEG_NONE"] = jwt.encode(legacy(), None, algorithm="none")
    # The classic confusion: HS256 "signed" with the RSA public key's PEM text as the secret.
    t["LEG_HS256_WITH_RSA_PEM"] = hs_raw(b'{"alg":"HS256","typ":"JWT"}',
                                         json.dumps(legacy()).encode(), read(p("rsa.pub")))
    # Duplicate names, signed correctly: in the claims, nested, and in the header.
    t["LEG_DUP_CLAIM"] = api_jws.encode(
        b'{"exp":%d,"exp":%d,"mercure":{"subscribe":["*"]}}' % (NOW + 3600, NOW + 7200), hs,
        algorithm="HS256")
    t["LEG_DUP_NESTED"] = api_jws.encode(
        b'{"exp":%d,"mercure":{"subscribe":["a"],"subscribe":["*"]}}' % (NOW + 3600), hs,
        algorithm="HS256")
    t["LEG_DUP_HEADER"] = hs_raw(b'{"alg":"HS256","typ":"JWT","typ":"at+jwt"}',
                                 json.dumps(legacy()).encode(), hs.encode())
    t["LEG_B64_FALSE"] = hs_raw(b'{"alg":"HS256","b64":false,"crit":["b64"]}',
                                json.dumps(legacy()).encode(), hs.encode())
    t["LEG_B64_ONLY"] = hs_raw(b'{"alg":"HS256","b64":true}',
                               json.dumps(legacy()).encode(), hs.encode())
    t["LEG_ARRAY_CLAIMS"] = hs_raw(b'{"alg":"HS256","typ":"JWT"}', b'["exp"]', hs.encode())
    t["LEG_NOT_JSON"] = hs_raw(b'{"alg":"HS256","typ":"JWT"}', b'{"exp":', hs.encode())
    t["LEG_BIG_INT"] = hs_raw(b'{"alg":"HS256","typ":"JWT"}',
                              b'{"exp":123456789012345678901234567890}', hs.encode())
    # Sanity: PyJWT itself accepts the good ones.
    for alg in ("HS256", "RS256", "ES256", "EdDSA"):
        pub = SECRETS.get(alg) or read(p({"RS256": "rsa", "ES256": "ec", "EdDSA": "ed"}[alg] + ".pub"))
        jwt.decode(t["CUR_" + alg.upper()], pub, algorithms=[alg], audience=AUD,
                   options={"verify_exp": False, "verify_iat": False})
    return t


def symfony():
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(["php", os.path.join(here, "symfony_token.php")], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def cstr(s):
    if isinstance(s, bytes):
        s = s.decode()
    lines = s.split("\n")
    parts = []
    for i, line in enumerate(lines):
        if i == len(lines) - 1 and line == "":
            break
        nl = "\\n" if i < len(lines) - 1 else ""
        parts.append('    "' + line.replace("\\", "\\\\").replace('"', '\\"') + nl + '"')
    return "\n".join(parts) if parts else '    ""'


def main():
    with tempfile.TemporaryDirectory() as d:
        p = make_keys(d)
        t = tokens(p)
        sf = symfony()
        out = sys.stdout
        out.write("/* jwt_vectors.h -- keys and tokens for test_jwt.c and test_grant.c, written by "
                  "make_tokens.py (openssl, PyJWT, php-symfony-mercure): do not edit */\n")
        out.write("#ifndef JWT_VECTORS_H\n#define JWT_VECTORS_H\n\n")
        out.write("#define V_NOW %dLL\n#define V_ISS \"%s\"\n#define V_ISS_B \"%s\"\n"
                  "#define V_AUD \"%s\"\n\n" % (NOW, ISS, ISS_B, AUD))
        for alg, s in SECRETS.items():
            out.write("#define SECRET_%s \"%s\"\n" % (alg, s))
        out.write("\n")
        keys = {"PUB_RSA": "rsa.pub", "PUB_RSA_PKCS1": "rsa.pkcs1", "CERT_RSA": "rsa.crt",
                "PUB_RSA2": "rsa2.pub", "PUB_RSA1024": "rsa1024.pub", "PUB_EC": "ec.pub",
                "PUB_EC2": "ec2.pub", "PUB_EC384": "ec384.pub", "PUB_ED25519": "ed.pub",
                "PUB_ED448": "ed448.pub", "PRIV_EC_X": "ecx.key"}
        for name, f in keys.items():
            out.write("static const char %s[] =\n%s;\n" % (name, cstr(read(p(f)))))
        out.write("\n")
        for name, tok in t.items():
            out.write("#define TOK_%s \\\n%s\n" % (name, cstr(tok).replace("\n", " \\\n")))
        out.write("\n/* Debian's php-symfony-mercure 0.6.3 (symfony_token.php), made at "
                  "SF_NOW with MERCURE_JWT_SECRET = SF_SECRET. */\n")
        out.write("#define SF_NOW %dLL\n#define SF_SECRET \"%s\"\n" % (sf["now"], sf["secret"]))
        for name in ("publisher", "cookie", "noexp"):
            out.write("#define SF_%s \\\n%s\n" % (name.upper(), cstr(sf[name])))
        out.write("\n#endif\n")


if __name__ == "__main__":
    main()
