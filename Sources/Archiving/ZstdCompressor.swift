import CZstd
import Foundation

/// Streaming, multithreaded zstd compression (libzstd) in front of another sink.
///
/// Packages must be reproducible on every machine. libzstd's multithreaded mode gives the same bytes for
/// any worker count of 1 or more (only its single-threaded mode, 0 workers, differs), so the count follows
/// the machine's cores (at most 4) and is never 0; a test pins this.
public final class ZstdSink: ByteSink {
    private let next: ByteSink
    private let cctx: OpaquePointer
    private var outBuffer: [UInt8]
    private let context: String

    /// Workers for this machine: its active cores, between 1 and 4.
    public static let defaultWorkers = Int32(max(1, min(4, ProcessInfo.processInfo.activeProcessorCount)))

    public init(next: ByteSink, level: Int32 = 3, workers: Int32 = ZstdSink.defaultWorkers, context: String) throws {
        self.next = next
        self.context = context
        guard let c = ZSTD_createCCtx() else { throw ArchiveError.zstd("cannot create context", context: context) }
        cctx = c
        outBuffer = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level))
        try check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, max(1, workers)))
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
