import CZstd
import Foundation

/// Streaming, multithreaded zstd compression (libzstd) in front of another sink.
///
/// The worker count is fixed (not taken from the machine) so that the same input gives the same bytes
/// on every machine: packages must be reproducible.
public final class ZstdSink: ByteSink {
    private let next: ByteSink
    private let cctx: OpaquePointer
    private var outBuffer: [UInt8]
    private let context: String

    public static let fixedWorkers: Int32 = 4

    public init(next: ByteSink, level: Int32 = 3, context: String) throws {
        self.next = next
        self.context = context
        guard let c = ZSTD_createCCtx() else { throw ArchiveError.zstd("cannot create context", context: context) }
        cctx = c
        outBuffer = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level))
        try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, Self.fixedWorkers))
        try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1))
    }

    deinit { ZSTD_freeCCtx(cctx) }

    private func check(_ r: Int) throws {
        if ZSTD_isError(r) != 0 { throw ArchiveError.zstd(String(cString: ZSTD_getErrorName(r)), context: context) }
    }

    public func write(_ buf: UnsafeRawBufferPointer) throws {
        guard buf.count > 0 else { return }
        var input = ZSTD_inBuffer(src: buf.baseAddress, size: buf.count, pos: 0)
        while input.pos < input.size {
            _ = try drain(&input, mode: ZSTD_e_continue)
        }
    }

    private func drain(_ input: inout ZSTD_inBuffer, mode: ZSTD_EndDirective) throws -> Int {
        try outBuffer.withUnsafeMutableBytes { out in
            var output = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
            let remaining = ZSTD_compressStream2(cctx, &output, &input, mode)
            try check(remaining)
            if output.pos > 0 { try next.write(UnsafeRawBufferPointer(rebasing: out[0..<output.pos])) }
            return remaining
        }
    }

    public func finish() throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try drain(&input, mode: ZSTD_e_end) != 0 {}
        try next.finish()
    }
}
