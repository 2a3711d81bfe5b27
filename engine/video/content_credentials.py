"""C2PA manifests (Content Credentials) for saved videos, with c2pa-python, and reading them back.

A manifest says the video was made by a trained model (IPTC's digital source type), by which
generator and version, and carries the provenance record (models with their SHA-256, prompts, seed,
sampler settings) as an assertion of its own. Source videos an edit was made from are its ingredients,
each with its own manifest when it had one, so lineage chains through edits of edits.

mp4 carries the manifest inside the file. The C2PA SDK cannot embed one in WebM (Matroska), so a
webm gets a sidecar: `NAME.c2pa` beside `NAME.webm`, a manifest store bound to the file's bytes by
a hash, which is C2PA's form for assets that cannot hold a manifest.
"""
import io
import json
import os
from dataclasses import dataclass, field

from .metadata import GENERATOR
from ..part_files import new_part, write_new
from .signing_keys import SigningIdentity

GENERATION_LABEL = "com.github.spacetime-video.generation"
_IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
GENERATED = _IPTC + "trainedAlgorithmicMedia"
EDITED = _IPTC + "compositeWithTrainedAlgorithmicMedia"  # an edit of existing videos with a model
MIME = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "webp": "image/webp",
        "gif": "image/gif", "avi": "video/x-msvideo"}
EMBEDDED = ("mp4",)
SIDECAR = ("webm",)


class ProvenanceError(RuntimeError):
    """Signing or reading a manifest failed; the message says what the C2PA library reported."""


def available() -> bool:
    try:
        _c2pa()
    except ProvenanceError:
        return False
    return True


@dataclass
class Manifest:
    """What to sign: the provenance record, the video's title and the source files it was made from."""
    record: dict
    title: str
    sources: list[str] = field(default_factory=list)

    def definition(self, mime: str) -> dict:
        version = self.record.get("version", "unknown")
        action = {"action": "c2pa.created", "digitalSourceType": EDITED if self.sources else GENERATED,
                  "softwareAgent": {"name": GENERATOR, "version": version}}
        return {
            "claim_generator_info": [{"name": GENERATOR, "version": version}],
            "title": self.title,
            "format": mime,
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}},
                           {"label": GENERATION_LABEL, "data": self.record}],
        }


def sidecar_path(path: str) -> str:
    return os.path.splitext(path)[0] + ".c2pa"


def sign_in_place(path: str, format: str, manifest: Manifest, identity: SigningIdentity) -> bytes | None:
    """Sign the finished video at `path` (its format's extension may still be missing: a temp file).

    mp4: the manifest is embedded and the file replaced by its signed version. webm: the file is
    left as it is and the manifest store is returned, for `write_sidecar` once the file has its name.
    """
    c2pa = _c2pa()
    mime = MIME[format]
    try:
        builder = _builder(c2pa, manifest, mime)
        with _signer(c2pa, identity) as signer:
            if format in SIDECAR:
                builder.set_no_embed()
                with open(path, "rb") as source:
                    return builder.sign(signer, mime, source, io.BytesIO())
            _sign_file(builder, signer, mime, path)
    except c2pa.C2paError as e:
        raise ProvenanceError(f"could not sign the {format} file's C2PA manifest: {e}") from e
    return None


def _sign_file(builder, signer, mime: str, path: str) -> None:
    """Replace the file at `path` by its signed version (written beside it, then renamed over it)."""
    signed = new_part(os.path.dirname(path) or ".")  # a part file the next save can tell is stale
    try:
        with open(path, "rb") as source, open(signed, "w+b") as dest:
            builder.sign(signer, mime, source, dest)
        os.replace(signed, path)
    finally:
        if os.path.exists(signed):
            os.unlink(signed)


def write_sidecar(path: str, store: bytes) -> str:
    """Write a manifest store as the sidecar of `path`, all at once (through a part file, as every file the
    pack saves), never replacing an existing file."""
    sidecar = sidecar_path(path)
    if not write_new(sidecar, store):
        raise FileExistsError(f"{os.path.basename(path)} was saved, but its content credentials were not: "
                              f"{sidecar} already exists (another save took that name meanwhile). Save again.")
    return sidecar


