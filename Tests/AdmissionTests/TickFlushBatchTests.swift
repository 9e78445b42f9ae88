import NIOCore
import NIOEmbedded
import Testing
@testable import AdmissionServer

/// The agent's flush batching on NIO's embedded channels: an answer queued with `flushAfterTick` reaches the
/// wire only when its loop runs the tick's tasks, every channel's answers leave then, in order, and `limit`
/// waiting answers are flushed at once. (The server over real TLS, where every request must still be
/// answered, is exercised in ServerTests.) Synchronous tests: the batch belongs to the thread.
struct TickFlushBatchTests {
    /// A handler whose context the test writes through, as `AgentHTTPHandler` does.
    final class Writer: ChannelDuplexHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundIn = ByteBuffer
    }

    static func channels(_ count: Int, on loop: EmbeddedEventLoop) throws -> [(EmbeddedChannel, ChannelHandlerContext)] {
        try (0..<count).map { _ in
            let channel = EmbeddedChannel(handler: Writer(), loop: loop)
            return (channel, try channel.pipeline.syncOperations.context(handlerType: Writer.self))
        }
    }

    static func write(_ text: String, _ context: ChannelHandlerContext) {
        context.write(NIOAny(ByteBuffer(string: text)), promise: nil)
        TickFlushBatch.flushAfterTick(context)
    }

    static func flushed(_ channel: EmbeddedChannel) throws -> [String] {
        var out: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out.append(String(buffer: buffer)) }
        return out
    }

    @Test func answersLeaveWhenTheTickEnds() throws {
        let loop = EmbeddedEventLoop()
        let pairs = try Self.channels(3, on: loop)
        defer { for (channel, _) in pairs { _ = try? channel.finish() } }
        for (i, (_, context)) in pairs.enumerated() {
            Self.write("first \(i)", context)
            Self.write("second \(i)", context)
        }
        for (channel, _) in pairs { #expect(try Self.flushed(channel).isEmpty, "nothing leaves before the tick's tasks run") }
        loop.run()
        for (i, (channel, _)) in pairs.enumerated() {
            #expect(try Self.flushed(channel) == ["first \(i)", "second \(i)"])
        }
        // The next tick's answers are flushed by a task of their own.
        Self.write("third 0", pairs[0].1)
        #expect(try Self.flushed(pairs[0].0).isEmpty)
        loop.run()
        #expect(try Self.flushed(pairs[0].0) == ["third 0"])
    }

    @Test func theLimitFlushesWithoutWaitingForTheTick() throws {
        let loop = EmbeddedEventLoop()
        let pairs = try Self.channels(TickFlushBatch.limit + 1, on: loop)
        defer { for (channel, _) in pairs { _ = try? channel.finish() } }
        for (i, (_, context)) in pairs.enumerated().dropLast() { Self.write("answer \(i)", context) }
        // `limit` answers waited: all are out, and the one after waits for the tick again.
        for (i, (channel, _)) in pairs.enumerated().dropLast() { #expect(try Self.flushed(channel) == ["answer \(i)"]) }
        let (lastChannel, lastContext) = pairs[pairs.count - 1]
        Self.write("late", lastContext)
        #expect(try Self.flushed(lastChannel).isEmpty)
        loop.run()
        #expect(try Self.flushed(lastChannel) == ["late"])
    }

    @Test func aClosedChannelInTheBatchDoesNotStopTheOthers() throws {
        let loop = EmbeddedEventLoop()
        let pairs = try Self.channels(2, on: loop)
        defer { _ = try? pairs[1].0.finish() }
        Self.write("lost", pairs[0].1)
        Self.write("kept", pairs[1].1)
        _ = try pairs[0].0.finish()  // closed before its tick's flush, as by a reset connection
        loop.run()
        #expect(try Self.flushed(pairs[1].0) == ["kept"])
    }
}
