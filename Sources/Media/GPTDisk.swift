import Crypto

/// One GPT partition entry. GUIDs are the usual text form (`C12A7328-F81F-11D2-BA4B-00A0C93EC93B`);
/// `lastLBA` is inclusive, as in the on-disk entry.
public struct GPTPartition: Sendable, Hashable {
    public var name: String
    public var typeGUID: String
    public var uniqueGUID: String
    public var firstLBA: UInt64
    public var lastLBA: UInt64
    public var attributes: UInt64

    public init(name: String, typeGUID: String, uniqueGUID: String, firstLBA: UInt64, lastLBA: UInt64, attributes: UInt64 = 0) {
        self.name = name; self.typeGUID = typeGUID; self.uniqueGUID = uniqueGUID
        self.firstLBA = firstLBA; self.lastLBA = lastLBA; self.attributes = attributes
    }

    public var sizeInBytes: UInt64 { (lastLBA - firstLBA + 1) * GPTDisk.sectorSize }
    public var offsetInBytes: UInt64 { firstLBA * GPTDisk.sectorSize }
}

/// A GUID partition table with its protective MBR, written by Outpost so a USB image can be assembled
/// as a plain file (no `sgdisk`, no loop devices). 512-byte sectors, 128 entries of 128 bytes, primary
/// header at LBA 1 with entries at LBA 2–33, backup entries and header at the end of the disk. Partitions
/// must start on a 1 MiB boundary (LBA multiple of 2048), lie inside the usable area and not overlap.
public struct GPTDisk: Sendable, Hashable {
    public static let sectorSize: UInt64 = 512
    public static let entryCount = 128
    public static let entrySize = 128
    public static let alignment: UInt64 = 2048
    /// LBA 0 (MBR) + 1 (header) + 32 (entries).
    public static let firstUsableLBA: UInt64 = 34

    public let diskGUID: String
    public let sizeInBytes: UInt64
    public let partitions: [GPTPartition]

    public var totalSectors: UInt64 { sizeInBytes / Self.sectorSize }
    public var lastUsableLBA: UInt64 { totalSectors - 34 }

    public init(diskGUID: String, sizeInBytes: UInt64, partitions: [GPTPartition]) throws {
        _ = try Self.guidBytes(diskGUID, field: "disk GUID")
        guard sizeInBytes % Self.sectorSize == 0 else {
            throw MediaError.invalidField("disk size", value: "\(sizeInBytes)", reason: "must be a multiple of 512")
        }
        guard sizeInBytes >= 4096 * Self.sectorSize else {
            throw MediaError.tooSmall("GPT disk", needed: 4096 * Self.sectorSize, available: sizeInBytes)
        }
        guard partitions.count <= Self.entryCount else {
            throw MediaError.invalidField("partition count", value: "\(partitions.count)", reason: "at most \(Self.entryCount)")
        }
        let last = sizeInBytes / Self.sectorSize - 34
        for (i, p) in partitions.enumerated() {
            let field = "partition \(i + 1) (\(p.name))"
            let type = try Self.guidBytes(p.typeGUID, field: "\(field) type GUID")
            guard type != [UInt8](repeating: 0, count: 16) else {
                throw MediaError.invalidField("\(field) type GUID", value: p.typeGUID, reason: "the zero GUID marks an unused entry")
            }
            _ = try Self.guidBytes(p.uniqueGUID, field: "\(field) unique GUID")
            guard p.name.utf16.count <= 36 else {
                throw MediaError.invalidField("\(field) name", value: p.name, reason: "at most 36 UTF-16 characters")
            }
            guard p.firstLBA % Self.alignment == 0 else {
                throw MediaError.invalidField("\(field) first LBA", value: "\(p.firstLBA)", reason: "must be a multiple of \(Self.alignment) (1 MiB)")
            }
            guard p.firstLBA >= Self.firstUsableLBA, p.lastLBA >= p.firstLBA, p.lastLBA <= last else {
                throw MediaError.invalidField("\(field) LBA range", value: "\(p.firstLBA)-\(p.lastLBA)",
                                              reason: "must lie within the usable LBAs \(Self.firstUsableLBA)-\(last)")
            }
            for (j, q) in partitions.enumerated() where j < i {
                if p.firstLBA <= q.lastLBA && q.firstLBA <= p.lastLBA {
                    throw MediaError.invalidField("\(field) LBA range", value: "\(p.firstLBA)-\(p.lastLBA)",
                                                  reason: "overlaps partition \(j + 1) (\(q.name)) at \(q.firstLBA)-\(q.lastLBA)")
                }
                if p.uniqueGUID.uppercased() == q.uniqueGUID.uppercased() {
                    throw MediaError.invalidField("\(field) unique GUID", value: p.uniqueGUID, reason: "same as partition \(j + 1)")
                }
            }
        }
        self.diskGUID = diskGUID.uppercased()
        self.sizeInBytes = sizeInBytes
        self.partitions = partitions.map {
            var p = $0; p.typeGUID = p.typeGUID.uppercased(); p.uniqueGUID = p.uniqueGUID.uppercased(); return p
        }
    }

    // MARK: GUIDs

    /// The 16 on-disk bytes of a GUID: the first three fields little-endian, the last two as written.
    static func guidBytes(_ text: String, field: String) throws -> [UInt8] {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.map(\.count) == [8, 4, 4, 4, 12] else {
            throw MediaError.invalidField(field, value: text, reason: "expected the form XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX")
        }
        var raw: [UInt8] = []
        let hex = Array(parts.joined().utf8)
        for i in stride(from: 0, to: 32, by: 2) {
            guard let b = UInt8(String(decoding: hex[i..<i + 2], as: UTF8.self), radix: 16) else {
                throw MediaError.invalidField(field, value: text, reason: "not hexadecimal")
            }
            raw.append(b)
        }
        return [raw[3], raw[2], raw[1], raw[0], raw[5], raw[4], raw[7], raw[6]] + Array(raw[8..<16])
    }

    static func guidString(_ b: ArraySlice<UInt8>) -> String {
        let b = Array(b)
        let raw = [b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]] + Array(b[8..<16])
        let hex = raw.map { let s = String($0, radix: 16, uppercase: true); return s.count == 1 ? "0" + s : s }.joined()
        let h = Array(hex)
        return [String(h[0..<8]), String(h[8..<12]), String(h[12..<16]), String(h[16..<20]), String(h[20..<32])].joined(separator: "-")
    }

    /// A version-4-shaped GUID derived from SHA-256 of `seed`: the same seed gives the same GUID, so
    /// images built from the same inputs are byte-identical.
    public static func deterministicGUID(_ seed: String) -> String {
        var d = Array(SHA256.hash(data: Array(seed.utf8)).prefix(16))
        d[6] = (d[6] & 0x0F) | 0x40
        d[8] = (d[8] & 0x3F) | 0x80
        let hex = d.map { let s = String($0, radix: 16, uppercase: true); return s.count == 1 ? "0" + s : s }.joined()
        let h = Array(hex)
        return [String(h[0..<8]), String(h[8..<12]), String(h[12..<16]), String(h[16..<20]), String(h[20..<32])].joined(separator: "-")
    }
}
