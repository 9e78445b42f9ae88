/// Bytes written on the webhook's hot path (JSON, base64): an append is a capacity check and a copy.
///
/// Writing a response into `[UInt8]` paid a uniqueness check and a generic copy on every append, about a
/// third of encoding a pod's AdmissionReview response; this owns its storage outright, so it cannot be
/// shared and needs neither.
struct ByteWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Makes room for `n` more bytes.
    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count &+ n > capacity { grow(to: count + n) }
    }

    private mutating func grow(to needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count &+= 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let start = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).update(from: start, count: bytes.count)
        count &+= bytes.count
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// `text`'s UTF-8, as it is (no JSON escaping).
    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append($0) }
    }

    /// Appends `n` bytes written by `body` into the space for them; `body` gets exactly `n` bytes.
    mutating func append(count n: Int, _ body: (UnsafeMutableBufferPointer<UInt8>) -> Void) {
        reserve(n)
        body(UnsafeMutableBufferPointer(start: base + count, count: n))
        count &+= n
    }

    /// The bytes written so far, valid for the call.
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// The bytes written, as an array.
    var bytes: [UInt8] { withBytes { Array($0) } }
}
