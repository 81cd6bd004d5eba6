"""File writers. Rows arrive in batches and leave in batches: no writer holds a whole split in memory.

Every writer is deterministic (no time stamps, names or random ids inside the files), so the same rows give the
same bytes: gzip with mtime 0 and no file name, Parquet written by one pyarrow version, and the Hugging Face
directory with a fingerprint derived from its content.
"""

import gzip
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import accumulate
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from exports.clock import StageClock

PARQUET_COMPRESSION = "zstd"
READ_BLOCK = 1 << 20
MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


def _messages_array(values: list[list[dict]]) -> pa.Array:
    """A list<struct<role, content>> column from flat string columns: several times faster than pyarrow's
    conversion of the nested Python objects, which dominated the time of a conversational export."""
    flat = [message for messages in values for message in messages]
    roles = [message["role"] for message in flat]
    contents = [message["content"] for message in flat]
    offsets = [0, *accumulate(len(messages) for messages in values)]
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.StructArray.from_arrays(
        [pa.array(roles, pa.string()), pa.array(contents, pa.string())], names=["role", "content"]))


def table_from_rows(rows: list[dict], schema: pa.Schema) -> pa.Table:
    columns = []
    for column in schema:
        values = [row[column.name] for row in rows]
        columns.append(_messages_array(values) if column.type == MESSAGES else pa.array(values, column.type))
    return pa.Table.from_arrays(columns, schema=schema)


class SplitWriter(ABC):
    """Writes one split; `path` is the file (or, for hf, the temporary Arrow stream) it fills.

    Compressing and writing a batch run on a thread of their own (zlib, zstd and file writes release the GIL), so
    they overlap with making the next batch; one at a time, which keeps the order and at most two batches in
    memory."""

    def __init__(self, path: Path, schema: pa.Schema | None, clock: StageClock | None = None):
        self.path = path
        self.schema = schema
        self.clock = clock or StageClock()
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

    def write(self, rows: list[dict]) -> None:
        with self.clock.stage("format"):
            data = self.encode(rows)
        self._in_background(self.put, data)

    @abstractmethod
    def encode(self, rows: list[dict]): ...

    @abstractmethod
    def put(self, data) -> None: ...

    def close(self) -> None:
        self._wait()
        self._io.shutdown()


class JsonlWriter(SplitWriter):
    def __init__(self, path: Path, schema: pa.Schema | None, *, compress: bool = False,
                 clock: StageClock | None = None):
        super().__init__(path, schema, clock)
        self.raw = open(path, "wb")
        # mtime 0 and no name in the gzip header: the same rows give the same bytes.
        self.file = gzip.GzipFile(fileobj=self.raw, mode="wb", filename="", mtime=0) if compress else self.raw

    def encode(self, rows: list[dict]) -> bytes:
        # orjson: compact UTF-8 lines, keys in the row's order, about 10x json.dumps on these rows
        return b"".join([orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE) for row in rows])

    def put(self, data: bytes) -> None:
        self.file.write(data)

    def write_lines(self, lines: list[str]) -> None:
        self._in_background(self.put, "".join(lines).encode())

    def close(self) -> None:
        super().close()
        self.file.close()
        self.raw.close()


class ParquetWriter(SplitWriter):
    def __init__(self, path: Path, schema: pa.Schema, clock: StageClock | None = None):
        super().__init__(path, schema, clock)
        self.writer = pq.ParquetWriter(path, schema, compression=PARQUET_COMPRESSION)

    def encode(self, rows: list[dict]) -> pa.Table:
        return table_from_rows(rows, self.schema)

    def put(self, table: pa.Table) -> None:
        self.writer.write_table(table)

    def close(self) -> None:
        super().close()
        self.writer.close()


class ArrowStreamWriter(SplitWriter):
    """The Arrow IPC stream a Hugging Face split is made from (see `hf_save`)."""

    def __init__(self, path: Path, schema: pa.Schema, clock: StageClock | None = None):
        super().__init__(path, schema, clock)
        self.sink = pa.OSFile(str(path), "wb")
        self.writer = pa.ipc.new_stream(self.sink, schema)

    def encode(self, rows: list[dict]) -> pa.Table:
        return table_from_rows(rows, self.schema)

    def put(self, table: pa.Table) -> None:
        self.writer.write_table(table)

    def close(self) -> None:
        super().close()
        self.writer.close()
        self.sink.close()


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


def file_entry(directory: Path, path: Path) -> dict:
    return {"path": path.relative_to(directory).as_posix(), "bytes": path.stat().st_size, "sha256": file_sha256(path)}


def files_manifest(directory: Path) -> list[dict]:
    """Every file under the directory (relative path, size, sha256), sorted by path."""
    return [file_entry(directory, path) for path in sorted(p for p in directory.rglob("*") if p.is_file())]


def content_hash(files: list[dict]) -> str:
    """One hash of the data files (paths and contents): equal hashes, equal datasets."""
    digest = hashlib.sha256()
    for entry in files:
        digest.update(f"{entry['path']}\0{entry['sha256']}\n".encode())
    return digest.hexdigest()
