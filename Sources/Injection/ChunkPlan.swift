/// How the payload is cut into ConfigMap-sized pieces: 768 KiB chunks (room for base64 under etcd's
/// 1 MiB object limit) named `zarf-payload-NNN`, in payload order. Pure arithmetic, no I/O.
public struct ChunkPlan: Sendable, Equatable {
    /// One chunk: its ConfigMap/file name and the payload byte range it holds.
    public struct Chunk: Sendable, Equatable {
        public let index: Int
        public let name: String
        public let offset: Int64
        public let length: Int64
    }

    /// Zarf's chunk size: 786,432 bytes.
    public static let defaultChunkSize: Int64 = 768 * 1024
    /// `zarf-payload-NNN` has three digits.
    public static let maxChunks = 999

    public let payloadSize: Int64
    public let chunkSize: Int64
    public let chunks: [Chunk]

    public init(payloadSize: Int64, chunkSize: Int64 = ChunkPlan.defaultChunkSize) throws(InjectionError) {
        precondition(chunkSize > 0, "chunk size must be positive")
        let count = payloadSize == 0 ? 0 : Int((payloadSize + chunkSize - 1) / chunkSize)
        guard count <= ChunkPlan.maxChunks else {
            throw .payloadTooLarge(bytes: payloadSize, maxChunks: ChunkPlan.maxChunks)
        }
        self.payloadSize = payloadSize
        self.chunkSize = chunkSize
        chunks = (0..<count).map { i in
            let offset = Int64(i) * chunkSize
            return Chunk(index: i, name: ChunkPlan.name(i), offset: offset, length: min(chunkSize, payloadSize - offset))
        }
    }

    /// `zarf-payload-007` for index 7.
    public static func name(_ index: Int) -> String {
        let digits = String(index)
        return "zarf-payload-" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }
}
