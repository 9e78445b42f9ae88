#if canImport(Glibc)
import Glibc
#endif

extension ISOLayout {
    // MARK: pass 3: bytes

    func serialize(_ r: Record, in directory: Int, joliet: Bool) -> [UInt8] {
        let lba: Int, size: Int
        if r.isDirectory {
            lba = joliet ? jolietDirLBA[r.target]! : primaryDirLBA[r.target]!
            size = joliet ? jolietDirSize[r.target]! : primaryDirSize[r.target]!
        } else {
            lba = fileLBA[r.target]; size = Int(tree.nodes[r.target].size)
        }
        var b = [UInt8](repeating: 0, count: r.length)
        b[0] = UInt8(r.length)
        b.replaceSubrange(2..<10, with: Self.both32(UInt32(lba)))
        b.replaceSubrange(10..<18, with: Self.both32(UInt32(size)))
        b.replaceSubrange(18..<25, with: ISONames.recordDate(image.modificationTime))
        b[25] = r.isDirectory ? 0x02 : 0x00
        b.replaceSubrange(28..<32, with: Self.both16(1))
        b[32] = UInt8(r.name.count)
        b.replaceSubrange(33..<33 + r.name.count, with: r.name)
        var at = 33 + r.name.count + (r.name.count % 2 == 0 ? 1 : 0)
        b.replaceSubrange(at..<at + r.inline.count, with: r.inline)
        at += r.inline.count
        if let ce = r.continuation {
            let e = Self.entry("CE", Self.both32(UInt32(continuationLBA[directory]! + ce.sector)) + Self.both32(UInt32(ce.offset)) + Self.both32(UInt32(ce.bytes.count)))
            b.replaceSubrange(at..<at + 28, with: e)
        }
        return b
    }

    func directoryBytes(_ id: Int, joliet: Bool) -> [UInt8] {
        let records = joliet ? jolietRecords[id]! : primaryRecords[id]!
        var out = [UInt8](repeating: 0, count: joliet ? jolietDirSize[id]! : primaryDirSize[id]!)
        var pos = 0
        for r in records {
            if pos % Self.sector + r.length > Self.sector { pos = (pos / Self.sector + 1) * Self.sector }
            out.replaceSubrange(pos..<pos + r.length, with: serialize(r, in: id, joliet: joliet))
            pos += r.length
        }
        return out
    }

    func pathTable(joliet: Bool, bigEndian: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for entry in joliet ? jolietPathTable : primaryPathTable {
            let name = pathName(entry.id, joliet: joliet)
            var b = [UInt8](repeating: 0, count: 8 + name.count + name.count % 2)
            b[0] = UInt8(name.count)
            let lba = UInt32((joliet ? jolietDirLBA : primaryDirLBA)[entry.id]!)
            if bigEndian { ByteIO.put32BE(&b, 2, lba); ByteIO.put16BE(&b, 6, UInt16(entry.parent)) }
            else { ByteIO.put32(&b, 2, lba); ByteIO.put16(&b, 6, UInt16(entry.parent)) }
            b.replaceSubrange(8..<8 + name.count, with: name)
            out += b
        }
        return out
    }

