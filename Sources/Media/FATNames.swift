/// FAT directory-entry naming: which long names are legal, the generated 8.3 short names (with numeric
/// `~N` tails, unique per directory, deterministic), VFAT long-file-name (LFN) entries and their checksum.
enum FATNames {
    /// Characters allowed in a short (8.3) name besides A–Z and 0–9 (FAT spec, "Short name").
    static let shortSpecials = Set("$%'-_@~`!(){}^#&".utf8)
    /// Characters a long name may not contain (FAT spec, "Long name"); control characters are rejected earlier.
    static let longForbidden = Set("\"*/:<>?\\|".unicodeScalars)

    static func isShortChar(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || shortSpecials.contains(c)
    }

    /// Rules for one path component on a FAT volume (long name).
    static func validateLongName(_ name: String, path: String) throws {
        if let bad = name.unicodeScalars.first(where: { longForbidden.contains($0) }) {
            throw MediaError.invalidPath(path, reason: "FAT names cannot contain '\(bad)'")
        }
        if name.hasSuffix(".") || name.hasSuffix(" ") {
            throw MediaError.invalidPath(path, reason: "FAT names cannot end with a dot or a space")
        }
        if name.utf16.count > 255 {
            throw MediaError.invalidPath(path, reason: "component \"\(name.prefix(20))…\" is longer than 255 UTF-16 units")
        }
    }

    /// The volume label as the 11 bytes of the boot sector and root label entry; nil for no label.
    static func labelBytes(_ label: String) throws -> [UInt8]? {
        if label.isEmpty { return nil }
        let u = Array(label.utf8)
        guard u.count <= 11 else {
            throw MediaError.invalidField("FAT volume label", value: label, reason: "at most 11 characters")
        }
        for c in u where !(isShortChar(c) || c == 0x20) {
            let why = (c >= 0x61 && c <= 0x7A) ? "lowercase letters are not allowed (use \(label.uppercased()))"
                : "character '\(String(decoding: [c], as: UTF8.self))' is not allowed (A-Z 0-9 space $%'-_@~`!(){}^#&)"
            throw MediaError.invalidField("FAT volume label", value: label, reason: why)
        }
        guard u.first != 0x20 else { throw MediaError.invalidField("FAT volume label", value: label, reason: "cannot start with a space") }
        return u + [UInt8](repeating: 0x20, count: 11 - u.count)
    }

    /// If `name` is already a valid upper-case 8.3 name, its 11-byte form (so no LFN is needed).
    static func exactShortName(_ name: String) -> [UInt8]? {
        let u = Array(name.utf8)
        let parts = u.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count <= 2, let base = parts.first, !base.isEmpty, base.count <= 8 else { return nil }
        let ext = parts.count == 2 ? parts[1] : []
        guard ext.count <= 3, !(parts.count == 2 && ext.isEmpty) else { return nil }
        guard base.allSatisfy(isShortChar), ext.allSatisfy(isShortChar) else { return nil }
        return Array(base) + [UInt8](repeating: 0x20, count: 8 - base.count) + Array(ext) + [UInt8](repeating: 0x20, count: 3 - ext.count)
    }

    /// Assigns short names to the children of one directory (in the given, sorted order).
    /// Returns for each child its 11-byte short name and whether it needs LFN entries.
    static func assignShortNames(_ names: [String]) -> [(short: [UInt8], needsLFN: Bool)] {
        var used = Set<[UInt8]>()
        var result: [(short: [UInt8], needsLFN: Bool)] = Array(repeating: ([], false), count: names.count)
        // Exact 8.3 names first, so a generated name never takes one that is really present.
        var pending: [Int] = []
        for (i, n) in names.enumerated() {
            if let s = exactShortName(n), !used.contains(s) { used.insert(s); result[i] = (s, false) } else { pending.append(i) }
        }
        var nextTail: [[UInt8]: Int] = [:]
        for i in pending {
            let (base, ext, lossy) = basis(names[i])
            let plain = base + [UInt8](repeating: 0x20, count: 8 - base.count) + ext + [UInt8](repeating: 0x20, count: 3 - ext.count)
            if !lossy && !used.contains(plain) { used.insert(plain); result[i] = (plain, true); continue }
            let key = base + [0x2E] + ext
            var n = nextTail[key] ?? 1
            while true {
                let tail = Array("~\(n)".utf8)
                let b = Array(base.prefix(8 - tail.count)) + tail
                let candidate = b + [UInt8](repeating: 0x20, count: 8 - b.count) + ext + [UInt8](repeating: 0x20, count: 3 - ext.count)
                n += 1
                if !used.contains(candidate) { used.insert(candidate); result[i] = (candidate, true); break }
            }
            nextTail[key] = n
        }
        return result
    }

