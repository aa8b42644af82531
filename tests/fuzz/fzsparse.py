"""The sparse input form of the container harnesses (fuzz_container,
fuzz_multi; see fz_container.h): "FZSP", the u64 size of the file, then
for each run of 512-byte sectors that are not all zero its offset (u64),
length (u32) and bytes, trailing zeros cut. A file that would not get
smaller is kept as it is (the harness takes both)."""
import struct


def sparse(b):
    out = bytearray(b"FZSP" + struct.pack("<Q", len(b)))
    i = 0
    while i < len(b):
        if not any(b[i:i + 512]):
            i += 512
            continue
        j = i
        while j < len(b) and any(b[j:j + 512]):
            j += 512
        chunk = b[i:j].rstrip(b"\0")
        out += struct.pack("<QI", i, len(chunk)) + chunk
        i = j
    return bytes(out) if len(out) < len(b) else bytes(b)
