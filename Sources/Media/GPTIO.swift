#if canImport(Glibc)
import Glibc
#endif

extension GPTDisk {
    /// The 128 × 128-byte partition entry array.
    func entryArray() -> [UInt8] {
        var a = [UInt8](repeating: 0, count: Self.entryCount * Self.entrySize)
        for (i, p) in partitions.enumerated() {
            let at = i * Self.entrySize
            // The GUIDs were validated in init.
            a.replaceSubrange(at..<at + 16, with: (try? Self.guidBytes(p.typeGUID, field: "")) ?? [])
            a.replaceSubrange(at + 16..<at + 32, with: (try? Self.guidBytes(p.uniqueGUID, field: "")) ?? [])
            ByteIO.put64(&a, at + 32, p.firstLBA)
            ByteIO.put64(&a, at + 40, p.lastLBA)
            ByteIO.put64(&a, at + 48, p.attributes)
            for (k, u) in p.name.utf16.enumerated() { ByteIO.put16(&a, at + 56 + 2 * k, u) }
        }
        return a
    }

    func header(currentLBA: UInt64, backupLBA: UInt64, entriesLBA: UInt64, entriesCRC: UInt32) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        ByteIO.put(&h, 0, "EFI PART", width: 8)
        ByteIO.put32(&h, 8, 0x0001_0000)
        ByteIO.put32(&h, 12, 92)
        ByteIO.put64(&h, 24, currentLBA)
        ByteIO.put64(&h, 32, backupLBA)
        ByteIO.put64(&h, 40, Self.firstUsableLBA)
        ByteIO.put64(&h, 48, lastUsableLBA)
        h.replaceSubrange(56..<72, with: (try? Self.guidBytes(diskGUID, field: "")) ?? [])
        ByteIO.put64(&h, 72, entriesLBA)
        ByteIO.put32(&h, 80, UInt32(Self.entryCount))
        ByteIO.put32(&h, 84, UInt32(Self.entrySize))
        ByteIO.put32(&h, 88, entriesCRC)
        ByteIO.put32(&h, 16, ByteIO.crc32(h[0..<92]))
        return h
    }

    func protectiveMBR() -> [UInt8] {
        var m = [UInt8](repeating: 0, count: 512)
        let p = 446
        m[p + 1] = 0x00; m[p + 2] = 0x02; m[p + 3] = 0x00   // CHS of LBA 1
        m[p + 4] = 0xEE
        m[p + 5] = 0xFF; m[p + 6] = 0xFF; m[p + 7] = 0xFF
        ByteIO.put32(&m, p + 8, 1)
        ByteIO.put32(&m, p + 12, UInt32(min(totalSectors - 1, 0xFFFF_FFFF)))
        m[510] = 0x55; m[511] = 0xAA
        return m
    }

    /// Writes the protective MBR, the primary header and entries, and the backup entries and header.
    /// A regular file shorter than the disk is extended; partition contents are not touched.
    public func write(to fd: Int32) throws {
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, UInt64(st.st_size) < sizeInBytes {
            guard ftruncate(fd, off_t(sizeInBytes)) == 0 else {
                throw MediaError.io("extending the disk image", offset: sizeInBytes, reason: ByteIO.errnoText())
            }
        }
        let entries = entryArray()
        let crc = ByteIO.crc32(entries)
        let backupEntriesLBA = totalSectors - 33
        try ByteIO.pwriteAll(fd, protectiveMBR(), at: 0, what: "protective MBR")
        try ByteIO.pwriteAll(fd, header(currentLBA: 1, backupLBA: totalSectors - 1, entriesLBA: 2, entriesCRC: crc),
                             at: 512, what: "primary GPT header")
        try ByteIO.pwriteAll(fd, entries, at: 1024, what: "primary GPT entries")
        try ByteIO.pwriteAll(fd, entries, at: backupEntriesLBA * 512, what: "backup GPT entries")
        try ByteIO.pwriteAll(fd, header(currentLBA: totalSectors - 1, backupLBA: 1, entriesLBA: backupEntriesLBA, entriesCRC: crc),
                             at: (totalSectors - 1) * 512, what: "backup GPT header")
    }

    /// Reads and verifies a GPT disk of `sizeInBytes` (the size the image should have): protective MBR,
    /// primary header and entries (signature, CRC-32s), and the backup header and entries, which must
    /// match the primary. Errors name the byte offset of the damaged structure.
    public static func read(fd: Int32, sizeInBytes: UInt64) throws -> GPTDisk {
        guard sizeInBytes % 512 == 0, sizeInBytes >= 68 * 512 else {
            throw MediaError.invalidField("disk size", value: "\(sizeInBytes)", reason: "a GPT disk is a multiple of 512 bytes and at least \(68 * 512)")
        }
        if let actual = ByteIO.size(of: fd), actual < sizeInBytes {
            throw MediaError.corrupt("disk image", offset: actual,
                                     reason: "ends after \(actual) bytes but the disk is \(sizeInBytes) bytes (truncated); the backup GPT header at byte offset \(sizeInBytes - 512) is missing")
        }
        let total = sizeInBytes / 512
        let mbr = try ByteIO.preadAll(fd, count: 512, at: 0, what: "protective MBR")
        guard mbr[510] == 0x55, mbr[511] == 0xAA else { throw MediaError.corrupt("protective MBR", offset: 510, reason: "missing 0x55AA signature") }
        guard mbr[446 + 4] == 0xEE else { throw MediaError.corrupt("protective MBR", offset: 450, reason: "first partition type is not 0xEE (not a GPT disk)") }

        let (primary, primaryEntries) = try readHeader(fd: fd, lba: 1, total: total, name: "primary GPT header")
        guard ByteIO.get64(primary, 32) == total - 1 else {
            throw MediaError.corrupt("primary GPT header", offset: 512 + 32,
                                     reason: "backup header LBA \(ByteIO.get64(primary, 32)) is not the disk's last LBA \(total - 1) (wrong size or truncated image)")
        }
        let (backup, backupEntries) = try readHeader(fd: fd, lba: total - 1, total: total, name: "backup GPT header")
        let backupAt = (total - 1) * 512
        for (at, len, what) in [(24, 8, "backup LBA"), (40, 8, "first usable LBA"), (48, 8, "last usable LBA"), (56, 16, "disk GUID"), (88, 4, "entries CRC")] {
            let a = at == 24 ? Array(primary[32..<40]) : Array(primary[at..<at + len])
            if a != Array(backup[at..<at + len]) {
                throw MediaError.corrupt("backup GPT header", offset: backupAt + UInt64(at), reason: "\(what) does not match the primary header")
            }
        }
        if primaryEntries != backupEntries, let i = primaryEntries.indices.first(where: { primaryEntries[$0] != backupEntries[$0] }) {
            throw MediaError.corrupt("backup GPT entries", offset: ByteIO.get64(backup, 72) * 512 + UInt64(i), reason: "differ from the primary entries")
        }

        var partitions: [GPTPartition] = []
        let size = Int(ByteIO.get32(primary, 84))
        for i in 0..<Int(ByteIO.get32(primary, 80)) {
            let at = i * size
            let e = Array(primaryEntries[at..<at + size])
            if e[0..<16].allSatisfy({ $0 == 0 }) { continue }
            var units: [UInt16] = []
            for k in 0..<36 { let u = ByteIO.get16(e, 56 + 2 * k); if u == 0 { break }; units.append(u) }
            partitions.append(GPTPartition(name: String(decoding: units, as: UTF16.self), typeGUID: guidString(e[0..<16]),
                                           uniqueGUID: guidString(e[16..<32]), firstLBA: ByteIO.get64(e, 32),
                                           lastLBA: ByteIO.get64(e, 40), attributes: ByteIO.get64(e, 48)))
        }
        let disk = GPTDisk(unchecked: guidString(primary[56..<72]), sizeInBytes: sizeInBytes, partitions: partitions)
        let last = total - 34
        for (i, p) in partitions.enumerated() where p.firstLBA < firstUsableLBA || p.lastLBA > last || p.lastLBA < p.firstLBA {
            throw MediaError.corrupt("GPT partition entry \(i + 1)", offset: 1024 + UInt64(i * size) + 32,
                                     reason: "LBA range \(p.firstLBA)-\(p.lastLBA) is outside the usable area")
        }
        return disk
    }

    init(unchecked diskGUID: String, sizeInBytes: UInt64, partitions: [GPTPartition]) {
        self.diskGUID = diskGUID; self.sizeInBytes = sizeInBytes; self.partitions = partitions
    }

    /// Reads and checks one header and the entry array it points to; returns both.
    static func readHeader(fd: Int32, lba: UInt64, total: UInt64, name: String) throws -> ([UInt8], [UInt8]) {
        let at = lba * 512
        let h = try ByteIO.preadAll(fd, count: 512, at: at, what: name)
        guard Array(h[0..<8]) == Array("EFI PART".utf8) else { throw MediaError.corrupt(name, offset: at, reason: "missing \"EFI PART\" signature") }
        let headerSize = Int(ByteIO.get32(h, 12))
        guard headerSize >= 92, headerSize <= 512 else { throw MediaError.corrupt(name, offset: at + 12, reason: "header size \(headerSize) is invalid") }
        var copy = Array(h[0..<headerSize])
        ByteIO.put32(&copy, 16, 0)
        let crc = ByteIO.crc32(copy)
        guard crc == ByteIO.get32(h, 16) else {
            throw MediaError.corrupt(name, offset: at, reason: "header CRC32 mismatch (stored \(hex(ByteIO.get32(h, 16))), computed \(hex(crc))): the header is damaged")
        }
        guard ByteIO.get64(h, 24) == lba else { throw MediaError.corrupt(name, offset: at + 24, reason: "says it is at LBA \(ByteIO.get64(h, 24)), found at \(lba)") }
        let count = Int(ByteIO.get32(h, 80)), size = Int(ByteIO.get32(h, 84))
        guard count > 0, count <= 1024, size >= 128, size % 8 == 0, size <= 1024 else {
            throw MediaError.corrupt(name, offset: at + 80, reason: "partition entry count \(count) or size \(size) is invalid")
        }
        let entriesLBA = ByteIO.get64(h, 72)
        guard entriesLBA < total else { throw MediaError.corrupt(name, offset: at + 72, reason: "entries LBA \(entriesLBA) is beyond the disk") }
        let entries = try ByteIO.preadAll(fd, count: count * size, at: entriesLBA * 512, what: "GPT entries of the \(name)")
        let ecrc = ByteIO.crc32(entries)
        guard ecrc == ByteIO.get32(h, 88) else {
            throw MediaError.corrupt("GPT partition entries (of the \(name))", offset: entriesLBA * 512,
                                     reason: "CRC32 mismatch (header says \(hex(ByteIO.get32(h, 88))), computed \(hex(ecrc))): the entries are damaged")
        }
        return (h, entries)
    }

    static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16, uppercase: true) }
}
