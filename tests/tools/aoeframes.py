"""aoeframes.py - what the bats suites' Python snippets share: the frames
of an `aoex -v` dump, and crc8x4 written from its definition (not with
aoexd's code), to check the bytes aoexd sends.  A test tool, not installed."""


def frames(path):
    """[(what, bytes)] of the 'aoex: send/recv N bytes' dumps in path."""
    out, cur = [], None
    for line in open(path):
        if line.startswith('aoex: '):
            words = line.split()
            cur = bytearray() if words[1] in ('send', 'recv') else None
            if cur is not None:
                out.append((words[1], cur))
        elif cur is not None and line.startswith('  '):
            cur += bytes.fromhex(''.join(line.split()[1:]))
    return [(w, bytes(f)) for w, f in out]


def crc8x4(b):
    """Four interleaved reflected CRC-8s (poly 0xB2, start 0xFF) of b."""
    lanes = [0xFF] * 4
    for i, v in enumerate(b):
        c = lanes[i % 4] ^ v
        for _ in range(8):
            c = (c >> 1) ^ (0xB2 if c & 1 else 0)
        lanes[i % 4] = c
    return bytes(lanes)


def mac(m):
    return bytes.fromhex(m.replace(':', ''))