    /// The basis name of the FAT spec's short-name generation: upper case, no spaces or leading dots,
    /// illegal characters replaced by `_`, base ≤ 8 and extension ≤ 3 bytes. `lossy` if anything was lost.
    static func basis(_ name: String) -> (base: [UInt8], ext: [UInt8], lossy: Bool) {
        var lossy = false
        var chars: [UInt8] = []
        for s in name.unicodeScalars {
            if s == " " { lossy = true; continue }
            if s.isASCII {
                var c = UInt8(s.value)
                if c >= 0x61 && c <= 0x7A { c -= 0x20 }
                if c == 0x2E || isShortChar(c) { chars.append(c) } else { chars.append(0x5F); lossy = true }
            } else { chars.append(0x5F); lossy = true }
        }
        while chars.first == 0x2E { chars.removeFirst(); lossy = true }
        var base: [UInt8], ext: [UInt8] = []
        if let dot = chars.lastIndex(of: 0x2E) {
            base = Array(chars[..<dot]); ext = Array(chars[(dot + 1)...])
        } else { base = chars }
        if base.contains(0x2E) { base.removeAll { $0 == 0x2E }; lossy = true }
        if base.count > 8 { base = Array(base.prefix(8)); lossy = true }
        if ext.count > 3 { ext = Array(ext.prefix(3)); lossy = true }
        if base.isEmpty { base = [0x5F]; lossy = true }
        return (base, ext, lossy)
    }

    /// The checksum of a short name that every LFN entry of the same file carries.
    static func checksum(_ short: [UInt8]) -> UInt8 {
        var sum: UInt8 = 0
        for b in short { sum = ((sum & 1) << 7) &+ (sum >> 1) &+ b }
        return sum
    }

    /// The LFN entries for `name`, in on-disk order (last part first), each 32 bytes.
    static func lfnEntries(_ name: String, short: [UInt8]) -> [[UInt8]] {
        let units = Array(name.utf16)
        let count = (units.count + 12) / 13
        let sum = checksum(short)
        var entries: [[UInt8]] = []
        for seq in stride(from: count, through: 1, by: -1) {
            var e = [UInt8](repeating: 0, count: 32)
            e[0] = UInt8(seq) | (seq == count ? 0x40 : 0)
            e[11] = 0x0F
            e[13] = sum
            let slots = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30]
            for (k, at) in slots.enumerated() {
                let idx = (seq - 1) * 13 + k
                let v: UInt16 = idx < units.count ? units[idx] : (idx == units.count ? 0 : 0xFFFF)
                ByteIO.put16(&e, at, v)
            }
            entries.append(e)
        }
        return entries
    }

    /// The name spelled by an 11-byte short entry (`NAME.EXT`), honouring the NT lower-case flags.
    static func displayShortName(_ e: [UInt8], ntFlags: UInt8) -> String {
        var base = Array(e[0..<8]), ext = Array(e[8..<11])
        if base.first == 0x05 { base[0] = 0xE5 }
        while base.last == 0x20 { base.removeLast() }
        while ext.last == 0x20 { ext.removeLast() }
        if ntFlags & 0x08 != 0 { base = base.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 + 0x20 : $0 } }
        if ntFlags & 0x10 != 0 { ext = ext.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 + 0x20 : $0 } }
        let b = String(decoding: base, as: UTF8.self)
        return ext.isEmpty ? b : b + "." + String(decoding: ext, as: UTF8.self)
    }
}
