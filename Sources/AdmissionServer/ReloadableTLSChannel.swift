import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// Like HummingbirdTLS's TLSChannel, but each new connection takes the TLS context current at accept
/// time, so a rotated certificate is served without a restart.
struct ReloadableTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let material: ServerMaterial

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = material.sslContext
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap {
            self.base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await self.base.handle(value: value, logger: logger)
    }
}
