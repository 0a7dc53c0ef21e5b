"""A whoosh index's files, read without importing whoosh: whoosh-reloaded 2.7's W3 codec, in compound segments.

whoosh writes the index (engines.whoosh_backend.write); a query reads it. Importing whoosh (some 75 modules:
queries, matchers, analysers, highlighting) takes about 30 ms, a third of a cold query on the chapter, while a
query reads only four things from each segment: the term table, posting blocks, the field-length columns and the
stored fields. This module reads those directly, following whoosh's own readers (filedb.compound,
filedb.filetables.OrderedHashReader, codec.whoosh3, columns) line for line.

What the files do not say about themselves (the segments, their document counts and field lengths, the BM25F
parameters, how each field turns text into bytes) ``describe`` takes from whoosh's own objects when the index is
built, into MANIFEST. An index it cannot describe (another codec or whoosh version, deletions, a field that is
not plain text) gets no manifest, and whoosh_backend uses whoosh's own reader. Anything unexpected in the files
raises ``Unreadable``. tests/test_whoosh_files.py compares every operation with whoosh's on one- and
two-segment indexes.

The files are trusted as far as the index folder is: it is private to the user (paths.index_dir). Even so, the
pickles in them (term tables' extras, posting blocks, stored fields) are loaded with no globals but
``array``'s and ``_codecs.encode``, so a damaged or planted file cannot run code through them.
"""

from __future__ import annotations

import io
import json
import mmap
import struct
import sys
import zlib
from array import array
from bisect import bisect_right
from itertools import accumulate
from math import log
from pathlib import Path

from evidence_cli.errors import IndexError_

try:
    from _pickle import Unpickler as _CUnpickler
except ImportError:  # pragma: no cover (not CPython)
    from pickle import Unpickler as _CUnpickler
try:
    from _md5 import md5 as _md5  # the C module hashlib falls back to: no OpenSSL to load
except ImportError:  # pragma: no cover (a Python built without it)
    from hashlib import md5 as _md5

MANIFEST = "whoosh-files.json"
FORMAT = 1  # of the manifest; another value is read by whoosh's own reader
WHOOSH_VERSIONS = ("2.7.",)  # whoosh-reloaded releases whose W3 codec this reads

_LONG_INT = struct.Struct("!qi")
_INT = struct.Struct("!i")
_UINT = struct.Struct("!I")
_USHORT = struct.Struct("!H")
_LENGTHS = struct.Struct("!ii")  # a key's and its value's lengths, before them in a hash file
_POINTER = struct.Struct("!Iq")  # a hash table slot: the key's hash, its position
_DIR_ENTRY = struct.Struct("!qi")  # the 256 hash tables: position, number of slots
_TERMINFO = struct.Struct("!BfIBBfII")  # inlined?, weight, doc freq, min/max length, max weight, first/last id
_BLOCK_MAGIC = b"W3Bl"
_HASH_MAGIC = b"HSH3"
_LITTLE = sys.byteorder == "little"


class Unreadable(IndexError_):
    """The files are not what this reader knows, or are damaged. On opening, the index is built again; during a
    search, the message names the folder to remove."""


_GLOBALS = {("array", "array"), ("array", "_array_reconstructor"),
            ("_codecs", "encode")}  # (protocol 2 pickles bytes as a latin-1 string, encoded)


class _Unpickler(_CUnpickler):
    def find_class(self, module, name):
        if (module, name) in _GLOBALS:
            return getattr(__import__(module), name)
        raise Unreadable(f"a pickle in the index names {module}.{name}")


def _load(buf, start: int, end: int | None = None):
    """The object pickled at ``start`` and the position after it."""
    stream = io.BytesIO(buf[start:end])
    try:
        value = _Unpickler(stream).load()
    except Unreadable:
        raise
    except Exception as e:
        raise Unreadable(f"a damaged pickle in the index ({e})") from None
    return value, start + stream.tell()


def _loads(data: bytes):
    return _load(data, 0)[0]


