/// One file or directory found on a FAT volume by `FATFileSystemReader`.
public struct FATEntry: Sendable, Hashable {
    /// `/`-separated path without a leading slash, as written (long name when present).
    public var path: String
    public var size: UInt64
    public var isDirectory: Bool
    /// First cluster of the entry's chain (0 for an empty file).
    public var firstCluster: UInt32
}

/// Reads a FAT volume (FAT32, and the FAT12/16 of El Torito EFI images such as Talos's) inside an image or
/// device without mounting it: `media verify` checks boot media with it, `media build` takes the boot loader
/// from a Talos ISO's EFI image with it, and the tests read back what `FAT32Volume` wrote. The FAT type
/// follows from the cluster count, as the specification says. Opening validates the boot sector (and, on
/// FAT32, its backup and the FSInfo signatures) and that the FATs agree; errors name the byte offset (from
/// the start of `fd`) of the first damaged byte.
public struct FATFileSystemReader: Sendable {
    public let fd: Int32
    public let offset: UInt64
    public let size: UInt64
    /// 12, 16 or 32.
    public let fatType: Int
    public let sectorsPerCluster: UInt64
    public let fatSectors: UInt64
    public let numberOfFATs: UInt64
    public let reservedSectors: UInt64
    public let clusterCount: UInt64
    /// The root directory's first cluster on FAT32; 0 on FAT12/16, whose root is a fixed region.
    public let rootCluster: UInt32
    public let volumeID: UInt32
    let rootEntryCount: UInt64
    let bootLabel: String
    /// Each cluster's FAT entry; end-of-chain markers of every FAT type read as 0x0FFFFFFF.
    let fat: [UInt32]

    var clusterBytes: UInt64 { sectorsPerCluster * 512 }
    var fatOffset: UInt64 { offset + reservedSectors * 512 }
    var rootRegionOffset: UInt64 { fatOffset + numberOfFATs * fatSectors * 512 }
    var dataOffset: UInt64 { rootRegionOffset + (rootEntryCount * 32 + 511) / 512 * 512 }
    /// Byte offset of cluster `c`'s entry in the first FAT (for error messages).
    func fatEntryOffset(_ c: UInt32) -> UInt64 { fatOffset + UInt64(c) * UInt64(fatType) / 8 }

