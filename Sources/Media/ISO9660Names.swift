/// Identifier rules of the three name spaces of an Outpost ISO: the ISO 9660 primary names (upper-case
/// d-characters, generated and unique per directory), Joliet names (UCS-2, ≤ 103 characters as
/// `mkisofs -joliet-long`), and the Rock Ridge NM names (the real name, ≤ 255 bytes), plus dates.
enum ISONames {
    static func isD(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F }

    /// Rules for one path component on the ISO (the Rock Ridge name is the real name).
    static func validate(_ name: String, path: String) throws {
        if name.utf8.count > 255 {
            throw MediaError.invalidPath(path, reason: "component \"\(name.prefix(20))…\" is longer than 255 bytes")
        }
    }

    /// The volume label: ≤ 32 characters of A–Z a–z 0–9 `_` `-` `.` (what blkid and Talos match on;
    /// the Joliet copy keeps the first 16, all its descriptor field holds).
    static func validateLabel(_ label: String) throws {
        guard !label.isEmpty else { throw MediaError.invalidField("ISO volume label", value: label, reason: "must not be empty") }
        guard label.utf8.count <= 32 else { throw MediaError.invalidField("ISO volume label", value: label, reason: "at most 32 characters") }
        for c in label.utf8 where !(isD(c) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x2E) {
            throw MediaError.invalidField("ISO volume label", value: label,
                                          reason: "character '\(String(decoding: [c], as: UTF8.self))' is not allowed (A-Z a-z 0-9 _ - .)")
        }
    }

    /// Unique ISO 9660 level-2 identifiers for the children of one directory, in the given order:
    /// files `NAME.EXT;1` (name + extension ≤ 30), directories `NAME` (≤ 31, no dot).
    static func primaryNames(_ names: [String], isDirectory: [Bool]) -> [[UInt8]] {
        var used = Set<[UInt8]>()
        var out: [[UInt8]] = []
        for (i, name) in names.enumerated() {
            var mapped = name.unicodeScalars.map { s -> UInt8 in
                guard s.isASCII else { return 0x5F }
                var c = UInt8(s.value)
                if c >= 0x61 && c <= 0x7A { c -= 0x20 }
                return c == 0x2E || isD(c) ? c : 0x5F
            }
            var base: [UInt8], ext: [UInt8] = []
            if isDirectory[i] {
                mapped = mapped.map { $0 == 0x2E ? 0x5F : $0 }
                base = Array(mapped.prefix(31))
            } else {
                if let dot = mapped.lastIndex(of: 0x2E), dot > 0 {
                    base = Array(mapped[..<dot]).map { $0 == 0x2E ? 0x5F : $0 }
                    ext = Array(mapped[(dot + 1)...].prefix(8))
                } else { base = mapped.map { $0 == 0x2E ? 0x5F : $0 } }
                base = Array(base.prefix(30 - ext.count - (ext.isEmpty ? 0 : 0)))
            }
            if base.isEmpty { base = [0x5F] }
            func compose(_ b: [UInt8]) -> [UInt8] { isDirectory[i] ? b : b + [0x2E] + ext + Array(";1".utf8) }
            var candidate = compose(base)
            var n = 1
            while used.contains(candidate) {
                let tail = Array("_\(n)".utf8)
                let limit = isDirectory[i] ? 31 : 30 - ext.count
                candidate = compose(Array(base.prefix(limit - tail.count)) + tail)
                n += 1
            }
            used.insert(candidate)
            out.append(candidate)
        }
        return out
    }

    /// Unique Joliet identifiers (UCS-2 big-endian bytes): characters Joliet forbids become `_`,
    /// names over 103 characters are cut and made unique with `~N`.
    static func jolietNames(_ names: [String]) -> [[UInt8]] {
        var used = Set<[UInt16]>()
        var out: [[UInt8]] = []
        for name in names {
            let units = name.unicodeScalars.flatMap { s -> [UInt16] in
                if s.value < 0x20 || "*/:;?\\".unicodeScalars.contains(s) { return [0x5F] }
                if s.value > 0xFFFF { return [0x5F] }   // UCS-2 has no surrogate pairs
                return [UInt16(s.value)]
            }
            var candidate = Array(units.prefix(103))
            var n = 1
            while used.contains(candidate) {
                let tail = Array("~\(n)".utf16)
                candidate = Array(units.prefix(103 - tail.count)) + tail
                n += 1
            }
            used.insert(candidate)
            out.append(candidate.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
        }
        return out
    }

    /// UTC calendar fields of a Unix time (days-from-civil inverse).
    static func civil(_ t: Int64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
        let secs = Int(t - days * 86400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (Int(y), Int(m), Int(d), secs / 3600, (secs % 3600) / 60, secs % 60)
    }

    /// The 7-byte directory-record date (UTC).
    static func recordDate(_ t: Int64) -> [UInt8] {
        let c = civil(t)
        return [UInt8(clamping: c.year - 1900), UInt8(c.month), UInt8(c.day), UInt8(c.hour), UInt8(c.minute), UInt8(c.second), 0]
    }

    /// The 17-byte volume-descriptor date `YYYYMMDDHHMMSScc` + zone (UTC).
    static func volumeDate(_ t: Int64) -> [UInt8] {
        let c = civil(t)
        func p(_ v: Int, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return Array((p(c.year, 4) + p(c.month, 2) + p(c.day, 2) + p(c.hour, 2) + p(c.minute, 2) + p(c.second, 2) + "00").utf8) + [0]
    }
}
