"""Read and write Agent Forge model files (`model.bin`, format AFM1) with the standard library only.

Layout: b"AFM1", a little-endian u32 header length, a JSON header (architecture, one entry per
tensor with its encoding and byte range in the payload), then the payload (raw, or raw-deflated).
Encodings: `f32` (little-endian float32), `ternary` (per group one float32 scale, then signs in
{-1, 0, +1} packed five per byte), `codebook` (float32 centroids, a bitmap of non-zero weights,
then each non-zero's centroid index in ceil(log2 k) bits). See packages/forge/src/model/serialize.ts.
"""
import json
import math
import struct
import sys
import zlib
from array import array

MAGIC = b"AFM1"


def _f32(data, offset, n):
    a = array("f")
    a.frombytes(bytes(data[offset:offset + 4 * n]))
    if sys.byteorder != "little":
        a.byteswap()
    return a


def _ternary(payload, offset, n, group_size):
    groups = math.ceil(n / group_size)
    scales = _f32(payload, offset, groups)
    base = offset + groups * 4
    out = array("f", bytes(4 * n))
    for i in range(0, n, 5):
        v = payload[base + i // 5]
        for k in range(min(5, n - i)):
            out[i + k] = ((v % 3) - 1) * scales[(i + k) // group_size]
            v //= 3
    return out


def _codebook(payload, offset, n, k):
    centroids = _f32(payload, offset, k)
    bits = max(1, math.ceil(math.log2(k)))
    mask_at = offset + k * 4
    idx_at = mask_at + math.ceil(n / 8)
    out = array("f", bytes(4 * n))
    bit = 0
    for i in range(n):
        if not (payload[mask_at + (i >> 3)] >> (i & 7)) & 1:
            continue
        v = 0
        for b in range(bits):
            if (payload[idx_at + (bit >> 3)] >> (bit & 7)) & 1:
                v |= 1 << b
            bit += 1
        out[i] = centroids[v]
    return out


def load(path):
    """Returns (header, {tensor name: array('f') of dense values}) whatever the tensors' encodings."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != MAGIC:
        raise ValueError(f"{path} is not an agent-forge model file")
    (hl,) = struct.unpack_from("<I", data, 4)
    header = json.loads(data[8:8 + hl])
    payload = data[8 + hl:]
    if header["payload"] == "deflate":
        payload = zlib.decompress(payload, -15)
    tensors = {}
    for e in header["tensors"]:
        n = math.prod(e["shape"])
        if e["encoding"] == "f32":
            tensors[e["name"]] = _f32(payload, e["offset"], n)
        elif e["encoding"] == "ternary":
            tensors[e["name"]] = _ternary(payload, e["offset"], n, e["group_size"])
        elif e["encoding"] == "codebook":
            tensors[e["name"]] = _codebook(payload, e["offset"], n, e["codebook_size"])
        else:
            raise ValueError(f"tensor {e['name']}: unknown encoding {e['encoding']}")
    return header, tensors


def save(path, header, tensors, meta):
    """Writes every tensor as f32 with a raw-deflated payload (zeros compress: pruning shrinks the file)."""
    entries, parts, offset = [], [], 0
    for e in header["tensors"]:
        a = array("f", tensors[e["name"]])
        if sys.byteorder != "little":
            a.byteswap()
        b = a.tobytes()
        entries.append({"name": e["name"], "shape": e["shape"], "offset": offset, "bytes": len(b), "encoding": "f32"})
        parts.append(b)
        offset += len(b)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = c.compress(b"".join(parts)) + c.flush()
    out_header = {"format": "agent-forge-model", "version": 1, "arch": header["arch"], "payload": "deflate", "tensors": entries, "meta": meta}
    hj = json.dumps(out_header).encode()
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(hj)) + hj + payload)
