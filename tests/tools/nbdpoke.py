#!/usr/bin/env python3
"""nbdpoke.py - a scripted NBD client that can break the protocol on purpose
(tests/bats/attach.bats): the bad clients aoex attach must survive.

    nbdpoke.py SOCKET ACTION...

Actions, done in order, each printing one line where it has a result:

  hello            read the server's greeting, send the client flags
                   (fixed newstyle, no zeroes); prints "greeting ok"
  raw:HEX          send these bytes as they are
  list             NBD_OPT_LIST; prints "export NAME" per name, "list ok"
  go[:NAME]        NBD_OPT_GO (asks for the block size); prints
                   "go ok size=N flags=0xF" or "go error=0xE"
  opt:N            option N with no data; prints "opt N reply=0xR"
  req:TYPE:OFFSET:LEN[:FLAGS[:SEND]]
                   one request (TYPE read, write, flush, disc, trim, or a
                   number); a write sends SEND payload bytes (default LEN;
                   fewer: a truncated request), pattern 0x5a
  reply            read one simple reply; prints "reply error=E", and for
                   a successful read the data must follow (it is read and
                   checked for length)
  close            close the connection now
  eof              wait up to 5 s for the server to close; prints "eof" or
                   "no eof"
Exit status 0 unless the server broke the protocol (a bad magic or a short
read where a reply was due).
"""
import socket
import struct
import sys

MAGIC_INIT = 0x4E42444D41474943
MAGIC_OPT = 0x49484156454F5054
MAGIC_REP = 0x0003E889045565A9
MAGIC_REQ = 0x25609513
MAGIC_SIMPLE = 0x67446698
TYPES = {"read": 0, "write": 1, "disc": 2, "flush": 3, "trim": 4}


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError(f"connection closed after {len(b)} of {n} bytes")
        b += c
    return b


def opt_send(s, opt, data=b""):
    s.sendall(struct.pack(">QII", MAGIC_OPT, opt, len(data)) + data)


def opt_reply(s):
    magic, opt, typ, ln = struct.unpack(">QIII", recv_exact(s, 20))
    if magic != MAGIC_REP:
        raise ValueError(f"bad option reply magic {magic:#x}")
    return typ, recv_exact(s, ln)


def main():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    handle = 0
    pending = {}   # handle -> read length
    for act in sys.argv[2:]:
        word, _, arg = act.partition(":")
        if word == "hello":
            init, opt, flags = struct.unpack(">QQH", recv_exact(s, 18))
            if init != MAGIC_INIT or opt != MAGIC_OPT:
                raise ValueError("bad greeting")
            s.sendall(struct.pack(">I", 3))
            print("greeting ok")
        elif word == "raw":
            s.sendall(bytes.fromhex(arg))
        elif word == "list":
            opt_send(s, 3)
            while True:
                typ, data = opt_reply(s)
                if typ == 2:
                    n = struct.unpack(">I", data[:4])[0]
                    print("export " + data[4:4 + n].decode())
                    continue
                print("list ok" if typ == 1 else f"list error={typ:#x}")
                break
        elif word == "go":
            name = arg.encode()
            opt_send(s, 7, struct.pack(">I", len(name)) + name + struct.pack(">HH", 1, 3))
            size = flags = None
            while True:
                typ, data = opt_reply(s)
                if typ == 3 and struct.unpack(">H", data[:2])[0] == 0:
                    size, flags = struct.unpack(">QH", data[2:12])
                    continue
                if typ == 3:
                    continue
                if typ == 1:
                    print(f"go ok size={size} flags={flags:#x}")
                else:
                    print(f"go error={typ:#x}")
                break
        elif word == "opt":
            opt_send(s, int(arg, 0))
            typ, _ = opt_reply(s)
            print(f"opt {arg} reply={typ:#x}")
        elif word == "req":
            f = arg.split(":")
            typ = TYPES.get(f[0])
            typ = int(f[0], 0) if typ is None else typ
            off, ln = int(f[1], 0), int(f[2], 0)
            flags = int(f[3], 0) if len(f) > 3 and f[3] else 0
            handle += 1
            s.sendall(struct.pack(">IHHQQI", MAGIC_REQ, flags, typ, handle, off, ln))
            if typ == 1:
                send = int(f[4], 0) if len(f) > 4 else ln
                chunk = b"\x5a" * 65536
                while send > 0:
                    n = min(send, len(chunk))
                    s.sendall(chunk[:n])
                    send -= n
            elif typ == 0:
                pending[handle] = ln
        elif word == "reply":
            magic, err, h = struct.unpack(">IIQ", recv_exact(s, 16))
            if magic != MAGIC_SIMPLE:
                raise ValueError(f"bad reply magic {magic:#x}")
            ln = pending.pop(h, 0)
            if not err and ln:
                recv_exact(s, ln)
            print(f"reply error={err}")
        elif word == "close":
            s.close()
            return 0
        elif word == "eof":
            s.settimeout(5)
            try:
                while s.recv(65536):
                    pass
                print("eof")
            except ConnectionResetError:	# closed with our bytes unread
                print("eof")
            except socket.timeout:
                print("no eof")
        else:
            raise ValueError(f"unknown action {act}")
    s.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (EOFError, ValueError, OSError) as e:
        print(f"nbdpoke: {e}")
        sys.exit(1)