    func volumeDescriptor(joliet: Bool) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.sector)
        b[0] = joliet ? 2 : 1
        ByteIO.put(&b, 1, "CD001", width: 5)
        b[6] = 1
        func text(_ at: Int, _ s: String, _ width: Int) {
            if joliet {
                let units = Array(s.utf16.prefix(width / 2))
                for i in 0..<(width / 2) { ByteIO.put16BE(&b, at + 2 * i, i < units.count ? units[i] : 0x20) }
            } else { ByteIO.put(&b, at, s, width: width) }
        }
        text(8, "", 32)
        text(40, image.volumeLabel, 32)
        b.replaceSubrange(80..<88, with: Self.both32(UInt32(totalSectors)))
        if joliet { b[88] = 0x25; b[89] = 0x2F; b[90] = 0x45 }   // "%/E": UCS-2 level 3
        b.replaceSubrange(120..<124, with: Self.both16(1))
        b.replaceSubrange(124..<128, with: Self.both16(1))
        b.replaceSubrange(128..<132, with: Self.both16(UInt16(Self.sector)))
        b.replaceSubrange(132..<140, with: Self.both32(UInt32(joliet ? jolietPTSize : primaryPTSize)))
        ByteIO.put32(&b, 140, UInt32(joliet ? lJoliet : lPrimary))
        ByteIO.put32BE(&b, 148, UInt32(joliet ? mJoliet : mPrimary))
        let rootRecord = Record(name: [0], target: 0, isDirectory: true, inline: [], continuation: nil)
        b.replaceSubrange(156..<190, with: serialize(rootRecord, in: 0, joliet: joliet))
        text(190, "", 128)
        text(318, "", 128)
        text(446, "", 128)
        text(574, "OUTPOST", 128)
        text(702, "", 37); text(739, "", 37); text(776, "", 37)
        let date = ISONames.volumeDate(image.modificationTime)
        b.replaceSubrange(813..<830, with: date)
        b.replaceSubrange(830..<847, with: date)
        b.replaceSubrange(847..<864, with: Array("0000000000000000".utf8) + [0])
        b.replaceSubrange(864..<881, with: date)
        b[881] = 1
        return b
    }

    func bootRecord() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.sector)
        ByteIO.put(&b, 1, "CD001", width: 5)
        b[6] = 1
        ByteIO.put(&b, 7, "EL TORITO SPECIFICATION", width: 32, pad: 0)
        ByteIO.put32(&b, 71, UInt32(bootCatalogLBA))
        return b
    }

    /// The El Torito catalog: a validation entry for platform 0xEF (UEFI) and one bootable,
    /// no-emulation default entry. The load size is in 512-byte sectors; an image over 32 MiB gets 0,
    /// which UEFI firmware (EDK2) reads as "to the end of the volume" since the field is only 16 bits.
    func bootCatalog() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.sector)
        b[0] = 1
        b[1] = 0xEF
        ByteIO.put(&b, 4, "OUTPOST", width: 24, pad: 0)
        b[30] = 0x55; b[31] = 0xAA
        var sum: UInt16 = 0
        for i in stride(from: 0, to: 32, by: 2) { sum &+= ByteIO.get16(b, i) }
        ByteIO.put16(&b, 28, 0 &- sum)
        b[32] = 0x88
        b[33] = 0
        let count = (image.bootImageSize + 511) / 512
        ByteIO.put16(&b, 38, count <= 0xFFFF ? UInt16(count) : 0)
        ByteIO.put32(&b, 40, UInt32(bootImageLBA))
        return b
    }

    /// A DOS partition table in the system area with one EFI System partition (type 0xEF) over the El
    /// Torito EFI image, so the same bytes written raw to a USB stick boot on UEFI firmware that looks only
    /// for a disk's partitions, not for El Torito, on USB disks (EDK2/OVMF looks for both). Talos's ISOs
    /// are hybrid for the same reason. Optical drives ignore the system area. CHS fields hold the "use
    /// LBA" marker.
    func hybridMBR() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 512)
        let entry = 446
        b[entry] = 0x00
        b[entry + 1] = 0xFE; b[entry + 2] = 0xFF; b[entry + 3] = 0xFF
        b[entry + 4] = 0xEF
        b[entry + 5] = 0xFE; b[entry + 6] = 0xFF; b[entry + 7] = 0xFF
        ByteIO.put32(&b, entry + 8, UInt32(bootImageLBA * (Self.sector / 512)))
        ByteIO.put32(&b, entry + 12, UInt32((image.bootImageSize + 511) / 512))
        b[510] = 0x55; b[511] = 0xAA
        return b
    }

    func write(to fd: Int32, progress: ((UInt64) -> Void)?) throws {
        let s = UInt64(Self.sector)
        guard ftruncate(fd, off_t(UInt64(totalSectors) * s)) == 0 else {
            throw MediaError.io("sizing the ISO image", offset: UInt64(totalSectors) * s, reason: ByteIO.errnoText())
        }
        if hasBoot { try ByteIO.pwriteAll(fd, hybridMBR(), at: 0, what: "hybrid MBR") }
        var vd = 16
        try ByteIO.pwriteAll(fd, volumeDescriptor(joliet: false), at: UInt64(vd) * s, what: "primary volume descriptor"); vd += 1
        if hasBoot { try ByteIO.pwriteAll(fd, bootRecord(), at: UInt64(vd) * s, what: "El Torito boot record"); vd += 1 }
        try ByteIO.pwriteAll(fd, volumeDescriptor(joliet: true), at: UInt64(vd) * s, what: "Joliet volume descriptor"); vd += 1
        var term = [UInt8](repeating: 0, count: Self.sector)
        term[0] = 255; ByteIO.put(&term, 1, "CD001", width: 5); term[6] = 1
        try ByteIO.pwriteAll(fd, term, at: UInt64(vd) * s, what: "volume descriptor terminator")
        if hasBoot { try ByteIO.pwriteAll(fd, bootCatalog(), at: UInt64(bootCatalogLBA) * s, what: "El Torito boot catalog") }
        try ByteIO.pwriteAll(fd, pathTable(joliet: false, bigEndian: false), at: UInt64(lPrimary) * s, what: "path table")
        try ByteIO.pwriteAll(fd, pathTable(joliet: false, bigEndian: true), at: UInt64(mPrimary) * s, what: "path table")
        try ByteIO.pwriteAll(fd, pathTable(joliet: true, bigEndian: false), at: UInt64(lJoliet) * s, what: "Joliet path table")
        try ByteIO.pwriteAll(fd, pathTable(joliet: true, bigEndian: true), at: UInt64(mJoliet) * s, what: "Joliet path table")
        for id in tree.breadthFirst() where continuationSectors[id]! > 0 {
            var continuation = [UInt8](repeating: 0, count: continuationSectors[id]! * Self.sector)
            for r in primaryRecords[id]! { if let ce = r.continuation {
                let at = ce.sector * Self.sector + ce.offset
                continuation.replaceSubrange(at..<at + ce.bytes.count, with: ce.bytes)
            } }
            try ByteIO.pwriteAll(fd, continuation, at: UInt64(continuationLBA[id]!) * s, what: "Rock Ridge continuation area of /\(tree.nodes[id].path)")
        }
        for id in tree.breadthFirst() {
            try ByteIO.pwriteAll(fd, directoryBytes(id, joliet: false), at: UInt64(primaryDirLBA[id]!) * s, what: "directory /\(tree.nodes[id].path)")
            try ByteIO.pwriteAll(fd, directoryBytes(id, joliet: true), at: UInt64(jolietDirLBA[id]!) * s, what: "Joliet directory /\(tree.nodes[id].path)")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        if let boot = image.efiBootImage {
            try SourceReader.copy(boot, size: image.bootImageSize, path: "EFI boot image", to: fd, at: UInt64(bootImageLBA) * s, buffer: buffer) { _ in }
        }
        var written: UInt64 = 0
        for id in tree.preOrder() where !tree.nodes[id].isDirectory && tree.nodes[id].size > 0 {
            let node = tree.nodes[id]
            try SourceReader.copy(node.source!, size: node.size, path: node.path, to: fd, at: UInt64(fileLBA[id]) * s, buffer: buffer) { n in
                written += n
                progress?(written)
            }
        }
    }
}
