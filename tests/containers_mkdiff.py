# Differencing VHD and VHDX written from the specifications (no independent
# writer is at hand): child images over PARENT (a raw file), and the bytes
# a reader must return. Usage: mkdiff.py PARENT OUTDIR
import os, random, struct, sys, uuid
parent, out = sys.argv[1], sys.argv[2]
MiB = 1 << 20
size = 8 * MiB
par = open(parent, 'rb').read(size).ljust(size, b'\0')
r = random.Random(5)

def crc32c(b):
    # table-driven CRC-32C (Castagnoli)
    t = crc32c.t if hasattr(crc32c, 't') else None
    if t is None:
        t = []
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82f63b78 if c & 1 else c >> 1
            t.append(c)
        crc32c.t = t
    c = 0xffffffff
    for x in b:
        c = t[(c ^ x) & 0xff] ^ (c >> 8)
    return c ^ 0xffffffff

# ---- VHD differencing: 2 MiB blocks, MSB-first sector bitmaps ----
exp = bytearray(par)
bs = 2 * MiB
def vhd_sum(b):
    return (~sum(b)) & 0xffffffff
foot = bytearray(512)
foot[0:8] = b'conectix'
struct.pack_into('>IIQIIIIQQIII', foot, 8, 2, 0x00010000, 512, 0, 0x70792020,
                 0x00010000, 0x5769326b, size, size, 0x04000411, 4, 0)
foot[68:84] = uuid.UUID(int=r.getrandbits(128)).bytes
struct.pack_into('>I', foot, 64, vhd_sum(foot))
dyn = bytearray(1024)
dyn[0:8] = b'cxsparse'
struct.pack_into('>QQIII', dyn, 8, 0xffffffffffffffff, 1536, 0x00010000, 4, bs)
dyn[40:56] = uuid.UUID(int=r.getrandbits(128)).bytes
name = 'parent.raw'.encode('utf-16-be')
dyn[64:64 + len(name)] = name
struct.pack_into('>I', dyn, 36, vhd_sum(dyn))
bat = bytearray(b'\xff' * 512)
body = bytearray()
next_sector = (1536 + 512) // 512
for blk, rule in ((0, lambda s: s % 3 == 0), (2, lambda s: True)):
    bm = bytearray(512)
    data = bytearray(r.randbytes(bs))
    for s in range(bs // 512):
        if rule(s):
            bm[s // 8] |= 0x80 >> (s % 8)
            o = blk * bs + s * 512
            exp[o:o + 512] = data[s * 512:s * 512 + 512]
    struct.pack_into('>I', bat, 4 * blk, next_sector)
    body += bm + data
    next_sector += (512 + bs) // 512
open(os.path.join(out, 'diff.vhd'), 'wb').write(foot + dyn + bat + body + foot)
open(os.path.join(out, 'diff.vhd.expected'), 'wb').write(exp)

# ---- VHDX differencing: 1 MiB blocks, LSB-first sector bitmap ----
exp = bytearray(par)
bs = MiB
f = bytearray(7 * MiB + 3 * bs)
f[0:8] = b'vhdxfile'
for i, at in enumerate((64 * 1024, 128 * 1024)):
    h = bytearray(4096)
    h[0:4] = b'head'
    struct.pack_into('<Q', h, 8, i + 1)
    h[16:32] = r.randbytes(16)
    h[32:48] = r.randbytes(16)
    struct.pack_into('<HHIQ', h, 64, 0, 1, MiB, MiB)
    struct.pack_into('<I', h, 4, crc32c(h))
    f[at:at + 4096] = h
def g(s):
    return uuid.UUID(s).bytes_le
rt = bytearray(64 * 1024)
rt[0:4] = b'regi'
struct.pack_into('<I', rt, 8, 2)
rt[16:32] = g('2DC27766-F623-4200-9D64-115E9BFD4A08')
struct.pack_into('<QII', rt, 32, 2 * MiB, MiB, 1)
rt[48:64] = g('8B7CA206-4790-4B9A-B8FE-575F050F886E')
struct.pack_into('<QII', rt, 64, 3 * MiB, MiB, 1)
struct.pack_into('<I', rt, 4, crc32c(rt))
f[192 * 1024:256 * 1024] = rt
f[256 * 1024:320 * 1024] = rt
m = 3 * MiB
f[m:m + 8] = b'metadata'
items = [('CAA16737-FA36-4D43-B3B6-33F0AA44E76B', struct.pack('<II', bs, 2), 4),
         ('2FA54224-CD1B-4876-B211-5DBED83BF4B8', struct.pack('<Q', size), 6),
         ('8141BF1D-A96F-4709-BA47-F233A8FAAB5F', struct.pack('<I', 512), 6)]
struct.pack_into('<H', f, m + 10, len(items))
off = 64 * 1024
for i, (gid, val, flags) in enumerate(items):
    e = m + 32 + 32 * i
    f[e:e + 16] = g(gid)
    struct.pack_into('<III', f, e + 16, off, len(val), flags)
    f[m + off:m + off + len(val)] = val
    off += 4096
ratio = (1 << 23) * 512 // bs
nbat = ratio + 1
batv = [0] * nbat
blocks = [(0, 6, None), (1, 7, lambda s: s % 5 < 2), (2, 2, None), (3, 0, None),
          (4, 7, lambda s: s >= 1000)]
sbm = bytearray(MiB)
data_at = 4 * MiB
for blk, state, rule in blocks:
    if state in (6, 7):
        data = r.randbytes(bs)
        f[data_at:data_at + bs] = data
        batv[blk] = state | data_at
        for s in range(bs // 512):
            present = state == 6 or rule(s)
            if state == 7 and present:
                bit = blk * (bs // 512) + s
                sbm[bit // 8] |= 1 << (bit % 8)
            if present:
                o = blk * bs + s * 512
                exp[o:o + 512] = data[s * 512:s * 512 + 512]
        data_at += bs
    else:
        batv[blk] = state
        if state == 2:
            exp[blk * bs:(blk + 1) * bs] = bytes(bs)
f[data_at:data_at + MiB] = sbm
batv[ratio] = 6 | data_at
for i, v in enumerate(batv):
    struct.pack_into('<Q', f, 2 * MiB + 8 * i, v)
f = f[:data_at + MiB]
open(os.path.join(out, 'diff.vhdx'), 'wb').write(f)
open(os.path.join(out, 'diff.vhdx.expected'), 'wb').write(exp)