    public init(fd: Int32, offset: UInt64, size: UInt64) throws {
        self.fd = fd; self.offset = offset; self.size = size
        let boot = try ByteIO.preadAll(fd, count: 512, at: offset, what: "FAT boot sector")
        func bad(_ at: Int, _ why: String) -> MediaError { .corrupt("FAT boot sector", offset: offset + UInt64(at), reason: why) }
        guard boot[510] == 0x55, boot[511] == 0xAA else { throw bad(510, "missing 0x55AA signature") }
        guard ByteIO.get16(boot, 11) == 512 else { throw bad(11, "bytes per sector is \(ByteIO.get16(boot, 11)), expected 512") }
        let spc = UInt64(boot[13])
        guard spc > 0, spc & (spc - 1) == 0, spc <= 128 else { throw bad(13, "sectors per cluster \(spc) is not a power of two") }
        let reserved = UInt64(ByteIO.get16(boot, 14))
        guard reserved >= 1 else { throw bad(14, "reserved sector count is 0") }
        let fats = UInt64(boot[16])
        guard fats == 1 || fats == 2 else { throw bad(16, "\(boot[16]) FATs, expected 1 or 2") }
        let rootEntries = UInt64(ByteIO.get16(boot, 17))
        let total16 = UInt64(ByteIO.get16(boot, 19)), fat16Size = UInt64(ByteIO.get16(boot, 22))
        let total = total16 != 0 ? total16 : UInt64(ByteIO.get32(boot, 32))
        let totalAt = total16 != 0 ? 19 : 32
        guard total > 0, total * 512 <= size else {
            throw bad(totalAt, "total sectors \(total) (\(total * 512) bytes) exceed the \(size) bytes available")
        }
        let fatSectors = fat16Size != 0 ? fat16Size : UInt64(ByteIO.get32(boot, 36))
        let fatSizeAt = fat16Size != 0 ? 22 : 36
        let metaSectors = reserved + fats * fatSectors + (rootEntries * 32 + 511) / 512
        guard fatSectors > 0, metaSectors < total else { throw bad(fatSizeAt, "FAT size \(fatSectors) sectors does not fit") }
        let clusters = (total - metaSectors) / spc
        let type = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32
        guard fatSectors * 512 * 8 / UInt64(type) >= clusters + 2 else {
            throw bad(fatSizeAt, "FAT of \(fatSectors) sectors cannot map \(clusters) clusters")
        }
        var root: UInt32 = 0
        if type == 32 {
            guard rootEntries == 0, total16 == 0, fat16Size == 0 else { throw bad(17, "FAT12/16 fields set on a volume of \(clusters) clusters (FAT32)") }
            root = ByteIO.get32(boot, 44)
            guard root >= 2, UInt64(root) < clusters + 2 else { throw bad(44, "root cluster \(root) out of range") }
            guard boot[66] == 0x29 else { throw bad(66, "extended boot signature is not 0x29") }
            try Self.checkFAT32ReservedArea(fd: fd, offset: offset, boot: boot, reserved: reserved)
        } else {
            guard rootEntries > 0 else { throw bad(17, "no root directory entries on a volume of \(clusters) clusters (FAT\(type))") }
            guard fat16Size != 0 else { throw bad(22, "FAT size is not in the 16-bit field on a volume of \(clusters) clusters (FAT\(type))") }
        }

        // Every FAT, compared byte for byte with the first.
        let fatBytes = Int(fatSectors * 512)
        let fatAt = offset + reserved * 512
        let fat1 = try ByteIO.preadAll(fd, count: fatBytes, at: fatAt, what: "FAT 1")
        if fats == 2 {
            let fat2 = try ByteIO.preadAll(fd, count: fatBytes, at: fatAt + UInt64(fatBytes), what: "FAT 2")
            if fat1 != fat2, let i = (0..<fatBytes).first(where: { fat1[$0] != fat2[$0] }) {
                throw MediaError.corrupt("FAT 2", offset: fatAt + UInt64(fatBytes + i),
                                         reason: "differs from FAT 1 (byte offset \(fatAt + UInt64(i))) in the entry of cluster \(i * 8 / type)")
            }
        }
        guard fat1[0] == boot[21] else { throw MediaError.corrupt("FAT 1", offset: fatAt, reason: "media byte \(fat1[0]) differs from the boot sector's \(boot[21])") }
        var entries = [UInt32](repeating: 0, count: Int(clusters + 2))
        for i in entries.indices {
            switch type {
            case 32:
                entries[i] = ByteIO.get32(fat1, i * 4) & 0x0FFF_FFFF
            case 16:
                let e = UInt32(ByteIO.get16(fat1, i * 2))
                entries[i] = e >= 0xFFF8 ? 0x0FFF_FFFF : e
            default:
                let pair = UInt32(fat1[i * 3 / 2]) | UInt32(fat1[i * 3 / 2 + 1]) << 8
                let e = i & 1 == 0 ? pair & 0xFFF : pair >> 4
                entries[i] = e >= 0xFF8 ? 0x0FFF_FFFF : e
            }
        }

        fatType = type; sectorsPerCluster = spc; self.fatSectors = fatSectors; numberOfFATs = fats; reservedSectors = reserved
        clusterCount = clusters; rootCluster = root; rootEntryCount = rootEntries
        // The extended boot record (signature 0x29) holds the volume ID and label: at 67 and 71 on FAT32,
        // at 39 and 43 on FAT12/16.
        let ext = type == 32 ? 64 : 36
        if boot[ext + 2] == 0x29 {
            volumeID = ByteIO.get32(boot, ext + 3)
            bootLabel = String(decoding: boot[(ext + 7)..<(ext + 18)], as: UTF8.self).trimmingSpaces()
        } else {
            volumeID = 0; bootLabel = ""
        }
        fat = entries
    }

