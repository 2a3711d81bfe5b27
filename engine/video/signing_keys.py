"""The key and certificate chain that sign C2PA manifests.

In the keys folder (the pack uses ComfyUI/user/spacetime_c2pa):
- certificate.pem + private_key.pem: the user's own (chain end-entity first, PEM; key as PEM PKCS#8),
  used whenever both are there. A certificate from a CA in the C2PA trust list makes readers
  show the signer as trusted.
- local_signer.pem: otherwise, made on first use: a P-256 key, its certificate and the local CA that
  issued it, in one file so that it appears whole (two saves at once agree on one key). Readers
  validate such a signature but call the signer untrusted: the local CA is in no trust list.
"""
import datetime
import os
from dataclasses import dataclass

from ..part_files import write_new

USER_CERTIFICATE, USER_KEY = "certificate.pem", "private_key.pem"
LOCAL_SIGNER = "local_signer.pem"
_VALID_YEARS = 10


@dataclass(frozen=True)
class SigningIdentity:
    chain: bytes  # PEM certificates, end-entity first
    key: bytes  # PEM PKCS#8 private key
    alg: str  # C2PA signing algorithm: es256, es384, es512, ps256 or ed25519
    own: bool  # the user's certificate (else the local one)


def signing_identity(folder: str) -> SigningIdentity:
    """The user's own identity when configured, else the local one (created on first use)."""
    cert, key = os.path.join(folder, USER_CERTIFICATE), os.path.join(folder, USER_KEY)
    if os.path.exists(cert) or os.path.exists(key):
        if not (os.path.isfile(cert) and os.path.isfile(key)):
            raise ValueError(f"to sign with your own certificate put both {USER_CERTIFICATE} and {USER_KEY} in "
                             f"{folder} (only one of them is there)")
        with open(cert, "rb") as c, open(key, "rb") as k:
            chain, private = c.read(), k.read()
        return SigningIdentity(chain, private, _checked_pair(chain, private, cert, key), own=True)
    path = os.path.join(folder, LOCAL_SIGNER)
    if not os.path.exists(path):
        _create_local(path)
    with open(path, "rb") as f:
        data = f.read()
    marker = b"-----BEGIN CERTIFICATE-----"
    private, chain = data.partition(marker)[0], marker + data.partition(marker)[2]
    try:
        _checked_pair(chain, private, path, path)
    except ValueError as e:
        raise ValueError(f"{path} is damaged ({e}): delete it, and the next save makes a new local signing key "
                         "(videos signed with the old one stay valid)") from None
    return SigningIdentity(chain, private, "es256", own=False)


def _checked_pair(chain: bytes, private: bytes, chain_file: str, key_file: str) -> str:
    """The C2PA algorithm of a key that c2pa can sign with and that belongs to the chain's first certificate;
    else an error naming the file and what to do (c2pa's own messages name neither)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        certificates = x509.load_pem_x509_certificates(chain)
    except ValueError:
        raise ValueError(f"{chain_file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)") from None
    alg = _algorithm(private, key_file)
    if b"-----BEGIN PRIVATE KEY-----" not in private:
        raise ValueError(f"{key_file} is not in PKCS#8 form, which C2PA signs with: convert it with "
                         "`openssl pkcs8 -topk8 -nocrypt -in private_key.pem -out private_key_pkcs8.pem` and use that")
    public = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    key = serialization.load_pem_private_key(private, password=None)
    if key.public_key().public_bytes(*public) != certificates[0].public_key().public_bytes(*public):
        raise ValueError(f"the key in {key_file} does not belong to the first certificate in {chain_file}: put "
                         "the certificate issued for this key first")
    return alg


def _algorithm(private: bytes, where: str) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    try:
        key = serialization.load_pem_private_key(private, password=None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{where} is not an unencrypted PEM private key ({e})") from e
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in algs:
            return algs[key.curve.name]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    raise ValueError(f"{where} holds a key C2PA cannot sign with: use EC P-256/P-384/P-521, Ed25519 or RSA")


def _create_local(path: str) -> None:
    """Write a fresh local CA, signer key and certificate to `path`, unless another process just did."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Spacetime (local)"),
                          x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def certificate(subject, subject_key, issuer, issuer_key, extensions):
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=365 * _VALID_YEARS))
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), False))
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical)
        return builder.sign(issuer_key, hashes.SHA256())

    def usage(sign_certificates: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=not sign_certificates, content_commitment=False,
                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                             key_cert_sign=sign_certificates, crl_sign=sign_certificates,
                             encipher_only=False, decipher_only=False)

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = name("Spacetime local signing CA")
    ca = certificate(ca_name, ca_key, ca_name, ca_key, [
        (x509.BasicConstraints(ca=True, path_length=0), True), (usage(True), True)])
    # C2PA wants an end-entity certificate that is no CA, signs, and names a document-signing use
    signer = certificate(name("Spacetime local signer"), key, ca_name, ca_key, [
        (x509.BasicConstraints(ca=False, path_length=None), True), (usage(False), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False),
        (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)])
    pem = (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
           + signer.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    write_new(path, pem, mode=0o600)  # holds the key; False when another save made one meanwhile: that one is used
