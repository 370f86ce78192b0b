"""Where stored files live: a local folder (UPLOAD_DIR, the default) or an S3-compatible bucket
(STORAGE=s3), so that several web nodes serve the same files.

Keys are names the portal made (random hex tokens, see `portal.orders.uploads`), never a
person's words: a key that is not one is refused before any path or URL is built from it.
Every failure of the storage itself is a `StorageError`, an OSError, so callers handle a full
disk and an unreachable bucket alike. Files are read through the app (`open`), after its access
check: the bucket is never public and no URL to it is ever handed out.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from flask import current_app

KEY = re.compile(r"(\.probe-)?[0-9a-f]{16,64}")
CHUNK = 64 * 1024


class StorageError(OSError):
    """The storage could not do what was asked (disk, network, bucket, credentials)."""


class Missing(StorageError, FileNotFoundError):
    """No object under this key."""


def check_key(key: str) -> str:
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise ValueError("not a stored key")
    return key


@dataclass
class Opened:
    """A stored object opened for reading: its bytes as a stream, and how many there are."""

    stream: IO[bytes]
    size: int

    def chunks(self) -> Iterator[bytes]:
        try:
            while chunk := self.stream.read(CHUNK):
                yield chunk
        finally:
            self.stream.close()

    def read(self) -> bytes:
        try:
            return self.stream.read()
        finally:
            self.stream.close()


class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def open(self, key: str) -> Opened: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...


class LocalStorage:
    """Files in one folder, readable by this process only (0600 files in a 0700 folder)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._path(key)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def open(self, key: str) -> Opened:
        try:
            stream = self._path(key).open("rb")
        except FileNotFoundError:
            raise Missing(key) from None
        return Opened(stream, os.fstat(stream.fileno()).st_size)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise Missing(key) from None


class S3Storage:
    """Objects in one bucket of an S3-compatible service (AWS, MinIO, Garage, Scaleway…).
    Credentials come from boto3's usual places (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
    a profile, an instance role); they are never settings of the portal."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, region: str | None = None,
                 prefix: str = "") -> None:
        import boto3  # only installs that use S3 pay for importing it
        from botocore.config import Config as BotoConfig

        self.bucket, self.prefix = bucket, prefix
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region,
            config=BotoConfig(connect_timeout=5, read_timeout=30,
                              retries={"max_attempts": 3, "mode": "standard"}))

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _call(self, method: str, key: str, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, Key=self._key(key), **kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in {"NoSuchKey", "404", "NotFound"}:
                raise Missing(key) from None
            raise StorageError(f"S3 {method} {key}: {code or error}") from error
        except BotoCoreError as error:
            raise StorageError(f"S3 {method} {key}: {error}") from error

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._call("put_object", key, Body=data, ContentType=content_type)

    def open(self, key: str) -> Opened:
        answer = self._call("get_object", key)
        return Opened(answer["Body"], int(answer["ContentLength"]))

    def delete(self, key: str) -> None:
        self._call("delete_object", key)  # S3 answers alike for a key already gone

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", key)
        except Missing:
            return False
        return True

    def size(self, key: str) -> int:
        return int(self._call("head_object", key)["ContentLength"])


def storage() -> Storage:
    """The configured storage of the current app. The local folder is read from UPLOAD_DIR at
    each call (cheap); the S3 client is made once per app and setting, and shared by threads
    (boto3 clients are thread-safe)."""
    config = current_app.config
    if config.get("STORAGE", "local") != "s3":
        return LocalStorage(config["UPLOAD_DIR"])
    settings = (config["S3_BUCKET"], config.get("S3_ENDPOINT_URL"), config.get("S3_REGION"),
                config.get("S3_PREFIX", ""))
    cache = current_app.extensions.setdefault("portal.storage", {})
    if settings not in cache:
        cache[settings] = S3Storage(*settings)
    return cache[settings]


def probe() -> None:
    """Write, read back and delete a small object (the readiness check). Raises OSError when
    any step fails or the content comes back different."""
    store = storage()
    key = f".probe-{secrets.token_hex(8)}"
    content = secrets.token_bytes(32)
    try:
        store.put(key, content, "application/octet-stream")
        if store.open(key).read() != content:
            raise StorageError("the storage gave back other bytes than were written")
    finally:
        store.delete(key)
