"""C2PA manifests: signed on save (mp4 inside the file, webm in a sidecar), read back valid with the record
that was signed, ingredients of ingredients for edits of edits, the local key made once, the user's own
certificate when configured, and model hashes computed once."""
import os
import stat

import pytest
import torch

pytest.importorskip("c2pa")

from spacetime.engine.file_hash import HashCache  # noqa: E402
from spacetime.engine.video import content_credentials as cc  # noqa: E402
from spacetime.engine.video.metadata import provenance  # noqa: E402
from spacetime.engine.video.reader import load_video, read_metadata  # noqa: E402
from spacetime.engine.video.signing_keys import LOCAL_SIGNER, signing_identity  # noqa: E402
from spacetime.engine.video.writer import write_video  # noqa: E402

CLIP = torch.rand(5, 32, 32, 3)


def record(seed=7, **details):
    return provenance("0.1.0", ["tiny_wan_t2v.safetensors"], seed, prompts=[{"prompt": "a red fox"}], **details)


def save(folder, name, fmt="mp4", sources=(), seed=7, keys=None):
    signer = cc.VideoSigner(cc.Manifest(record(seed), name, list(sources)), signing_identity(str(keys or folder)))
    path = write_video(CLIP, str(folder / f"{name}.{fmt}"), 8, fmt, metadata={"spacetime": "{}"}, sign=signer)
    signer.finish(path)
    return path


def test_mp4_round_trip_is_valid_and_carries_the_record(tmp_path):
    path = save(tmp_path, "clip")
    read = cc.read_provenance(path)
    assert read.state == "Valid"
    assert read.record() == record() | {"time": read.record()["time"]}
    (action,) = read.actions()
    assert action["action"] == "c2pa.created" and action["digitalSourceType"] == cc.GENERATED
    assert read.active["claim_generator_info"][0]["name"] == "Spacetime"
    codes = {status["code"] for status in read.store.get("validation_status", [])}
    assert codes <= {"signingCredential.untrusted"}  # a local CA: valid, but in no trust list
    assert len(load_video(path).frames) == 5 and read_metadata(path)["spacetime"] == "{}"
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4", LOCAL_SIGNER]


def test_webm_gets_a_sidecar_bound_to_its_bytes(tmp_path):
    path = save(tmp_path, "clip", "webm")
    assert os.path.exists(tmp_path / "clip.c2pa")
    assert cc.read_provenance(path).state == "Valid" and cc.read_provenance(path).record()["seed"] == 7
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    assert cc.read_provenance(path).state == "Invalid"


def test_an_mp4_beside_a_webms_sidecar_reads_its_own_manifest(tmp_path):
    save(tmp_path, "clip", "webm", seed=1)  # clip.webm and its sidecar clip.c2pa (as earlier saves could leave: one counter per format)
    mp4 = save(tmp_path, "clip", "mp4", seed=2)
    read = cc.read_provenance(mp4)
    assert read.state == "Valid" and read.record()["seed"] == 2


def test_a_file_without_a_manifest_says_none(tmp_path):
    path = write_video(CLIP, str(tmp_path / "plain.mp4"), 8, "mp4")
    assert cc.read_provenance(path).state == "none" and cc.read_provenance(path).record() is None


def test_lineage_chains_through_an_edit_of_an_edit(tmp_path):
    first = save(tmp_path, "first", seed=1)
    second = save(tmp_path, "second", sources=[first], seed=2)
    third = save(tmp_path, "third", sources=[second], seed=3)
    read = cc.read_provenance(third)
    assert read.state == "Valid"
    (b,) = read.lineage()
    (a,) = b["ingredients"]
    assert (b["title"], b["relationship"], a["title"], a["ingredients"]) == ("second.mp4", "componentOf", "first.mp4", [])
    assert [read.record(read.store["manifests"][m])["seed"] for m in (b["manifest"], a["manifest"])] == [2, 1]
    assert [action["digitalSourceType"] for action in read.actions()] == [cc.EDITED]


def test_the_local_key_is_made_once_and_kept_private(tmp_path):
    first = signing_identity(str(tmp_path))
    assert signing_identity(str(tmp_path)) == first and not first.own
    assert stat.S_IMODE(os.stat(tmp_path / LOCAL_SIGNER).st_mode) == 0o600
    assert first.chain.count(b"BEGIN CERTIFICATE") == 2 and b"PRIVATE KEY" in first.key