def _array(buf, typecode: str, start: int, count: int) -> array:
    """``count`` big-endian numbers of ``typecode`` at ``start`` (whoosh's StructFile.get_array)."""
    a = array(typecode)
    a.frombytes(buf[start:start + count * a.itemsize])
    if len(a) != count:
        raise Unreadable("a column is shorter than its documents")
    if _LITTLE:
        a.byteswap()
    return a


def _md5_hash(key: bytes) -> int:
    """whoosh's md5_hash: the term tables' default."""
    return int(_md5(key, usedforsecurity=False).hexdigest(), 16) & 0xFFFFFFFF


def _crc_hash(key: bytes) -> int:
    return zlib.crc32(key) & 0xFFFFFFFF


class _TermTable:
    """A segment's terms: whoosh's OrderedHashReader over the .trm file at [base, base + length) of ``buf``."""

    def __init__(self, buf, base: int, length: int) -> None:
        self.buf, self.base = buf, base
        if buf[base:base + 4] != _HASH_MAGIC:
            raise Unreadable("the term table's header is not whoosh's")
        hashes = {0: _md5_hash, 1: _crc_hash}
        if buf[base + 4] not in hashes:
            raise Unreadable(f"the term table's hash function {buf[base + 4]} is not known")
        self.hash = hashes[buf[base + 4]]
        exptr = base + length - _INT.size
        expos = exptr - _INT.unpack_from(buf, exptr)[0]
        extras, index_base = _load(buf, expos, exptr)
        self.fieldmap: dict[str, int] = extras["fieldmap"]
        self._index_at = (extras["indextype"], index_base, extras["indexlen"])
        self._index: array | None = None
        dir_base = expos - 256 * _DIR_ENTRY.size
        self.tables = list(_DIR_ENTRY.iter_unpack(buf[dir_base:expos]))
        if len(self.tables) != 256:
            raise Unreadable("the term table's directory is damaged")
        self.end_of_data = self.tables[0][0]

    @property
    def index(self) -> array:
        """The keys' positions, in key order (read when a prefix is first looked up)."""
        if self._index is None:
            self._index = _array(self.buf, *self._index_at)
        return self._index

    def key(self, field: str, text: bytes) -> bytes:
        return _USHORT.pack(self.fieldmap.get(field, 65535)) + text

    def find(self, key: bytes) -> tuple[int, int] | None:
        """The position (in the file) and length of ``key``'s value, or None (HashReader.ranges_for_key)."""
        buf, base = self.buf, self.base
        keyhash = self.hash(key)
        start, slots = self.tables[keyhash & 255]
        if not slots:
            return None
        slot = start + ((keyhash >> 8) % slots) * _POINTER.size
        end = start + slots * _POINTER.size
        for _ in range(slots):
            slot_hash, item = _POINTER.unpack_from(buf, base + slot)
            if not item:
                return None
            if slot_hash == keyhash:
                keylen, datalen = _LENGTHS.unpack_from(buf, base + item)
                at = item + _LENGTHS.size
                if keylen == len(key) and buf[base + at:base + at + keylen] == key:
                    return at + keylen, datalen
            slot += _POINTER.size
            if slot == end:
                slot = start
        return None

    def keys_from(self, key: bytes):
        """Every key from the first one equal to or after ``key``, in order (OrderedHashReader.keys_from)."""
        buf, base, index = self.buf, self.base, self.index
        lo, hi = 0, len(index)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._key_at(index[mid]) < key:
                lo = mid + 1
            else:
                hi = mid
        if lo == len(index):
            return
        pos = index[lo]
        while pos < self.end_of_data:
            keylen, datalen = _LENGTHS.unpack_from(buf, base + pos)
            if keylen < 0 or datalen < 0:
                raise Unreadable(f"a negative length in the term table at {pos}")
            at = base + pos + _LENGTHS.size
            yield buf[at:at + keylen]
            pos += _LENGTHS.size + keylen + datalen

    def _key_at(self, pos: int) -> bytes:
        keylen = _UINT.unpack_from(self.buf, self.base + pos)[0]
        at = self.base + pos + _LENGTHS.size
        return self.buf[at:at + keylen]

    def field_terms(self, field: str, prefix: bytes = b""):
        """The terms of ``field`` that start with ``prefix``, in order."""
        if field not in self.fieldmap:
            return
        head = _USHORT.pack(self.fieldmap[field])
        for key in self.keys_from(head + prefix):
            if key[:2] != head or not key.startswith(prefix, 2):
                return
            yield key[2:]


