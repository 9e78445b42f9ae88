/// Text for error and log lines, built by interpolation into bytes. Each piece is one out-of-line call,
/// which keeps the binary small (String interpolation inlines a lot of code at every use).
struct Message: ExpressibleByStringInterpolation {
    var bytes: Bytes

    init(stringLiteral s: StaticString) { bytes = Bytes(s) }
    init(stringInterpolation i: Interpolation) { bytes = i.bytes }
    init(_ bytes: Bytes) { self.bytes = bytes }

    struct Interpolation: StringInterpolationProtocol {
        typealias StringLiteralType = StaticString
        var bytes: Bytes

        init(literalCapacity: Int, interpolationCount: Int) {
            bytes = []
            bytes.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }
        @inline(never) mutating func appendLiteral(_ s: StaticString) { bytes.append(s) }
        @inline(never) mutating func appendInterpolation(_ n: Int) { bytes.append(decimal: n) }
        @inline(never) mutating func appendInterpolation(_ b: Bytes) { bytes.append(contentsOf: b) }
        @inline(never) mutating func appendInterpolation(_ m: Message) { bytes.append(contentsOf: m.bytes) }
        @inline(never) mutating func appendInterpolation(_ s: StaticString) { bytes.append(s) }
    }
}
