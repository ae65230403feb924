"""Where the mirror goes: a directory (swapped in whole) or an S3-compatible bucket (assets,
then pages, then the heartbeat; only what changed), named by URL in `MIRROR_TARGETS`."""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .site import HEARTBEAT_FILE, MirrorFile, content_type_for, owner, uncompressed

KEEP_RELEASES = 3
UPLOAD_THREADS = 16  # S3 PUTs in flight at once (boto3 clients are thread-safe)
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=30, stale-while-revalidate=60, stale-if-error=86400"
NO_CACHE = "no-cache"


class TargetError(Exception):
    """A target could not be read or written (the message says which and why)."""


@dataclass
class PublishResult:
    files: int  # files in the copy after this publish
    written: int  # files written or uploaded (the rest were unchanged)
    written_bytes: int
    deleted: int


def cache_control(path: str) -> str:
    name = uncompressed(path)
    if name.startswith("static/") or "/static/" in name:
        return IMMUTABLE
    if name == HEARTBEAT_FILE or name.endswith("live.json"):
        return NO_CACHE
    return SHORT


def _upload_order(path: str) -> int:
    """Assets first (pages refer to them), then pages, then the heartbeat that announces them."""
    name = uncompressed(path)
    if name.startswith("static/") or "/static/" in name:
        return 0
    if name == HEARTBEAT_FILE or name.endswith("/" + HEARTBEAT_FILE):
        return 2
    return 1


class Target:
    url: str

    def publish(
        self,
        files: dict[str, MirrorFile],
        *,
        keep: frozenset[str] | None,
        default_slug: str,
        hosts: dict[str, str] | None = None,
    ) -> PublishResult:
        """Make `files` the copy. With `keep` (the pages not rebuilt), their files stay;
        `hosts` (custom host -> slug) says whose the custom hosts' trees are."""
        raise NotImplementedError

    def read(self, path: str) -> bytes | None:
        raise NotImplementedError

    def read_all(self) -> dict[str, MirrorFile]:
        """The published copy without its `.gz`/`.br` siblings (the notice command rebuilds
        those)."""
        raise NotImplementedError


class DirectoryTarget(Target):
    """`file:///srv/mirror`: `current` is a symlink to a complete release directory, replaced
    in one rename, so a reader sees one version or the next, never a mix. Unchanged files are
    hard links to the previous release (cheap); a killed publish leaves a stray release that
    the next one removes."""

    def __init__(self, url: str, root: Path):
        self.url = url
        self.root = root

    @property
    def current(self) -> Path:
        return self.root / "current"

    def _current_release(self) -> Path | None:
        return self.current.resolve() if self.current.is_symlink() else None

    def publish(self, files, *, keep, default_slug, hosts=None):
        releases = self.root / "releases"
        releases.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            previous = self._current_release()
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
            release = releases / f"{name}.partial"  # renamed once complete
            release.mkdir()
            written = written_bytes = 0
            wanted = dict(files)
            if previous is not None and keep is not None:
                for old in _walk(previous):
                    if old not in wanted and owner(old, default_slug, hosts) in keep:
                        _link_or_copy(previous / old, release / old)
            for path, item in wanted.items():
                target = release / path
                target.parent.mkdir(parents=True, exist_ok=True)
                old = previous / path if previous is not None else None
                if old is not None and old.is_file() and _same(old, item.body):
                    _link_or_copy(old, target)
                    continue
                target.write_bytes(item.body)
                written += 1
                written_bytes += len(item.body)
            for directory, _dirs, files_here in os.walk(release):
                os.chmod(directory, 0o755)
                for file_name in files_here:
                    os.chmod(os.path.join(directory, file_name), 0o644)
            release = release.rename(releases / name)
            link = self.root / f".current-{uuid.uuid4().hex[:8]}"
            os.symlink(Path("releases") / release.name, link)
            os.replace(link, self.current)  # the swap: one rename
            total = sum(1 for _ in _walk(release))
            deleted = 0
            if previous is not None:
                deleted = sum(1 for p in _walk(previous) if not (release / p).exists())
            self._prune(release, previous)
        return PublishResult(total, written, written_bytes, deleted)

    def _prune(self, current: Path, previous: Path | None) -> None:
        """Keep the newest few releases (a reader may be mid-way through one); drop the rest,
        including what a killed publish left half-written."""
        folders = list((self.root / "releases").iterdir())
        for stray in [f for f in folders if f.suffix == ".partial"]:  # we hold the lock
            shutil.rmtree(stray, ignore_errors=True)
        releases = sorted(
            (f for f in folders if f.suffix != ".partial"), key=lambda p: p.stat().st_mtime
        )
        keep = {current, previous, *releases[-KEEP_RELEASES:]}
        for release in releases:
            if release not in keep:
                shutil.rmtree(release, ignore_errors=True)
        for stray in self.root.glob(".current-*"):
            stray.unlink(missing_ok=True)

    def read(self, path):
        release = self._current_release()
        if release is None or not (release / path).is_file():
            return None
        return (release / path).read_bytes()

    def read_all(self):
        release = self._current_release()
        if release is None:
            raise TargetError(f"{self.url}: nothing has been published here yet")
        return {
            path: MirrorFile((release / path).read_bytes(), content_type_for(path))
            for path in _walk(release)
            if uncompressed(path) == path
        }


