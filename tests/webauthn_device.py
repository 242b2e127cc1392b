"""A software authenticator for the passkey tests: real ES256 keys (`cryptography`), real CBOR
attestation objects ('none' or 'packed' self attestation) and signed assertions, in the JSON
shape forum/static/passkeys.js sends (the browser's PublicKeyCredential, base64url-encoded).

It is not Agora code under test: it plays the part of the member's phone or laptop, so the
server's checks (origin, relying party, challenge, user verification, counter) run on the
same bytes a browser would hand over.
"""
import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40
AAGUID = bytes.fromhex("a6d5e1c0f2b84e3c9a7d0b1c2d3e4f50")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Credential:
    """One passkey held by the device: key pair, id, user handle and signature counter."""

    def __init__(self, rp_id, user_handle):
        self.rp_id = rp_id
        self.user_handle = user_handle
        self.id = os.urandom(32)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.sign_count = 0

    def cose_public_key(self):
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def sign(self, data):
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


class Device:
    """A phone or laptop with passkeys. `user_verified` False plays a device that only
    checks presence (no fingerprint, face or PIN)."""

    def __init__(self, origin, user_verified=True, counter_step=1):
        self.origin = origin
        self.user_verified = user_verified
        self.counter_step = counter_step  # 0: a device without a counter (passkey managers)
        self.credentials = []

    def _client_data(self, kind, challenge, origin=None):
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}, separators=(",", ":")).encode()

    def _flags(self, extra=0):
        return UP | (UV if self.user_verified else 0) | extra

    def create(self, options, origin=None, fmt="none", rp_id=None, reuse=None):
        """navigator.credentials.create(): `options` as the server sent them (JSON dict).
        `reuse` hands over an existing credential again (what a hostile client could send)."""
        rp = rp_id or options["rp"]["id"]
        excluded = {c["id"] for c in options.get("excludeCredentials", [])}
        if reuse is None and any(b64url(c.id) in excluded for c in self.credentials):
            raise ValueError("InvalidStateError: this device already holds a passkey for the account")
        credential = reuse or Credential(rp, unb64url(options["user"]["id"]))
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        auth_data = (hashlib.sha256(rp.encode()).digest() + bytes([self._flags(AT)])
                     + struct.pack(">I", credential.sign_count) + AAGUID
                     + struct.pack(">H", len(credential.id)) + credential.id + credential.cose_public_key())
        statement = {}
        if fmt == "packed":  # self attestation: signed with the new credential's own key
            statement = {"alg": -7, "sig": credential.sign(auth_data + hashlib.sha256(client_data).digest())}
        attestation = cbor2.dumps({"fmt": fmt, "attStmt": statement, "authData": auth_data})
        if reuse is None:
            self.credentials.append(credential)
        return {
            "id": b64url(credential.id), "rawId": b64url(credential.id), "type": "public-key",
            "authenticatorAttachment": "platform", "clientExtensionResults": {},
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                         "transports": ["internal"]},
        }

    def get(self, options, origin=None, credential=None, rp_id=None):
        """navigator.credentials.get(): signs with `credential` (default: the first one the
        options allow, or the device's first passkey for an empty allow list)."""
        if credential is None:
            allowed = {c["id"] for c in options.get("allowCredentials", [])}
            candidates = [c for c in self.credentials if not allowed or b64url(c.id) in allowed]
            if not candidates:
                raise ValueError("NotAllowedError: no passkey for this site on this device")
            credential = candidates[0]
        credential.sign_count += self.counter_step
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = (hashlib.sha256((rp_id or credential.rp_id).encode()).digest() + bytes([self._flags()])
                     + struct.pack(">I", credential.sign_count))
        signature = credential.sign(auth_data + hashlib.sha256(client_data).digest())
        return {
            "id": b64url(credential.id), "rawId": b64url(credential.id), "type": "public-key",
            "authenticatorAttachment": "platform", "clientExtensionResults": {},
            "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                         "signature": b64url(signature), "userHandle": b64url(credential.user_handle)},
        }