    /// FAT32's reserved area: the FSInfo sector's signatures, and the backup boot sector equal to the boot sector.
    static func checkFAT32ReservedArea(fd: Int32, offset: UInt64, boot: [UInt8], reserved: UInt64) throws {
        func bad(_ at: Int, _ why: String) -> MediaError { .corrupt("FAT boot sector", offset: offset + UInt64(at), reason: why) }
        let fsinfoSector = UInt64(ByteIO.get16(boot, 48))
        let backupSector = UInt64(ByteIO.get16(boot, 50))
        guard fsinfoSector > 0, fsinfoSector < reserved else { throw bad(48, "FSInfo sector \(fsinfoSector) outside the reserved area") }
        if backupSector != 0 && backupSector != 0xFFFF {
            guard backupSector < reserved else { throw bad(50, "backup boot sector \(backupSector) outside the reserved area") }
            let backup = try ByteIO.preadAll(fd, count: 512, at: offset + backupSector * 512, what: "FAT32 backup boot sector")
            if let i = (0..<512).first(where: { boot[$0] != backup[$0] }) {
                throw MediaError.corrupt("FAT boot sector", offset: offset + UInt64(i),
                                         reason: "differs from its backup at sector \(backupSector) (byte offset \(offset + backupSector * 512 + UInt64(i)))")
            }
        }
        let info = try ByteIO.preadAll(fd, count: 512, at: offset + fsinfoSector * 512, what: "FAT32 FSInfo sector")
        let infoAt = offset + fsinfoSector * 512
        guard ByteIO.get32(info, 0) == 0x4161_5252 else { throw MediaError.corrupt("FAT32 FSInfo", offset: infoAt, reason: "bad lead signature") }
        guard ByteIO.get32(info, 484) == 0x6141_7272 else { throw MediaError.corrupt("FAT32 FSInfo", offset: infoAt + 484, reason: "bad structure signature") }
        guard ByteIO.get32(info, 508) == 0xAA55_0000 else { throw MediaError.corrupt("FAT32 FSInfo", offset: infoAt + 508, reason: "bad trail signature") }
    }

    /// The volume label: the root directory's label entry if present, else the boot sector's.
    public var label: String {
        if let l = try? rootLabel() { return l }
        return bootLabel == "NO NAME" ? "" : bootLabel
    }

    /// The clusters of the chain starting at `first`, checked for range errors and loops.
    func chain(_ first: UInt32, what: String) throws -> [UInt32] {
        var out: [UInt32] = []
        var c = first
        while true {
            guard c >= 2, UInt64(c) < clusterCount + 2 else {
                throw MediaError.corrupt("FAT chain of \(what)", offset: fatEntryOffset(out.last ?? 0), reason: "points to invalid cluster \(c)")
            }
            out.append(c)
            guard out.count <= Int(clusterCount) else {
                throw MediaError.corrupt("FAT chain of \(what)", offset: fatEntryOffset(c), reason: "loops")
            }
            let next = fat[Int(c)]
            if next >= 0x0FFF_FFF8 { return out }
            guard next != 0 else { throw MediaError.corrupt("FAT chain of \(what)", offset: fatEntryOffset(c), reason: "reaches a free cluster") }
            c = next
        }
    }

    /// Where a file's data starts, as a byte offset in `fd` (nil for an empty file): for messages that
    /// point a technician at the bytes.
    public func dataOffset(of entry: FATEntry) -> UInt64? { entry.firstCluster >= 2 ? clusterOffset(entry.firstCluster) : nil }

    /// Where cluster `c` starts; cluster 0 stands for FAT12/16's fixed root directory region.
    func clusterOffset(_ c: UInt32) -> UInt64 { c < 2 ? rootRegionOffset : dataOffset + UInt64(c - 2) * clusterBytes }

    /// Reads a whole directory's bytes (cluster 0: FAT12/16's root directory region).
    func directoryBytes(_ first: UInt32, what: String) throws -> [UInt8] {
        if first == 0 && fatType != 32 {
            return try ByteIO.preadAll(fd, count: Int(rootEntryCount * 32), at: rootRegionOffset, what: "root directory")
        }
        var out: [UInt8] = []
        for c in try chain(first, what: what) {
            out += try ByteIO.preadAll(fd, count: Int(clusterBytes), at: clusterOffset(c), what: "directory \(what)")
        }
        return out
    }

    struct RawEntry { var name: String; var attributes: UInt8; var cluster: UInt32; var size: UInt32 }

