/// CRC-32 (IEEE 802.3, the polynomial of Go's `crc32.ChecksumIEEE`), used by Zarf's name transforms.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    public static func checksum(_ string: String) -> UInt32 {
        var string = string
        return string.withUTF8 { checksum($0) }
    }

    /// The checksum of `ref.name` (`registry/repository`) without building it.
    public static func checksum(name ref: ImageReference) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        let table = Self.table
        func add(_ b: UInt8) { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        var (registry, repository) = (ref.registry, ref.repository)
        registry.withUTF8 { for b in $0 { add(b) } }
        add(UInt8(ascii: "/"))
        repository.withUTF8 { for b in $0 { add(b) } }
        return crc ^ 0xFFFF_FFFF
    }
}
