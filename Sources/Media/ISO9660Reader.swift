import CArchive
#if canImport(Glibc)
import Glibc
#endif

/// One El Torito boot catalog entry.
public struct ISOBootEntry: Sendable, Hashable {
    /// 0x00 x86 BIOS, 0xEF UEFI (from the validation entry or the section header).
    public var platformID: UInt8
    public var bootable: Bool
    /// 0 = no emulation.
    public var mediaType: UInt8
    /// Sectors of 512 bytes the firmware loads (0: to the end of the volume, for UEFI).
    public var loadSectors: UInt16
    /// The image's first 2048-byte sector.
    public var imageLBA: UInt32
}

/// One file or directory of an ISO, as libarchive reads it (Rock Ridge names when present).
public struct ISOEntry: Sendable, Hashable {
    public var path: String
    public var size: UInt64
    public var isDirectory: Bool
}

/// Reads an ISO 9660 image for `media verify` and the tests: the volume descriptors and El Torito catalog
/// are parsed here (libarchive does not expose them); directory entries and file data come from
/// libarchive's iso9660 reader, an implementation independent of `ISO9660Image`.
public struct ISO9660Reader: Sendable {
    public let path: String
    /// The primary volume descriptor's volume identifier.
    public let volumeLabel: String
    /// The Joliet volume identifier (nil without Joliet).
    public let jolietVolumeLabel: String?
    /// Volume size in 2048-byte sectors.
    public let volumeSectors: UInt32
    public let bootEntries: [ISOBootEntry]

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MediaError.sourceFile(path, reason: ByteIO.errnoText()) }
        defer { close(fd) }
        let fileSize = ByteIO.size(of: fd) ?? 0
        var label = "", joliet: String?, sectors: UInt32 = 0, catalogLBA: UInt32?
        var lba: UInt64 = 16
        while true {
            let at = lba * 2048
            let d = try ByteIO.preadAll(fd, count: 2048, at: at, what: "ISO volume descriptor")
            guard Array(d[1..<6]) == Array("CD001".utf8) else {
                throw MediaError.corrupt("ISO volume descriptor \(lba - 16)", offset: at + 1, reason: "missing \"CD001\" (not an ISO 9660 image)")
            }
            switch d[0] {
            case 1:
                label = String(decoding: d[40..<72], as: UTF8.self).trimmingSpaces()
                sectors = ByteIO.get32(d, 80)
            case 2 where d[88] == 0x25 && d[89] == 0x2F:
                var units: [UInt16] = []
                for i in stride(from: 40, to: 72, by: 2) { units.append(UInt16(d[i]) << 8 | UInt16(d[i + 1])) }
                joliet = String(decoding: units, as: UTF16.self).trimmingSpaces()
            case 0 where String(decoding: d[7..<30], as: UTF8.self) == "EL TORITO SPECIFICATION":
                catalogLBA = ByteIO.get32(d, 71)
            case 255: break
            default: break
            }
            if d[0] == 255 { break }
            lba += 1
            guard lba < 64 else { throw MediaError.corrupt("ISO volume descriptors", offset: at, reason: "no terminator") }
        }
        guard sectors > 0 else { throw MediaError.corrupt("ISO primary volume descriptor", offset: 16 * 2048, reason: "missing") }
        if UInt64(sectors) * 2048 > fileSize {
            throw MediaError.corrupt("ISO image", offset: fileSize, reason: "ends after \(fileSize) bytes but the volume is \(UInt64(sectors) * 2048) bytes (truncated)")
        }
        volumeLabel = label; jolietVolumeLabel = joliet; volumeSectors = sectors
        bootEntries = try catalogLBA.map { try Self.readCatalog(fd: fd, lba: $0) } ?? []
    }

    /// Parses the boot catalog: validation entry (checksum, key bytes), default entry, section entries.
    static func readCatalog(fd: Int32, lba: UInt32) throws -> [ISOBootEntry] {
        let at = UInt64(lba) * 2048
        let c = try ByteIO.preadAll(fd, count: 2048, at: at, what: "El Torito boot catalog")
        guard c[0] == 1, c[30] == 0x55, c[31] == 0xAA else {
            throw MediaError.corrupt("El Torito validation entry", offset: at, reason: "header id or 0x55AA key bytes are wrong")
        }
        var sum: UInt16 = 0
        for i in stride(from: 0, to: 32, by: 2) { sum &+= ByteIO.get16(c, i) }
        guard sum == 0 else { throw MediaError.corrupt("El Torito validation entry", offset: at + 28, reason: "checksum does not add up to zero") }
        func entry(_ o: Int, platform: UInt8) -> ISOBootEntry {
            ISOBootEntry(platformID: platform, bootable: c[o] == 0x88, mediaType: c[o + 1] & 0x0F,
                         loadSectors: ByteIO.get16(c, o + 6), imageLBA: ByteIO.get32(c, o + 8))
        }
        var out = [entry(32, platform: c[1])]
        var o = 64
        while o + 32 <= 2048, c[o] == 0x90 || c[o] == 0x91 {
            let platform = c[o + 1], count = Int(ByteIO.get16(c, o + 2))
            let last = c[o] == 0x91
            o += 32
            for _ in 0..<count where o + 32 <= 2048 { out.append(entry(o, platform: platform)); o += 32 }
            if last { break }
        }
        return out
    }

    /// Streams the bytes of boot entry `index` (`loadSectors` × 512 bytes, or to the end of the volume).
    public func readBootImage(_ index: Int = 0, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let e = bootEntries[index]
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MediaError.sourceFile(path, reason: ByteIO.errnoText()) }
        defer { close(fd) }
        let start = UInt64(e.imageLBA) * 2048
        let size = e.loadSectors > 0 ? UInt64(e.loadSectors) * 512 : UInt64(volumeSectors) * 2048 - start
        let bytes = try ByteIO.preadAll(fd, count: Int(size), at: start, what: "El Torito boot image")
        try bytes.withUnsafeBytes { try body($0) }
    }

    /// Walks the image with libarchive, calling `visit` for each entry; `visit` may read the data.
    func walk(_ visit: (ISOEntry, OpaquePointer) throws -> Bool) throws {
        guard let a = archive_read_new() else { throw MediaError.io(path, offset: 0, reason: "archive_read_new failed") }
        defer { archive_read_free(a) }
        archive_read_support_format_iso9660(a)
        func fail() -> MediaError {
            MediaError.corrupt("ISO image \(path)", offset: UInt64(max(0, archive_filter_bytes(a, -1))),
                               reason: archive_error_string(a).map { String(cString: $0) } ?? "unreadable")
        }
        guard archive_read_open_filename(a, path, 1 << 20) == ARCHIVE_OK else { throw fail() }
        while true {
            var e: OpaquePointer?
            let rc = archive_read_next_header(a, &e)
            if rc == ARCHIVE_EOF { return }
            guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let entry = e else { throw fail() }
            var name = archive_entry_pathname_utf8(entry).map { String(cString: $0) }
                ?? archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            if name.hasPrefix("./") { name.removeFirst(2) }
            while name.hasSuffix("/") { name.removeLast() }
            if name.isEmpty || name == "." { continue }
            let isDir = archive_entry_filetype(entry) == 0o040000
            let info = ISOEntry(path: name, size: isDir ? 0 : UInt64(max(0, archive_entry_size(entry))), isDirectory: isDir)
            if try !visit(info, a) { return }
        }
    }

    /// Every file and directory, with Rock Ridge (or Joliet) names.
    public func entries() throws -> [ISOEntry] {
        var out: [ISOEntry] = []
        try walk { e, _ in out.append(e); return true }
        return out
    }

    /// Streams the bytes of file `path` to `body`.
    public func readFile(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var found = false
        try walk { e, a in
            guard e.path == path else { return true }
            guard !e.isDirectory else { throw MediaError.invalidPath(path, reason: "is a directory") }
            found = true
            let size = 1 << 20
            let buf = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            defer { buf.deallocate() }
            while true {
                let n = archive_read_data(a, buf, size)
                if n < 0 {
                    throw MediaError.corrupt("\(self.path): data of \(path)", offset: UInt64(max(0, archive_filter_bytes(a, -1))),
                                             reason: archive_error_string(a).map { String(cString: $0) } ?? "read error")
                }
                if n == 0 { break }
                try body(UnsafeRawBufferPointer(start: buf, count: n))
            }
            return false
        }
        guard found else { throw MediaError.notFound(path) }
    }
}