class S3Target(Target):
    """`s3://bucket/prefix` on any S3-compatible storage, configured the boto3 way."""

    def __init__(self, url: str, bucket: str, prefix: str):
        self.url = url
        self.bucket = bucket
        self.prefix = prefix

    def _client(self):
        import boto3  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]

        config = Config(
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=UPLOAD_THREADS,
        )
        return boto3.client("s3", config=config)

    def _key(self, path: str) -> str:
        return f"{self.prefix}{path}"

    def _listing(self, client) -> dict[str, str]:
        """Key (relative to the prefix) -> ETag (an MD5 of the body for a single-part upload)."""
        found = {}
        paginator = client.get_paginator("list_objects_v2")
        for chunk in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in chunk.get("Contents", []):
                found[item["Key"][len(self.prefix) :]] = item["ETag"].strip('"')
        return found

    def publish(self, files, *, keep, default_slug, hosts=None):
        from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

        client = self._client()
        try:
            existing = self._listing(client)
            changed = [p for p in files if existing.get(p) != files[p].digest]

            def put(path: str) -> None:
                item = files[path]
                extra = {"ContentType": item.content_type, "CacheControl": cache_control(path)}
                if item.encoding:
                    extra["ContentEncoding"] = item.encoding
                client.put_object(Bucket=self.bucket, Key=self._key(path), Body=item.body, **extra)

            # Each phase completes before the next starts: assets, pages, then the heartbeat.
            with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
                for phase in (0, 1, 2):
                    batch = sorted(p for p in changed if _upload_order(p) == phase)
                    list(pool.map(put, batch))
            written = len(changed)
            written_bytes = sum(len(files[p].body) for p in changed)
            stale = [
                path
                for path in existing
                if path not in files
                and (keep is None or owner(path, default_slug, hosts) not in keep)
            ]
            for start in range(0, len(stale), 1000):
                client.delete_objects(
                    Bucket=self.bucket,
                    Delete={
                        "Objects": [{"Key": self._key(p)} for p in stale[start : start + 1000]]
                    },
                )
        except (BotoCoreError, ClientError) as error:
            raise TargetError(f"{self.url}: {error}") from error
        total = len((set(existing) - set(stale)) | set(files))
        return PublishResult(total, written, written_bytes, len(stale))

    def read(self, path):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._client().get_object(Bucket=self.bucket, Key=self._key(path))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise TargetError(f"{self.url}: {error}") from error
        except BotoCoreError as error:
            raise TargetError(f"{self.url}: {error}") from error

    def read_all(self):
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._client()
        try:
            paths = [p for p in self._listing(client) if uncompressed(p) == p]
            if HEARTBEAT_FILE not in paths:
                raise TargetError(f"{self.url}: nothing has been published here yet")
            result = {}
            for path in paths:
                response = client.get_object(Bucket=self.bucket, Key=self._key(path))
                result[path] = MirrorFile(
                    response["Body"].read(),
                    response.get("ContentType") or content_type_for(path),
                )
            return result
        except (BotoCoreError, ClientError) as error:
            raise TargetError(f"{self.url}: {error}") from error


def target_for(url: str) -> Target:
    """The target a `MIRROR_TARGETS` entry names; a clear error for anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme == "file" and parts.path:
        return DirectoryTarget(url.strip(), Path(unquote(parts.path)))
    if parts.scheme == "s3" and parts.netloc:
        prefix = parts.path.strip("/")
        return S3Target(url.strip(), parts.netloc, f"{prefix}/" if prefix else "")
    raise TargetError(
        f"{url!r} is not a mirror target: use file:///path/to/directory or s3://bucket/prefix"
    )


def _walk(root: Path):
    for directory, _dirs, names in os.walk(root):
        for name in names:
            yield os.path.relpath(os.path.join(directory, name), root)


def _same(path: Path, body: bytes) -> bool:
    return path.stat().st_size == len(body) and path.read_bytes() == body


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