@pytest.mark.parametrize("damage", [lambda data: b"", lambda data: b"not a key",
                                    lambda data: data[:data.index(b"-----BEGIN CERTIFICATE-----")],
                                    lambda data: data[:len(data) // 2]])
def test_a_damaged_local_key_says_to_delete_it(tmp_path, damage):
    signing_identity(str(tmp_path))
    path = tmp_path / LOCAL_SIGNER
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ValueError, match=f"{path} is damaged .*: delete it, and the next save makes a new local"):
        signing_identity(str(tmp_path))


def test_the_users_own_key_and_certificate_are_checked_as_a_pair(tmp_path):
    from cryptography.hazmat.primitives import serialization
    one, other = signing_identity(str(tmp_path / "one")), signing_identity(str(tmp_path / "other"))
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "certificate.pem").write_bytes(one.chain)
    (keys / "private_key.pem").write_bytes(other.key)
    with pytest.raises(ValueError, match="private_key.pem does not belong to the first certificate in .*certificate.pem"):
        signing_identity(str(keys))
    traditional = serialization.load_pem_private_key(one.key, None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    (keys / "private_key.pem").write_bytes(traditional)
    with pytest.raises(ValueError, match="private_key.pem is not in PKCS#8 form.*openssl pkcs8 -topk8"):
        signing_identity(str(keys))
    (keys / "certificate.pem").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="certificate.pem holds no PEM certificate"):
        signing_identity(str(keys))


def test_the_users_own_certificate_is_used_when_configured(tmp_path):
    made = signing_identity(str(tmp_path / "made"))  # any valid chain stands in for one from a CA
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "certificate.pem").write_bytes(made.chain)
    with pytest.raises(ValueError, match="put both certificate.pem and private_key.pem"):
        signing_identity(str(tmp_path / "keys"))
    (tmp_path / "keys" / "private_key.pem").write_bytes(made.key)
    own = signing_identity(str(tmp_path / "keys"))
    assert own.own and own.alg == "es256" and own.chain == made.chain
    path = save(tmp_path, "clip", keys=tmp_path / "keys")
    assert cc.read_provenance(path).state == "Valid"
    assert not (tmp_path / "keys" / LOCAL_SIGNER).exists()
    (tmp_path / "keys" / "private_key.pem").write_bytes(b"not a key")
    with pytest.raises(ValueError, match="not an unencrypted PEM private key"):
        signing_identity(str(tmp_path / "keys"))


def test_model_hashes_are_computed_once_per_file_state(tmp_path, monkeypatch):
    model = tmp_path / "model.safetensors"
    model.write_bytes(b"weights" * 1000)
    cache = HashCache(str(tmp_path / "hashes.json"))
    digest = cache.sha256(str(model))
    assert digest == __import__("hashlib").sha256(b"weights" * 1000).hexdigest()
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    assert HashCache(str(tmp_path / "hashes.json")).sha256(str(model)) == digest  # from the cache file
    assert str(model) not in opened
    monkeypatch.undo()
    model.write_bytes(b"other weights")
    assert cache.sha256(str(model)) != digest


def test_a_sidecar_never_replaces_a_file(tmp_path):
    (tmp_path / "clip.c2pa").write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="clip.webm was saved, but its content credentials were not"):
        cc.write_sidecar(str(tmp_path / "clip.webm"), b"store")
    assert (tmp_path / "clip.c2pa").read_bytes() == b"keep me" and sorted(os.listdir(tmp_path)) == ["clip.c2pa"]
    assert open(cc.write_sidecar(str(tmp_path / "other.webm"), b"store"), "rb").read() == b"store"


def test_a_model_replaced_by_a_copy_keeping_its_time_is_hashed_again(tmp_path):
    model = tmp_path / "model.safetensors"
    model.write_bytes(b"weights" * 1000)
    cache = HashCache(str(tmp_path / "hashes.json"))
    digest = cache.sha256(str(model))
    stamp = os.stat(model)
    copy = tmp_path / "copy.tmp"
    copy.write_bytes(b"WEIGHTS" * 1000)  # same size
    os.replace(copy, model)
    os.utime(model, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # as `cp -p` keeps the time
    assert cache.sha256(str(model)) == __import__("hashlib").sha256(b"WEIGHTS" * 1000).hexdigest() != digest
