import Testing
@testable import Injection

@Suite("Chunk plan")
struct ChunkPlanTests {
    @Test("768 KiB chunks named zarf-payload-NNN cover the payload exactly")
    func covers() throws {
        let size: Int64 = 8_000_123
        let plan = try ChunkPlan(payloadSize: size)
        #expect(plan.chunkSize == 786_432)
        #expect(plan.chunks.count == 11)
        #expect(plan.chunks.first?.name == "zarf-payload-000")
        #expect(plan.chunks.last?.name == "zarf-payload-010")
        #expect(plan.chunks.map(\.length).reduce(0, +) == size)
        #expect(plan.chunks.last?.length == size - 10 * 786_432)
        for (i, c) in plan.chunks.enumerated() { #expect(c.offset == Int64(i) * 786_432) }
    }

    @Test("an exact multiple has no short last chunk; zero bytes has no chunks")
    func edges() throws {
        let exact = try ChunkPlan(payloadSize: 3 * 786_432)
        #expect(exact.chunks.count == 3)
        #expect(exact.chunks.allSatisfy { $0.length == 786_432 })
        #expect(try ChunkPlan(payloadSize: 0).chunks.isEmpty)
        #expect(try ChunkPlan(payloadSize: 1).chunks == [ChunkPlan.Chunk(index: 0, name: "zarf-payload-000", offset: 0, length: 1)])
    }

    @Test("more than 999 chunks is refused with the size")
    func tooLarge() {
        #expect(throws: InjectionError.payloadTooLarge(bytes: 786_432 * 999 + 1, maxChunks: 999)) {
            try ChunkPlan(payloadSize: 786_432 * 999 + 1)
        }
        #expect((try? ChunkPlan(payloadSize: 786_432 * 999))?.chunks.last?.name == "zarf-payload-998")
    }
}
