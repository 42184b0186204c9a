"""Reads Go runtime type descriptors out of a stripped, statically linked amd64 Go binary.

Why: the struct tags compiled into kubectl carry, for every Kubernetes API field, the protobuf
field number and wire type *and* the JSON name, `omitempty` and whether the Go field is a pointer.
The last two decide whether a zero value read off the wire appears in the JSON that the same Go
object would produce, and neither the generated.proto files nor the prost bindings record them.

Only the parts of the Go ABI (internal/abi/type.go, Go 1.22-1.24, amd64) that a walk over struct
types needs are decoded here.
"""

import struct

KIND_NAMES = {
    1: "bool", 2: "int", 3: "int8", 4: "int16", 5: "int32", 6: "int64", 7: "uint", 8: "uint8",
    9: "uint16", 10: "uint32", 11: "uint64", 12: "uintptr", 13: "float32", 14: "float64",
    17: "array", 18: "chan", 19: "func", 20: "interface", 21: "map", 22: "ptr", 23: "slice", 24: "string", 25: "struct",
}
TFLAG_UNCOMMON, TFLAG_EXTRA_STAR = 1, 2
ABI_TYPE_SIZE = 48
# Size of each kind's descriptor, i.e. where its uncommonType starts. Maps differ between the
# classic (Go <= 1.23) and swiss (Go >= 1.24) layouts; the caller says which.
KIND_DESCRIPTOR_SIZE = {
    "struct": 80, "ptr": 56, "slice": 56, "array": 72, "interface": 80, "chan": 64, "func": 56,
}


class GoType:
    """One decoded runtime type: kind, name, package path and the edges a walk follows."""

    def __init__(self, addr, kind, name, pkg_path):
        self.addr, self.kind, self.name, self.pkg_path = addr, kind, name, pkg_path
        self.elem = None  # ptr, slice, array, map value
        self.key = None  # map key
        self.fields = []  # struct: list of GoField

    def short_name(self):
        """The type's own name: runtime names carry the package's last element as a prefix."""
        return self.name.split(".", 1)[1] if "." in self.name else self.name

    def qualified(self):
        return f"{self.pkg_path}.{self.short_name()}"


class GoField:
    def __init__(self, name, tag, embedded, typ):
        self.name, self.tag, self.embedded, self.typ = name, tag, embedded, typ


class GoBinary:
    def __init__(self, path, swiss_maps):
        self.data = open(path, "rb").read()
        self.sections = self._read_sections()
        self.types_base = self.sections[".rodata"][0]
        self.map_descriptor_size = 120 if swiss_maps else 88
        self.cache = {}

    def _read_sections(self):
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2:
            raise ValueError("not a 64-bit ELF file")
        shoff = struct.unpack_from("<Q", d, 0x28)[0]
        entsize, count, strndx = struct.unpack_from("<HHH", d, 0x3A)
        raw = [struct.unpack_from("<IIQQQQ", d, shoff + i * entsize) for i in range(count)]
        names_off = raw[strndx][4]
        sections = {}
        for name_off, _typ, _flags, addr, off, size in raw:
            end = d.index(b"\0", names_off + name_off)
            sections[d[names_off + name_off:end].decode()] = (addr, off, size)
        return sections

    def offset(self, addr):
        for start, off, size in self.sections.values():
            if start and start <= addr < start + size:
                return off + addr - start
        raise KeyError(f"address {addr:#x} is in no section")

    def u8(self, addr):
        return self.data[self.offset(addr)]

    def u64(self, addr):
        return struct.unpack_from("<Q", self.data, self.offset(addr))[0]

    def i32(self, addr):
        return struct.unpack_from("<i", self.data, self.offset(addr))[0]

    def _varint(self, addr):
        value, shift = 0, 0
        while True:
            byte = self.u8(addr)
            addr += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, addr

    def name(self, addr):
        """Decodes an abi.Name: flags byte, varint length, bytes, then an optional tag."""
        flags = self.u8(addr)
        length, addr = self._varint(addr + 1)
        off = self.offset(addr)
        text = self.data[off:off + length].decode()
        tag = ""
        if flags & 2:
            tag_len, tag_addr = self._varint(addr + length)
            toff = self.offset(tag_addr)
            tag = self.data[toff:toff + tag_len].decode()
        return text, tag, bool(flags & 8)

    def typelinks(self):
        _addr, off, size = self.sections[".typelink"]
        return [self.types_base + o for o in struct.unpack_from(f"<{size // 4}i", self.data, off)]

    def type_at(self, addr):
        if addr in self.cache:
            return self.cache[addr]
        kind_code = self.u8(addr + 23) & 0x1F
        tflag = self.u8(addr + 20)
        kind = KIND_NAMES.get(kind_code, f"kind{kind_code}")
        name = self.name(self.types_base + self.i32(addr + 40))[0]
        if tflag & TFLAG_EXTRA_STAR:
            name = name[1:]
        pkg_path = ""
        if tflag & TFLAG_UNCOMMON:
            size = self._descriptor_size(kind)
            pkg_off = self.i32(addr + size)
            if pkg_off:
                pkg_path = self.name(self.types_base + pkg_off)[0]
        t = GoType(addr, kind, name, pkg_path)
        self.cache[addr] = t
        self._fill_edges(t)
        return t

    def _descriptor_size(self, kind):
        if kind == "map":
            return self.map_descriptor_size
        return KIND_DESCRIPTOR_SIZE.get(kind, ABI_TYPE_SIZE)

    def _fill_edges(self, t):
        a = t.addr
        if t.kind in ("ptr", "slice", "array"):
            t.elem = self.type_at(self.u64(a + 48))
        elif t.kind == "map":
            t.key = self.type_at(self.u64(a + 48))
            t.elem = self.type_at(self.u64(a + 56))
        elif t.kind == "struct":
            fields_ptr, count = self.u64(a + 56), self.u64(a + 64)
            for i in range(count):
                fa = fields_ptr + 24 * i
                fname, tag, embedded = self.name(self.u64(fa))
                t.fields.append(GoField(fname, tag, embedded, self.type_at(self.u64(fa + 8))))

    def named_structs(self):
        """Every named struct type reachable from the typelink table, by qualified name."""
        for addr in self.typelinks():
            self.type_at(addr)
        return {t.qualified(): t for t in self.cache.values() if t.kind == "struct" and t.pkg_path}
