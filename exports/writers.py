"""File writers. Rows arrive as Arrow tables of a few thousand rows: no writer holds a whole split in memory.

Every writer is deterministic (no time stamps, names or random ids inside the files), so the same rows give the
same bytes: gzip with mtime 0 and no file name, Parquet written by one pyarrow version, and the Hugging Face
directory with a fingerprint derived from its content.
"""

import gzip
import hashlib
import io
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from exports.clock import StageClock

PARQUET_COMPRESSION = "zstd"
READ_BLOCK = 1 << 20
WRITE_BLOCK = 8 << 20


class HashedFile(io.RawIOBase):
    """A file written front to back that hashes its bytes on the way: the manifest needs each file's SHA-256, and
    reading a 3 GB file again once written took seconds of the main thread."""

    def __init__(self, path: Path, *, hashed: bool = True):
        super().__init__()
        self._file = open(path, "wb")
        self.sha256 = hashlib.sha256() if hashed else None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.sha256:
            self.sha256.update(data)
        return self._file.write(data)

    def close(self) -> None:
        self._file.close()
        super().close()


def ndjson(table: pa.Table) -> bytes:
    """The table as JSON lines, keys in column order: polars writes the same bytes as orjson would for the rows as
    dicts (compact, UTF-8), from the Arrow columns and without the GIL, about three times as fast."""
    buffer = io.BytesIO()
    pl.from_arrow(table).write_ndjson(buffer)
    return buffer.getvalue()


class SplitWriter(ABC):
    """Writes one split; `path` is the file (or, for hf, the temporary Arrow stream) it fills.

    Tables arrive from the main thread and are serialised, compressed and written on a thread of their own (polars,
    Arrow, zlib and zstd release the GIL), so that work overlaps with making the next table; one at a time, which
    keeps the order and at most two tables in memory."""

    kept = True  # the file is one of the dataset's: hashed as it is written, for the manifest

    def __init__(self, path: Path, schema: pa.Schema | None, clock: StageClock | None = None):
        self.path = path
        self.schema = schema
        self.clock = clock or StageClock()
        self.file = HashedFile(path, hashed=self.kept)
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-writer")
        self._pending: Future | None = None

    def _in_background(self, work: Callable, *args) -> None:
        with self.clock.stage("waiting"):
            self._wait()
        self._pending = self._io.submit(self.clock.timed("write", work), *args)

    def _wait(self) -> None:
        if self._pending is not None:
            self._pending.result()  # raises what the write raised
            self._pending = None

    def write(self, table: pa.Table) -> None:
        self._in_background(self.put, table)

    @abstractmethod
    def put(self, table: pa.Table) -> None: ...

    def close(self) -> None:
        self._wait()
        self._io.shutdown()
        self.file.close()


class JsonlWriter(SplitWriter):
    def __init__(self, path: Path, schema: pa.Schema | None, *, compress: bool = False,
                 clock: StageClock | None = None):
        super().__init__(path, schema, clock)
        # mtime 0 and no name in the gzip header: the same rows give the same bytes.
        self.out = gzip.GzipFile(fileobj=self.file, mode="wb", filename="", mtime=0) if compress else self.file

    def put(self, table: pa.Table) -> None:
        self.out.write(ndjson(table))

    def write_lines(self, lines: list[str]) -> None:
        self._in_background(self.out.write, "".join(lines).encode())

    def close(self) -> None:
        self._wait()
        if self.out is not self.file:
            self.out.close()  # the gzip trailer, before the file closes
        super().close()


def _buffered(file: HashedFile) -> pa.NativeFile:
    """Arrow's writes to a Python file, gathered into blocks: Parquet and Arrow write many small pieces (page headers,
    pages), and each call into Python waits for the GIL the main thread holds, which made the writer thread the
    slowest stage of a Parquet export."""
    return pa.BufferedOutputStream(pa.PythonFile(file, mode="w"), buffer_size=WRITE_BLOCK)


class ParquetWriter(SplitWriter):
    def __init__(self, path: Path, schema: pa.Schema, clock: StageClock | None = None):
        super().__init__(path, schema, clock)
        self.sink = _buffered(self.file)
        self.writer = pq.ParquetWriter(self.sink, schema, compression=PARQUET_COMPRESSION)

    def put(self, table: pa.Table) -> None:
        self.writer.write_table(table)

    def close(self) -> None:
        self._wait()
        self.writer.close()
        self.sink.close()
        super().close()


class ArrowStreamWriter(SplitWriter):
    """The Arrow IPC stream a Hugging Face split is made from (see `hf_save`)."""

    kept = False  # a scratch file: the dataset's own files are hashed once `datasets` has written them

    def __init__(self, path: Path, schema: pa.Schema, clock: StageClock | None = None):
        super().__init__(path, schema, clock)
        self.sink = _buffered(self.file)
        self.writer = pa.ipc.new_stream(self.sink, schema)

    def put(self, table: pa.Table) -> None:
        self.writer.write_table(table)

    def close(self) -> None:
        self._wait()
        self.writer.close()
        self.sink.close()
        super().close()


def writer_open(filetype: str, directory: Path, split: str, schema: pa.Schema | None, scratch: Path,
                clock: StageClock | None = None) -> SplitWriter:
    if filetype == "parquet":
        return ParquetWriter(directory / f"{split}.parquet", schema, clock)
    if filetype == "hf":
        return ArrowStreamWriter(scratch / f"{split}.arrow", schema, clock)
    return JsonlWriter(directory / f"{split}.{filetype}", schema, compress=filetype == "jsonl.gz", clock=clock)


def hf_save(writers: dict[str, SplitWriter], directory: Path, fingerprint: str) -> None:
    """Turn the splits' Arrow streams into a `datasets.DatasetDict` directory (`load_from_disk`), memory-mapped."""
    import datasets
    from datasets.table import MemoryMappedTable

    datasets.disable_progress_bars()
    splits = {}
    for split, writer in writers.items():
        features = datasets.Features.from_arrow_schema(writer.schema)
        splits[split] = datasets.Dataset(
            MemoryMappedTable.from_file(str(writer.path)), info=datasets.DatasetInfo(features=features),
            split=datasets.NamedSplit(split),
            fingerprint=hashlib.sha256(f"{fingerprint}:{split}".encode()).hexdigest()[:16],
        )
    datasets.DatasetDict(splits).save_to_disk(str(directory))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def file_entry(directory: Path, path: Path, sha256: str | None = None) -> dict:
    return {"path": path.relative_to(directory).as_posix(), "bytes": path.stat().st_size,
            "sha256": sha256 or file_sha256(path)}


def files_manifest(directory: Path, hashes: dict[Path, str]) -> list[dict]:
    """Every file under the directory (relative path, size, sha256), sorted by path; `hashes` holds those known
    from writing."""
    return [file_entry(directory, path, hashes.get(path))
            for path in sorted(p for p in directory.rglob("*") if p.is_file())]


def content_hash(files: list[dict]) -> str:
    """One hash of the data files (paths and contents): equal hashes, equal datasets."""
    digest = hashlib.sha256()
    for entry in files:
        digest.update(f"{entry['path']}\0{entry['sha256']}\n".encode())
    return digest.hexdigest()