class VideoSigner:
    """write_video's sign hook: mp4 is signed in place before it gets its name; a webm's manifest
    store is kept and written as its sidecar by `finish` once the file has its name. Other formats
    (webp, gif) are left unsigned: they keep the plain JSON record only."""

    def __init__(self, manifest: Manifest, identity: SigningIdentity):
        self.manifest, self.identity, self.store = manifest, identity, None

    def __call__(self, temp: str, format: str) -> None:
        if format in EMBEDDED + SIDECAR:
            self.store = sign_in_place(temp, format, self.manifest, self.identity)

    def finish(self, path: str) -> str | None:
        """The sidecar written for `path` (None when the manifest is inside the file or there is none)."""
        return write_sidecar(path, self.store) if self.store else None


@dataclass
class Provenance:
    """A file's C2PA manifest store as the reader gives it, and its validation state."""
    store: dict | None  # {"active_manifest", "manifests", "validation_status", ...}; None: no manifest
    state: str  # "Valid", "Trusted", "Invalid", or "none" when the file carries no manifest

    @property
    def active(self) -> dict | None:
        return self.store["manifests"][self.store["active_manifest"]] if self.store else None

    def record(self, manifest: dict | None = None) -> dict | None:
        """The provenance record signed into a manifest (the active one by default)."""
        return self._assertion(GENERATION_LABEL, manifest)

    def actions(self, manifest: dict | None = None) -> list[dict]:
        """The manifest's actions (c2pa.actions is stored as c2pa.actions.v2)."""
        actions = self._assertion("c2pa.actions.v2", manifest) or self._assertion("c2pa.actions", manifest)
        return actions["actions"] if actions else []

    def _assertion(self, label: str, manifest: dict | None) -> dict | None:
        for assertion in (manifest or self.active or {}).get("assertions", []):
            if assertion["label"] == label:
                return assertion["data"]
        return None

    def lineage(self, manifest: dict | None = None) -> list[dict]:
        """The manifest's ingredients, each {"title", "relationship", "manifest", "ingredients": [...]}
        down to the first videos that were not made from others (or carried no manifest)."""
        manifest = manifest or self.active or {}
        chain = []
        for ingredient in manifest.get("ingredients", []):
            own = self.store["manifests"].get(ingredient.get("active_manifest", ""))
            chain.append({"title": ingredient.get("title"), "relationship": ingredient.get("relationship"),
                          "manifest": ingredient.get("active_manifest"),
                          "ingredients": self.lineage(own) if own else []})
        return chain


def read_provenance(path: str) -> Provenance:
    """The C2PA manifest store of a video: embedded, or for a webm in its sidecar NAME.c2pa."""
    c2pa = _c2pa()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no file at {path}")
    extension = os.path.splitext(path)[1][1:].lower()
    mime = MIME.get(extension, "video/mp4")
    sidecar = sidecar_path(path)
    try:
        with open(path, "rb") as stream:
            if extension in SIDECAR and os.path.isfile(sidecar):  # another format's file may share the stem
                with open(sidecar, "rb") as f:
                    reader = c2pa.Reader(mime, stream, f.read())
            else:
                reader = c2pa.Reader.try_create(mime, stream)
            if reader is None:
                return Provenance(None, "none")
            with reader:
                store = json.loads(reader.json())
    except c2pa.C2paError as e:
        raise ProvenanceError(f"could not read the C2PA manifest of {os.path.basename(path)}: {e}") from e
    return Provenance(store, store.get("validation_state", "Invalid"))


def _c2pa():
    try:
        import c2pa
    except ImportError as e:
        raise ProvenanceError("C2PA needs the c2pa-python package: pip install -r requirements.txt") from e
    return c2pa


def _builder(c2pa, manifest: Manifest, mime: str):
    builder = c2pa.Builder(json.dumps(manifest.definition(mime)))
    relationship = "componentOf"  # the new video is made of its sources' frames and generated ones
    for source in manifest.sources:
        ext = os.path.splitext(source)[1][1:].lower()
        with open(source, "rb") as stream:
            builder.add_ingredient(json.dumps({"title": os.path.basename(source), "relationship": relationship}),
                                   MIME.get(ext, "application/octet-stream"), stream)
    return builder


def _signer(c2pa, identity: SigningIdentity):
    info = c2pa.C2paSignerInfo(alg=identity.alg.encode(), sign_cert=identity.chain, private_key=identity.key,
                               ta_url=None)
    return c2pa.Signer.from_info(info)