    /// Parses one directory: long names joined from valid LFN runs, deleted and `.`/`..` entries skipped.
    func parseDirectory(_ bytes: [UInt8], labelOnly: Bool = false) -> (entries: [RawEntry], label: String?) {
        var result: [RawEntry] = []
        var label: String?
        var lfnParts: [Int: [UInt16]] = [:]
        var lfnSum: UInt8?
        for at in stride(from: 0, to: bytes.count, by: 32) {
            let first = bytes[at]
            if first == 0 { break }
            if first == 0xE5 { lfnParts = [:]; continue }
            let attr = bytes[at + 11]
            if attr & 0x3F == 0x0F {
                if first & 0x40 != 0 { lfnParts = [:] }
                lfnSum = bytes[at + 13]
                var units: [UInt16] = []
                for s in [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30] { units.append(ByteIO.get16(bytes, at + s)) }
                lfnParts[Int(first & 0x1F)] = units
                continue
            }
            let short = Array(bytes[at..<at + 11])
            if attr & 0x08 != 0 {
                if attr & 0x10 == 0 { label = String(decoding: short, as: UTF8.self).trimmingSpaces() }
                lfnParts = [:]; continue
            }
            if short[0] == 0x2E { lfnParts = [:]; continue }
            var name = FATNames.displayShortName(short, ntFlags: bytes[at + 12])
            if !lfnParts.isEmpty, lfnSum == FATNames.checksum(short), Set(lfnParts.keys) == Set(1...lfnParts.count) {
                var units: [UInt16] = []
                for k in 1...lfnParts.count { units += lfnParts[k]! }
                if let end = units.firstIndex(of: 0) { units = Array(units[..<end]) }
                name = String(decoding: units, as: UTF16.self)
            }
            lfnParts = [:]
            let cluster = UInt32(ByteIO.get16(bytes, at + 20)) << 16 | UInt32(ByteIO.get16(bytes, at + 26))
            result.append(RawEntry(name: name, attributes: attr, cluster: cluster, size: ByteIO.get32(bytes, at + 28)))
        }
        return (result, label)
    }

    func rootLabel() throws -> String? {
        parseDirectory(try directoryBytes(rootCluster, what: "/")).label
    }

    /// Every file and directory on the volume, in directory order (depth first).
    public func entries() throws -> [FATEntry] {
        var out: [FATEntry] = []
        var visited = Set<UInt32>()
        func walk(_ cluster: UInt32, _ prefix: String) throws {
            guard visited.insert(cluster).inserted else {
                throw MediaError.corrupt("directory /\(prefix)", offset: clusterOffset(cluster), reason: "directory cycle")
            }
            for e in parseDirectory(try directoryBytes(cluster, what: "/" + prefix)).entries {
                let path = prefix.isEmpty ? e.name : prefix + "/" + e.name
                let isDir = e.attributes & 0x10 != 0
                out.append(FATEntry(path: path, size: isDir ? 0 : UInt64(e.size), isDirectory: isDir, firstCluster: e.cluster))
                if isDir { try walk(e.cluster, path) }
            }
        }
        try walk(rootCluster, "")
        return out
    }

    /// Finds one entry by path (case-insensitive, as FAT is).
    public func entry(_ path: String) throws -> FATEntry {
        let want = path.split(separator: "/").map { $0.uppercased() }
        var cluster = rootCluster
        var prefix = ""
        for (i, component) in want.enumerated() {
            guard let e = parseDirectory(try directoryBytes(cluster, what: "/" + prefix)).entries.first(where: { $0.name.uppercased() == component })
            else { throw MediaError.notFound(path) }
            prefix = prefix.isEmpty ? e.name : prefix + "/" + e.name
            let isDir = e.attributes & 0x10 != 0
            if i == want.count - 1 { return FATEntry(path: prefix, size: isDir ? 0 : UInt64(e.size), isDirectory: isDir, firstCluster: e.cluster) }
            guard isDir else { throw MediaError.notFound(path) }
            cluster = e.cluster
        }
        throw MediaError.notFound(path)
    }

    /// Streams the bytes of file `path` to `body` (contiguous clusters are read together, up to 4 MiB).
    /// The chain must be exactly as long as the file's size needs.
    public func readFile(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let e = try entry(path)
        guard !e.isDirectory else { throw MediaError.invalidPath(path, reason: "is a directory") }
        if e.size == 0 { return }
        let clusters = try chain(e.firstCluster, what: e.path)
        let needed = (e.size + clusterBytes - 1) / clusterBytes
        guard UInt64(clusters.count) == needed else {
            throw MediaError.corrupt("FAT chain of \(e.path)", offset: fatEntryOffset(e.firstCluster),
                                     reason: "has \(clusters.count) clusters; size \(e.size) needs \(needed)")
        }
        let maxRun = max(1, Int((4 << 20) / clusterBytes))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: maxRun * Int(clusterBytes), alignment: 4096)
        defer { buffer.deallocate() }
        var remaining = e.size
        var i = 0
        while i < clusters.count {
            var run = 1
            while run < maxRun, i + run < clusters.count, clusters[i + run] == clusters[i] + UInt32(run) { run += 1 }
            let bytes = Int(min(UInt64(run) * clusterBytes, remaining))
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<bytes])
            try ByteIO.preadAll(fd, chunk, at: clusterOffset(clusters[i]), what: "data of \(e.path)")
            try body(UnsafeRawBufferPointer(chunk))
            remaining -= UInt64(bytes)
            i += run
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