class Segment:
    """One compound segment file (whoosh's CompoundStorage), mapped into memory, numbered from ``offset``."""

    def __init__(self, folder: Path, entry: dict, offset: int, fields: dict) -> None:
        self.path = folder / entry["file"]
        with open(self.path, "rb") as f:
            self.buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if entry["size"] else b""
        if len(self.buf) != entry["size"]:
            raise Unreadable(f"{entry['file']} is not the size the index recorded")
        diroffset, _ = _LONG_INT.unpack_from(self.buf, 0)
        files, _ = _load(self.buf, diroffset)
        stem = entry["file"][:-len(".seg")]

        def extent(ext: str) -> tuple[int, int] | None:
            info = files.get(stem + ext)
            return None if info is None else (info["offset"], info["length"])

        self.offset = offset
        self.doc_count = entry["doc_count"]
        self.terms = _TermTable(self.buf, *extent(".trm"))
        self.postings_base = extent(".pst")[0]
        self._extent = extent
        self._fields = fields
        self._lengths: dict[str, bytes] = {}
        self._stored: tuple[int, array, array] | None = None

    # terms and postings (codec.whoosh3: W3TermsReader, W3TermInfo, W3LeafMatcher)

    def term_info(self, field: str, text: bytes) -> tuple | None:
        """W3TermInfo's fields, then the start and end of what follows them (the postings' extent, or the postings
        themselves when inlined), or None."""
        try:
            found = self.terms.find(self.terms.key(field, text))
            if found is None:
                return None
            at, length = found
            at += self.terms.base
            return (*_TERMINFO.unpack_from(self.buf, at), at + _TERMINFO.size, at + length)
        except (struct.error, ValueError, IndexError) as e:
            raise self._damaged(f"the term {field}:{text.decode('utf-8', 'replace')!r}", e) from None

    def doc_frequency(self, field: str, text: bytes) -> int:
        info = self.term_info(field, text)
        return 0 if info is None else info[2]

    def postings(self, field: str, text: bytes):
        """The term's postings as (ids, weights) a block at a time, ids numbered within the segment."""
        try:
            yield from self._postings(field, text)
        except (Unreadable, struct.error, zlib.error, ValueError, TypeError, IndexError) as e:
            raise self._damaged(f"the postings of {field}:{text.decode('utf-8', 'replace')!r}", e) from None

    def _damaged(self, what: str, error: Exception) -> Unreadable:
        return Unreadable(f"{self.path}: {what} cannot be read ({error}); the index is damaged: remove the folder "
                          f"{self.path.parent} and run the command again to rebuild it")

    def _postings(self, field: str, text: bytes):
        info = self.term_info(field, text)
        if info is None:
            return
        buf = self.buf
        if info[0]:  # inlined into the term table: (ids, weights, values)
            ids, weights, _ = _load(buf, info[-2], info[-1])[0]
            yield list(ids), list(weights)
            return
        pos = self.postings_base + _LONG_INT.unpack_from(buf, info[-2])[0]
        if buf[pos:pos + 4] != _BLOCK_MAGIC:
            raise Unreadable(f"a posting block's tag is not whoosh's, for {field}:{text!r}")
        pos += 4
        while True:
            length = _INT.unpack_from(buf, pos)[0]
            end = pos + _INT.size + abs(length)
            (count, _, _, compression, _, _), data_at = _load(buf, pos + _INT.size, end)
            data = buf[data_at:end]
            ids, weights, _ = _loads(zlib.decompress(data) if compression else data)
            ids = list(accumulate(ids))
            if weights is None:
                weights = [1.0] * count
            elif isinstance(weights, float):
                weights = list(array("f", [weights])) * count  # as whoosh reads it: through a float32 array
            else:
                weights = list(weights)
            if len(ids) != count or len(weights) != count:
                raise Unreadable(f"a posting block of {field}:{text!r} has the wrong length")
            yield ids, weights
            if length < 0:  # the last block
                return
            pos = end

    def expand(self, field: str, prefix: bytes):
        try:
            yield from self.terms.field_terms(field, prefix)
        except (Unreadable, struct.error, ValueError, IndexError) as e:
            raise self._damaged(f"the terms of {field}", e) from None

    # per-document columns (codec.whoosh3.W3PerDocReader, columns)

    def field_lengths(self, field: str) -> bytes:
        """Each document's encoded length of ``field`` (one byte, 0 for none): the _<field>_len column."""
        raw = self._lengths.get(field)
        if raw is None:
            where = self._extent(f"._{field}_len.col")
            raw = b"" if where is None else bytes(self.buf[where[0]:where[0] + min(where[1], self.doc_count)])
            raw = self._lengths[field] = raw + bytes(self.doc_count - len(raw))
        return raw

    def positions(self) -> list[int]:
        """The ``pos`` column (a sortable NUMERIC), as whoosh's column reader gives it."""
        spec = self._fields["pos"]
        start, length = self._extent(".pos.col") or (0, 0)
        size = array(spec["typecode"]).itemsize
        count = min(length // size, self.doc_count)
        shift = spec["shift"]
        try:
            values = [v - shift for v in _array(self.buf, spec["typecode"], start, count)]
        except (Unreadable, ValueError) as e:
            raise self._damaged("the claims' positions", e) from None
        return values + [spec["default"] - shift] * (self.doc_count - count)

    def stored(self, docnum: int) -> dict:
        """One document's stored fields: the _stored column, zlib-compressed pickles (VarBytesColumn layout)."""
        try:
            if self._stored is None:
                self._stored = self._stored_layout()
            base, offsets, lengths = self._stored
            length = lengths[docnum]
            if not length:
                return {}
            start = base + offsets[docnum]
            value = _loads(zlib.decompress(self.buf[start:start + length]))
        except (Unreadable, struct.error, zlib.error, ValueError, TypeError) as e:
            raise self._damaged(f"the stored fields of document {docnum}", e) from None
        if not isinstance(value, dict):
            raise self._damaged(f"the stored fields of document {docnum}", TypeError("not a mapping"))
        return value

    def _stored_layout(self) -> tuple[int, array, array]:
        where = self._extent("._stored.col")
        if where is None:
            raise Unreadable("the segment has no stored fields")
        base, length = where
        buf, count = self.buf, self.doc_count
        last = base + length - 1
        code = chr(buf[last])
        offsets = None
        if code == "X":  # offsets written too
            code, offsets_code = chr(buf[last - 2]), chr(buf[last - 1])
            start = (last - 2) - count * array(offsets_code).itemsize
            offsets = _array(buf, offsets_code, start, count)
            last = start
        lengths = _array(buf, code, last - array(code).itemsize * count, count)
        if offsets is None:
            offsets = array("q", accumulate(lengths, initial=0))
        return base, offsets, lengths


class WhooshFiles:
    """The segments of a whoosh index, and the statistics its searcher would give (whoosh.searching.Searcher)."""

    def __init__(self, folder: Path, manifest: dict) -> None:
        toc = manifest["toc"]  # not read here, but whoosh's index is not whole without it
        if (folder / toc["file"]).stat().st_size != toc["size"]:
            raise Unreadable(f"{folder / toc['file']} is not the size the index recorded")
        self.fields: dict = manifest["fields"]
        self.B, self.K1, self.field_B = manifest["B"], manifest["K1"], manifest["field_B"]
        self.byte_lengths: list[int] = manifest["byte_lengths"]  # whoosh stores a field's length in one byte
        if len(self.byte_lengths) != 256:
            raise ValueError("byte_lengths is not a table of 256")
        self.segments: list[Segment] = []
        offset = 0
        for entry in manifest["segments"]:
            self.segments.append(Segment(folder, entry, offset, self.fields))
            offset += entry["doc_count"]
        self.doc_count_all = offset
        self.starts = [s.offset for s in self.segments]
        self.field_length = {f: sum(e["field_lengths"].get(f, 0) for e in manifest["segments"]) for f in self.fields}

    def scorable(self, field: str) -> bool:
        return self.fields[field]["scorable"]

    def doc_frequency(self, field: str, text: str) -> int:
        b = text.encode("utf-8")
        return sum(s.doc_frequency(field, b) for s in self.segments)

    def idf(self, field: str, text: str) -> float:
        """whoosh.scoring.WeightingModel.idf."""
        return log(self.doc_count_all / (self.doc_frequency(field, text) + 1)) + 1

    def avg_field_length(self, field: str) -> float:
        """whoosh.searching.Searcher.avg_field_length (then BM25FScorer's ``or 1``)."""
        return self.field_length.get(field, 0) / (self.doc_count_all or 1) or 1

    def docs(self, field: str, text: str) -> set[int]:
        b = text.encode("utf-8")
        out: set[int] = set()
        for s in self.segments:
            for ids, _ in s.postings(field, b):
                out.update(ids if not s.offset else [s.offset + d for d in ids])
        return out

    def stored(self, docnum: int) -> dict:
        i = bisect_right(self.starts, docnum) - 1
        if i < 0 or docnum >= self.doc_count_all:
            raise IndexError(f"no document {docnum} in this index")
        return self.segments[i].stored(docnum - self.starts[i])

    def positions(self) -> list[int]:
        return [p for s in self.segments for p in s.positions()]

    def terms_with_prefix(self, field: str, prefix: str):
        """The terms of ``field`` starting with ``prefix``, in order, each once (whoosh's MultiReader merges)."""
        import heapq

        b = prefix.encode("utf-8")
        streams = [s.expand(field, b) for s in self.segments]
        last = None
        for term in (streams[0] if len(streams) == 1 else heapq.merge(*streams)):
            if term != last:
                yield term.decode("utf-8")
                last = term


def open_files(folder: Path) -> WhooshFiles | None:
    """The index's files, or None when it has no manifest this reader knows (whoosh's own reader is used)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None
    try:
        return WhooshFiles(folder, manifest)
    except (OSError, KeyError, TypeError, IndexError, ValueError, struct.error) as e:
        raise Unreadable(f"the index's files do not match its manifest ({e})") from None


def describe(ix) -> dict | None:
    """What a query needs to read ``ix`` (an open whoosh index) that its files do not say; None when this reader
    cannot read it. Called once the index is written, with whoosh imported."""
    import whoosh
    from whoosh import fields as wfields
    from whoosh import scoring
    from whoosh.codec.whoosh3 import W3Codec, W3Segment
    from whoosh.index import TOC
    from whoosh.util.numeric import byte_to_length

    if not whoosh.versionstring().startswith(WHOOSH_VERSIONS):
        return None
    segments = ix._segments()
    if not all(type(s) is W3Segment and type(s.codec()) is W3Codec and s.compound and not s.has_deletions()
               for s in segments):
        return None
    with ix.searcher() as searcher:
        weighting = searcher.weighting
    if type(weighting) is not scoring.BM25F:
        return None
    schema = ix.schema
    fields: dict[str, dict] = {}
    for name in schema.names():
        field = schema[name]
        if isinstance(field, wfields.NUMERIC):
            if field.numtype is not int or field.decimal_places or not field.column_type:
                return None
            fields[name] = {"scorable": False, "typecode": field.column_type._typecode,
                            "default": field.column_type._default,
                            "shift": 1 << (field.bits - 1) if field.signed else 0}
        elif type(field).to_bytes is wfields.FieldType.to_bytes or isinstance(field, wfields.STORED):
            fields[name] = {"scorable": bool(field.scorable)}
        else:
            return None
    if "pos" not in fields or "typecode" not in fields["pos"]:
        return None
    toc = TOC._filename(ix.indexname, ix.latest_generation())
    return {"format": FORMAT, "whoosh": whoosh.versionstring(), "B": weighting.B, "K1": weighting.K1,
            "toc": {"file": toc, "size": ix.storage.file_length(toc)},
            "field_B": dict(weighting._field_B), "byte_lengths": [byte_to_length(b) for b in range(256)],
            "fields": fields,
            "segments": [{"file": s.make_filename(".seg"), "size": ix.storage.file_length(s.make_filename(".seg")),
                          "doc_count": s.doc_count_all(), "field_lengths": dict(s._fieldlengths)}
                         for s in segments]}
